"""How much of Box's request budget the client really uses, and whether it trips the limit doing so.

Against the simulator with a fixed budget (default 600 requests per sliding 10 s window) and 100 ms latency (+ jitter),
many tasks call ``terminate_sessions`` through one :class:`BoxClient` for ``--duration`` seconds; then a naive
sequential loop (one call after another, same client settings) runs against a fresh simulator for comparison.
Prints a markdown table and writes the figures as JSON under ``bench/results/``.

    uv run python -m bench client            # 30 s per loop
    uv run python -m bench client --quick    # 8 s per loop
    uv run python -m bench client --smoke    # 1 s per loop, 50 users (CI: does it run)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from dataclasses import asdict, dataclass
from typing import Any

from bench.common import add_size_options, box_settings, save_results, sized
from box_offboarding.box import BoxClient
from box_offboarding.settings import BoxSettings
from box_offboarding.simulator import RunningSimulator, SimulatorConfig, run_simulator

ROUTE = "POST /users/terminate_sessions"


@dataclass(frozen=True)
class LoopFigures:
    """One timed loop: requests Box received, over how long, and how many it refused with 429."""

    loop: str
    requests: int
    seconds: float
    rate_per_second: float
    share_of_budget: float
    rate_limited: int  # 429 answers, as counted by the simulator
    retries: int


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench client", description=__doc__.splitlines()[0])
    add_size_options(parser, quick="8 s loops instead of 30 s", smoke="1 s loops, 50 users")
    parser.add_argument("--duration", type=float, default=None, help="seconds per loop (default 30, quick 8)")
    parser.add_argument("--budget", type=int, default=600, help="requests per window the simulator allows")
    parser.add_argument("--window", type=float, default=10.0, help="the simulator's sliding window, seconds")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--jitter-ms", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=48, help="concurrent tasks calling terminate_sessions")
    parser.add_argument("--max-in-flight", type=int, default=16)
    parser.add_argument("--headroom", type=float, default=None, help="client headroom (default: BoxSettings')")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the concurrent loop; the median is reported")
    parser.add_argument("--users", type=int, default=None, help="users in the directory (default 1000)")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive sequential loop")
    return parser.parse_args(argv)


def simulator_config(args: argparse.Namespace) -> SimulatorConfig:
    return SimulatorConfig(
        users=args.users or sized(args, full=1000, quick=1000, smoke=50),
        rate_limit=args.budget,
        rate_window_seconds=args.window,
        latency_ms=args.latency_ms,
        latency_jitter_ms=args.jitter_ms,
        event_delay_seconds=0,
    )


def client_settings(sim: RunningSimulator, args: argparse.Namespace) -> BoxSettings:
    """The client told the truth about the budget: the simulator's window figure scaled to a minute."""
    extra: dict[str, Any] = {} if args.headroom is None else {"rate_limit_headroom": args.headroom}
    return box_settings(sim, per_minute=args.budget * 60.0 / args.window, max_in_flight=args.max_in_flight, **extra)


async def _timed_loop(box: BoxClient, user_ids: list[str], *, duration: float, workers: int) -> tuple[int, float]:
    """``workers`` tasks calling terminate_sessions until ``duration`` has passed: (requests sent, seconds)."""
    before = box.calls.get(ROUTE, 0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + duration

    async def worker(offset: int) -> None:
        index = offset
        while loop.time() < deadline:
            await box.terminate_sessions(user_ids=[user_ids[index % len(user_ids)]])
            index += workers

    await asyncio.gather(*(worker(offset) for offset in range(workers)))
    return box.calls.get(ROUTE, 0) - before, loop.time() - started


def _rate_limited(sim: RunningSimulator) -> int:
    """429 answers the simulator gave to terminate_sessions."""
    return sim.simulator.request_count("POST /2.0/users/terminate_sessions", 429)


async def _run_loop(args: argparse.Namespace, *, name: str, workers: int, duration: float) -> LoopFigures:
    with run_simulator(simulator_config(args)) as sim:
        async with BoxClient(client_settings(sim, args)) as box:
            user_ids = [user.id async for user in box.iter_users(page_size=1000)]
            requests, seconds = await _timed_loop(box, user_ids, duration=duration, workers=workers)
            retries = box.retries
        rate = requests / seconds
        return LoopFigures(
            loop=name,
            requests=requests,
            seconds=round(seconds, 2),
            rate_per_second=round(rate, 2),
            share_of_budget=round(rate / (args.budget / args.window), 4),
            rate_limited=_rate_limited(sim),
            retries=retries,
        )


def _median(runs: list[LoopFigures]) -> LoopFigures:
    middle = sorted(runs, key=lambda run: run.share_of_budget)[len(runs) // 2]
    return LoopFigures(
        loop=f"{middle.loop} (median of {len(runs)})" if len(runs) > 1 else middle.loop,
        requests=int(statistics.median(run.requests for run in runs)),
        seconds=round(statistics.median(run.seconds for run in runs), 2),
        rate_per_second=round(statistics.median(run.rate_per_second for run in runs), 2),
        share_of_budget=round(statistics.median(run.share_of_budget for run in runs), 4),
        rate_limited=int(statistics.median(run.rate_limited for run in runs)),
        retries=int(statistics.median(run.retries for run in runs)),
    )


def markdown_table(rows: list[LoopFigures], args: argparse.Namespace) -> str:
    lines = [
        f"Budget {args.budget} requests per {args.window:g} s sliding window "
        f"({args.budget / args.window:g}/s); latency {args.latency_ms:g} ms ± {args.jitter_ms:g} ms.",
        "",
        "| loop | requests | seconds | requests/s | share of budget | 429s | retries |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {row.loop} | {row.requests} | {row.seconds:.1f} | {row.rate_per_second:.1f} | "
        f"{row.share_of_budget:.3f} | {row.rate_limited} | {row.retries} |"
        for row in rows
    ]
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    duration = args.duration if args.duration is not None else sized(args, full=30.0, quick=8.0, smoke=1.0)
    concurrent = [
        await _run_loop(args, name="client, concurrent", workers=args.workers, duration=duration)
        for _ in range(args.repeat)
    ]
    rows = [_median(concurrent)]
    naive = None
    if not args.no_naive:
        naive = await _run_loop(args, name="naive sequential loop", workers=1, duration=duration)
        rows.append(naive)
    print(markdown_table(rows, args))
    return {
        "duration_seconds": duration,
        "arguments": vars(args),
        "concurrent_runs": [asdict(run) for run in concurrent],
        "concurrent_median": asdict(rows[0]),
        "naive": asdict(naive) if naive else None,
    }


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    save_results("client_rate", asyncio.run(run(args)), smoke=args.smoke)
    return 0
