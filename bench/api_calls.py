"""Box API calls per offboarded user: the whole pipeline for N leavers among M directory users, counted by the
simulator, beside the naive count (one lookup and one termination per user: 2N).

For each (N, M), a fresh simulator process with M generated users, no latency, termination events visible at once
and a budget generous enough not to matter; an HR CSV of N active, non-admin users of that directory; then
:func:`~box_offboarding.pipeline.run_offboarding` as the CLI runs it (``allow_large_run``, short confirmation
timeout), so the resolution strategy (lookup or directory scan, whichever costs fewer calls), batching (100 per
call) and reconciliation (admin events, 500 per page) all count. Every request the simulator received is counted:
token, users (size probe, lookups or scan pages), terminate_sessions, events (every page, the final empty one
included). N > M cannot be offboarded and is skipped (the table says so).

    uv run python -m bench api_calls            # N in 10, 1,000, 50,000; M in 5,000, 200,000
    uv run python -m bench api_calls --quick    # N in 10, 1,000; M in 5,000, 200,000
    uv run python -m bench api_calls --smoke    # N in 1, 100; M in 50, 2,000: lookup, scan, skip (CI: does it run)
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.common import add_size_options, box_settings, markdown_table, ratio, save_results, sized
from box_offboarding.pipeline import run_offboarding
from box_offboarding.resolve import choose_strategy
from box_offboarding.settings import Settings
from box_offboarding.simulator import SimulatorConfig, SimulatorProcess, generate_directory, run_simulator_process

GENEROUS_BUDGET = 1_000_000  # requests per minute: never the bottleneck here
ENDPOINTS = {
    "token": "POST /oauth2/token",
    "users": "GET /2.0/users",
    "terminate": "POST /2.0/users/terminate_sessions",
    "events": "GET /2.0/events",
}


@dataclass(frozen=True)
class CallCount:
    leavers: int  # N
    directory: int  # M
    strategy: str  # what the product's rule picks for N logins among M users
    calls: dict[str, int]  # per ENDPOINTS key, every status
    other_calls: int  # anything else the simulator received (none expected)
    confirmed: int
    seconds: float

    @property
    def total(self) -> int:
        return sum(self.calls.values()) + self.other_calls

    @property
    def naive(self) -> int:
        return 2 * self.leavers


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench api_calls", description=__doc__.splitlines()[0])
    add_size_options(parser, quick="N in 10 and 1,000 only", smoke="N in 1 and 100, M in 50 and 2,000")
    parser.add_argument("--leavers", type=int, nargs="+", default=None, help="values of N (default 10 1000 50000)")
    parser.add_argument("--directory", type=int, nargs="+", default=None, help="values of M (default 5000 200000)")
    return parser.parse_args(argv)


def write_hr_csv(path: Path, logins: list[str], *, as_of: date) -> Path:
    """A plain HR export: one row per leaver, all of them gone by ``as_of``."""
    lines = ["Employee ID,Name,Work Email,Termination Date"]
    lines += [
        f"E{index:07d},Leaver {index},{login},{as_of - timedelta(days=1 + index % 20):%Y-%m-%d}"
        for index, login in enumerate(logins)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def leaver_logins(config: SimulatorConfig, count: int) -> list[str]:
    """``count`` logins of active, non-admin users of the simulator's generated directory, chosen by its seed."""
    directory = generate_directory(config.users, config.seed, domain=config.domain)
    eligible = [user.login for user in directory if user.status == "active" and user.role == "user"]
    return random.Random(config.seed).sample(eligible, count)


def pipeline_settings(sim: SimulatorProcess, folder: Path) -> Settings:
    return Settings(
        _env_file=None,
        box=box_settings(sim, per_minute=GENEROUS_BUDGET),
        ledger_path=folder / "ledger.sqlite",
        report_dir=folder / "reports",
        allow_large_run=True,
        confirm_timeout_seconds=10,
        confirm_poll_seconds=0.2,
        event_skew_seconds=5,
    )


def count_calls(leavers: int, directory: int) -> CallCount:
    """One whole run for ``leavers`` among ``directory`` users; the requests the simulator received."""
    config = SimulatorConfig(users=directory, rate_limit=GENEROUS_BUDGET, event_delay_seconds=0)
    as_of = date.today()
    with run_simulator_process(config) as sim, tempfile.TemporaryDirectory() as folder:
        hr_file = write_hr_csv(Path(folder) / "leavers.csv", leaver_logins(config, leavers), as_of=as_of)
        started = time.perf_counter()
        outcome = asyncio.run(run_offboarding([hr_file], settings=pipeline_settings(sim, Path(folder)), as_of=as_of))
        seconds = time.perf_counter() - started
        received = {endpoint: sum(statuses.values()) for endpoint, statuses in sim.stats()["endpoints"].items()}
    calls = {name: received.pop(endpoint, 0) for name, endpoint in ENDPOINTS.items()}
    return CallCount(
        leavers=leavers,
        directory=directory,
        strategy=choose_strategy(logins=leavers, directory_size=directory),
        calls=calls,
        other_calls=sum(received.values()),
        confirmed=outcome.counts.get("confirmed", 0),
        seconds=round(seconds, 1),
    )


def table(counts: list[CallCount], skipped: list[tuple[int, int]]) -> str:
    header = ["N of M", "strategy", *ENDPOINTS, "total", "per user", "naive 2N", "÷ naive", "confirmed", "seconds"]
    rows: list[list[object]] = [
        [f"{c.leavers:,} of {c.directory:,}", c.strategy, *c.calls.values(), c.total, round(c.total / c.leavers, 3),
         c.naive, round(ratio(c.total, c.naive), 4), c.confirmed, c.seconds]
        for c in counts
    ]  # fmt: skip
    rows += [[f"{n:,} of {m:,}", "skipped: N > M", *["-"] * (len(header) - 2)] for n, m in skipped]
    return markdown_table(header, rows)


def run(args: argparse.Namespace) -> dict[str, Any]:
    leavers = args.leavers or sized(args, full=[10, 1_000, 50_000], quick=[10, 1_000], smoke=[1, 100])
    directories = args.directory or sized(args, full=[5_000, 200_000], quick=[5_000, 200_000], smoke=[50, 2_000])
    pairs = [(n, m) for m in directories for n in leavers]
    counts = [count_calls(n, m) for n, m in pairs if n <= m]
    skipped = [(n, m) for n, m in pairs if n > m]
    print("API calls the simulator received for one whole run (token, users, terminate_sessions, events):\n")
    print(table(counts, skipped))
    unconfirmed = [c for c in counts if c.confirmed != c.leavers]
    if unconfirmed:
        print("\nNot every leaver was confirmed in: " + ", ".join(f"{c.leavers} of {c.directory}" for c in unconfirmed))
    return {
        "counts": [{**asdict(c), "total": c.total, "naive": c.naive} for c in counts],
        "skipped": [{"leavers": n, "directory": m, "why": "more leavers than users"} for n, m in skipped],
    }


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    save_results("api_calls", run(args), smoke=args.smoke)
    return 0
