"""Termination throughput: 50,000 users through the product's termination stage under a fixed rate budget, beside
Box's official Python SDK used the way an admin script would.

Each loop gets a fresh simulator in its own process (``run_simulator_process``: the client and the server do not
share an interpreter lock) with ``--users`` generated users, a budget of ``--budget`` requests per sliding
window (``--budgets``, each ``REQUESTS/SECONDS``) and 100 ms ± 20 ms latency. Two budgets by default:

- ``300/30`` (600/min), scaled so 50,000 users (500 requests) take just under a minute: the run outlasts the window
  and needs more than one window's budget, so a client that overran the budget would be refused (429).
- ``500/30``: Box's own ~1000/min, counted over 30 s windows (stricter than Box's minute). Here a sequential
  per-user script is held back by latency rather than by the budget, as it would be against Box.

The loops:

- ``product``: the pipeline's :func:`~box_offboarding.pipeline.terminate_stage`, i.e. :func:`terminate_users` with
  the :class:`BoxClient` (told the budget as its per-minute figure), ``batch_size`` 100, ``batch_concurrency`` as
  the setting's default, and the SQLite ledger recording every intent and answer, as in a real run. Timed from the
  stage's start to its end (token request included).
- ``box-sdk-gen, one call per user``: ``session_termination.terminate_users_sessions(user_ids=[id])`` in a loop,
  sequential, as an admin script would. Run for ``--sdk-seconds`` only: its users/minute is extrapolated to the
  whole population (the table says so).
- ``box-sdk-gen, batches of 100``: the same SDK call with 100 ids per call, sequential, also time-bounded.

    uv run python -m bench termination             # 50,000 users, both budgets; SDK loops 20 s each
    uv run python -m bench termination --quick     # 20,000 users, 300/30 only; SDK loops 8 s each
    uv run python -m bench termination --smoke     # 500 users, 300/30 only; SDK loops 1 s each (CI: does it run)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from bench.common import add_size_options, box_settings, markdown_table, median, ratio, save_results, sized, verdict
from box_offboarding.box import BoxClient
from box_offboarding.ledger import Ledger
from box_offboarding.pipeline import start_run, terminate_stage
from box_offboarding.plan import Plan
from box_offboarding.settings import Settings
from box_offboarding.simulator import SimulatorConfig, SimulatorProcess, generate_directory, run_simulator_process

TERMINATE = "POST /2.0/users/terminate_sessions"


@dataclass(frozen=True)
class LoopFigures:
    """One loop: users whose sessions Box accepted to end, requests it received, how long, what it refused."""

    loop: str
    users: int
    requests: int
    seconds: float
    rate_limited: int  # 429 answers, counted by the simulator
    budget_per_minute: float
    extrapolated: bool  # a time-bounded loop: users/minute is projected onto the whole population

    @property
    def requests_per_minute(self) -> float:
        return self.requests / self.seconds * 60

    @property
    def share_of_budget(self) -> float:
        return self.requests_per_minute / self.budget_per_minute

    @property
    def floor_seconds(self) -> float:
        """The least time these requests can take within the budget."""
        return self.requests / self.budget_per_minute * 60

    @property
    def users_per_minute(self) -> float:
        return self.users / self.seconds * 60

    def minutes_for(self, population: int) -> float:
        return population / self.users_per_minute


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench termination", description=__doc__.splitlines()[0])
    add_size_options(parser, quick="20,000 users, 8 s SDK loops", smoke="500 users, 1 s SDK loops")
    parser.add_argument("--users", type=int, default=None, help="users to terminate (default 50,000)")
    parser.add_argument(
        "--budgets",
        nargs="+",
        type=Budget.parse,
        default=None,
        metavar="REQUESTS/SECONDS",
        help="simulator budgets to run under (default 300/30 500/30; quick 300/30)",
    )
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--jitter-ms", type=float, default=20.0)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=None, help="batches in flight (default: the setting's)")
    parser.add_argument("--repeat", type=int, default=1, help="product runs; medians reported")
    parser.add_argument("--sdk-seconds", type=float, default=None, help="time bound of each SDK loop (20, quick 8)")
    parser.add_argument("--no-sdk", action="store_true", help="skip the box-sdk-gen baselines")
    return parser.parse_args(argv)


@dataclass(frozen=True)
class Budget:
    """``requests`` per sliding window of ``seconds``, as the simulator enforces it."""

    requests: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Budget:
        requests, _, seconds = text.partition("/")
        return cls(int(requests), float(seconds or 60))

    @property
    def per_minute(self) -> float:
        return self.requests * 60.0 / self.seconds

    def __str__(self) -> str:
        return f"{self.requests} requests per {self.seconds:g} s sliding window ({self.per_minute:g}/min)"


def simulator_config(args: argparse.Namespace, budget: Budget, users: int) -> SimulatorConfig:
    return SimulatorConfig(
        users=users,
        rate_limit=budget.requests,
        rate_window_seconds=budget.seconds,
        latency_ms=args.latency_ms,
        latency_jitter_ms=args.jitter_ms,
        event_delay_seconds=0,
    )


def _terminations(sim: SimulatorProcess) -> tuple[int, int, int]:
    """(requests to terminate_sessions, users in accepted jobs, 429 answers) as the simulator counted them."""
    stats = sim.stats()
    requests = sum(stats["endpoints"].get(TERMINATE, {}).values())
    return requests, int(stats["distinct_users_terminated"]), int(stats["rate_limited"])


# --- the product ----------------------------------------------------------------------------------------------


async def _product_stage(sim: SimulatorProcess, targets: pl.DataFrame, args: argparse.Namespace, folder: Path) -> float:
    """Run the termination stage over ``targets``; its wall time in seconds."""
    settings = Settings(
        _env_file=None,
        box=box_settings(sim, per_minute=sim.config.rate_limit * 60.0 / sim.config.rate_window_seconds),
        ledger_path=folder / "ledger.sqlite",
        report_dir=folder / "reports",
        batch_size=args.batch_size,
        **({} if args.concurrency is None else {"batch_concurrency": args.concurrency}),
    )
    with Ledger(settings.ledger_path) as ledger:
        context = start_run(ledger, [], settings=settings, as_of=date.today())
        plan = Plan(rows=pl.DataFrame(), targets=targets, blast_radius=None)
        async with BoxClient(settings.box) as client:
            started = time.perf_counter()
            run = await terminate_stage(plan, context, client=client, ledger=ledger)
            seconds = time.perf_counter() - started
    failed = run.outcomes.filter(pl.col("status") != "pending").height
    if failed or run.stopped_by is not None:
        raise RuntimeError(f"{failed} users were not accepted ({run.stopped_by or 'see the outcomes'})")
    return seconds


def product_loop(args: argparse.Namespace, budget: Budget, targets: pl.DataFrame) -> LoopFigures:
    config = simulator_config(args, budget, targets.height)
    with run_simulator_process(config) as sim, tempfile.TemporaryDirectory() as folder:
        seconds = asyncio.run(_product_stage(sim, targets, args, Path(folder)))
        requests, terminated, rate_limited = _terminations(sim)
    return LoopFigures(f"product: terminate_stage, batches of {args.batch_size}", terminated, requests,
                       round(seconds, 2), rate_limited, budget.per_minute, extrapolated=False)  # fmt: skip


# --- the official SDK, as an admin script would use it -------------------------------------------------------


def _sdk_client(sim: SimulatorProcess) -> Any:
    from box_sdk_gen import BaseUrls, BoxCCGAuth, BoxClient, CCGConfig

    config = sim.config
    auth = BoxCCGAuth(
        config=CCGConfig(
            client_id=config.client_id, client_secret=config.client_secret, enterprise_id=config.enterprise_id
        )
    )
    base_urls = BaseUrls(base_url=sim.base_url, upload_url=sim.upload_url, oauth_2_url=sim.base_url)
    return BoxClient(auth=auth).with_custom_base_urls(base_urls)


def sdk_loop(
    args: argparse.Namespace, budget: Budget, user_ids: list[str], *, batch: int, seconds: float
) -> LoopFigures:
    """Sequential SDK calls of ``batch`` ids each until ``seconds`` have passed (or everyone was sent)."""
    with run_simulator_process(simulator_config(args, budget, len(user_ids))) as sim:
        client = _sdk_client(sim)
        started = time.perf_counter()
        for start in range(0, len(user_ids), batch):
            if time.perf_counter() - started >= seconds:
                break
            client.session_termination.terminate_users_sessions(
                user_ids=user_ids[start : start + batch], user_logins=[]
            )
        elapsed = time.perf_counter() - started
        requests, terminated, rate_limited = _terminations(sim)
    name = "box-sdk-gen, one call per user" if batch == 1 else f"box-sdk-gen, batches of {batch}, sequential"
    return LoopFigures(name, terminated, requests, round(elapsed, 2), rate_limited, budget.per_minute,
                       extrapolated=terminated < len(user_ids))  # fmt: skip


# --- the run ------------------------------------------------------------------------------------------------------


def _median_loop(runs: list[LoopFigures]) -> LoopFigures:
    middle = sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]
    if len(runs) == 1:
        return middle
    return LoopFigures(
        f"{middle.loop} (median of {len(runs)})",
        middle.users,
        int(statistics.median(run.requests for run in runs)),
        round(median(run.seconds for run in runs), 2),
        int(statistics.median(run.rate_limited for run in runs)),
        middle.budget_per_minute,
        extrapolated=False,
    )


def table(rows: list[LoopFigures], *, population: int, per_user: LoopFigures | None) -> str:
    header = ["loop", "users", "requests", "seconds", "requests/min", "÷ budget", "429s", "wall ÷ floor",
              "users/min", "÷ per-user script", f"minutes for {population:,}"]  # fmt: skip
    body = [
        [
            row.loop,
            row.users,
            row.requests,
            row.seconds,
            round(row.requests_per_minute),
            round(row.share_of_budget, 3),
            row.rate_limited,
            round(ratio(row.seconds, row.floor_seconds), 2),
            round(row.users_per_minute),
            "-" if per_user is None else round(ratio(row.users_per_minute, per_user.users_per_minute), 1),
            f"{row.minutes_for(population):.1f}" + (" (extrapolated)" if row.extrapolated else ""),
        ]
        for row in rows
    ]
    return markdown_table(header, body)


def run_budget(
    args: argparse.Namespace, budget: Budget, targets: pl.DataFrame, *, sdk_seconds: float
) -> dict[str, Any]:
    """The product's loop (``--repeat`` times) and the SDK baselines under one budget: a table printed, figures."""
    product_runs = [product_loop(args, budget, targets) for _ in range(args.repeat)]
    rows = [_median_loop(product_runs)]
    per_user = None
    if not args.no_sdk:
        user_ids = targets.get_column("box_user_id").to_list()
        per_user = sdk_loop(args, budget, user_ids, batch=1, seconds=sdk_seconds)
        rows += [per_user, sdk_loop(args, budget, user_ids, batch=args.batch_size, seconds=sdk_seconds)]
    print(f"\nBudget {budget}; {targets.height:,} users; latency {args.latency_ms:g} ms ± {args.jitter_ms:g} ms; "
          f"SDK loops bounded to {sdk_seconds:g} s.\n")  # fmt: skip
    print(table(rows, population=targets.height, per_user=per_user))
    product = rows[0]
    goals = {
        "share of budget >= 0.95": product.share_of_budget >= 0.95,
        "zero 429s": product.rate_limited == 0,
        ">= 100x the per-user script in users/min": per_user is not None
        and ratio(product.users_per_minute, per_user.users_per_minute) >= 100,
    }
    print("\n" + "; ".join(f"{goal}: {verdict(met)}" for goal, met in goals.items()))
    return {
        "budget": asdict(budget),
        "product_runs": [_figures(run) for run in product_runs],
        "loops": [_figures(row) for row in rows],
        "goals": goals,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    users = args.users or sized(args, full=50_000, quick=20_000, smoke=500)
    budgets = args.budgets or sized(args, full=[Budget(300, 30), Budget(500, 30)], quick=[Budget(300, 30)],
                                    smoke=[Budget(300, 30)])  # fmt: skip
    sdk_seconds = args.sdk_seconds or sized(args, full=20.0, quick=8.0, smoke=1.0)
    directory = generate_directory(users, SimulatorConfig().seed, domain=SimulatorConfig().domain)
    targets = pl.DataFrame(
        {"box_user_id": [user.id for user in directory], "login": [user.login for user in directory]}
    )
    runs = [run_budget(args, budget, targets, sdk_seconds=sdk_seconds) for budget in budgets]
    return {"users": users, "arguments": {**vars(args), "budgets": [str(b) for b in budgets]}, "budgets": runs}


def _figures(row: LoopFigures) -> dict[str, Any]:
    return {**asdict(row), "requests_per_minute": row.requests_per_minute, "share_of_budget": row.share_of_budget,
            "floor_seconds": row.floor_seconds, "users_per_minute": row.users_per_minute}  # fmt: skip


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    save_results("termination", run(args), smoke=args.smoke)
    return 0
