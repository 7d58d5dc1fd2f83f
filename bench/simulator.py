"""The simulator's own timing: latency waited side by side, and small answers sent without delay.

The tests check the behaviour (concurrent requests all wait at once; the server's sockets have ``TCP_NODELAY``);
this measures what it buys, against a simulator in its own process (``run_simulator_process``), each loop on a
fresh one:

- ``latency``: ``--requests`` GETs of one user, all at once, against ``--latency-ms`` of latency, beside the same
  requests one after another (the baseline: what a server that waited out each latency in turn would take). Side
  by side, the concurrent batch takes about one latency.
- ``small answers``: ``--calls`` sequential GETs of one user's login, no latency: milliseconds per call, beside the
  ~40 ms a call that Nagle's algorithm and the client's delayed ACK would add were ``TCP_NODELAY`` not set.

    uv run python -m bench simulator            # 50 requests at 300 ms; 2,000 calls
    uv run python -m bench simulator --quick    # 20 requests at 300 ms; 500 calls
    uv run python -m bench simulator --smoke    # 5 requests at 100 ms; 50 calls (CI: does it run)
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import httpx

from bench.common import add_size_options, markdown_table, ratio, save_results, sized, verdict
from box_offboarding.simulator import SimulatorConfig, SimulatorProcess, run_simulator_process

#: What Nagle's algorithm costs a small answer written in two parts (headers, body): the client's delayed ACK.
DELAYED_ACK_MS = 40.0
GENEROUS_BUDGET = 1_000_000  # requests per window: never the bottleneck here


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench simulator", description=__doc__.splitlines()[0])
    add_size_options(parser, quick="20 requests, 500 calls", smoke="5 requests at 100 ms, 50 calls")
    parser.add_argument("--requests", type=int, default=None, help="concurrent requests (default 50)")
    parser.add_argument("--latency-ms", type=float, default=None, help="the simulator's latency (default 300)")
    parser.add_argument("--calls", type=int, default=None, help="sequential small calls (default 2,000)")
    return parser.parse_args(argv)


def _token(sim: SimulatorProcess) -> dict[str, str]:
    token = httpx.post(sim.token_url, data=sim.token_form).raise_for_status().json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def _requests_at_once(sim: SimulatorProcess, count: int, *, concurrent: bool) -> float:
    """Seconds for ``count`` GETs of one user, all at once or one after another (one connection each at once)."""
    limits = httpx.Limits(max_connections=count if concurrent else 1)
    async with httpx.AsyncClient(base_url=sim.api_url, headers=_token(sim), limits=limits) as client:
        started = time.perf_counter()
        if concurrent:
            answers = await asyncio.gather(*(client.get("/users", params={"limit": 1}) for _ in range(count)))
        else:
            answers = [await client.get("/users", params={"limit": 1}) for _ in range(count)]
        seconds = time.perf_counter() - started
    if {answer.status_code for answer in answers} != {200}:
        raise RuntimeError(f"not every request succeeded: {sorted({a.status_code for a in answers})}")
    return seconds


def latency_loops(requests: int, latency_ms: float) -> list[dict[str, Any]]:
    rows = []
    for name, concurrent in (("all at once (product)", True), ("one after another (baseline)", False)):
        with run_simulator_process(SimulatorConfig(users=20, latency_ms=latency_ms, rate_limit=GENEROUS_BUDGET)) as sim:
            seconds = asyncio.run(_requests_at_once(sim, requests, concurrent=concurrent))
        rows.append({"loop": name, "requests": requests, "seconds": round(seconds, 3),
                     "latencies": round(seconds / (latency_ms / 1000), 2)})  # fmt: skip
    return rows


def small_calls(calls: int) -> dict[str, Any]:
    config = SimulatorConfig(users=20, rate_limit=GENEROUS_BUDGET)
    with run_simulator_process(config) as sim, httpx.Client(headers=_token(sim)) as client:
        user_id = client.get(f"{sim.api_url}/users", params={"limit": 1}).raise_for_status().json()["entries"][0]["id"]
        started = time.perf_counter()
        for _ in range(calls):
            client.get(f"{sim.api_url}/users/{user_id}", params={"fields": "login"}).raise_for_status()
        seconds = time.perf_counter() - started
    return {"calls": calls, "seconds": round(seconds, 3), "ms_per_call": round(seconds * 1000 / calls, 2)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    requests = args.requests or sized(args, full=50, quick=20, smoke=5)
    latency_ms = args.latency_ms or sized(args, full=300.0, quick=300.0, smoke=100.0)
    calls = args.calls or sized(args, full=2_000, quick=500, smoke=50)
    loops = latency_loops(requests, latency_ms)
    baseline = loops[-1]["seconds"]
    print(f"{requests} GETs against {latency_ms:g} ms of latency:\n")
    print(markdown_table(["loop", "requests", "seconds", "÷ one latency", "÷ baseline"],
                         [[row["loop"], row["requests"], row["seconds"], row["latencies"],
                           round(ratio(row["seconds"], baseline), 3)] for row in loops]))  # fmt: skip
    small = small_calls(calls)
    print(f"\n{calls:,} sequential small answers (one user's login), no latency:\n")
    print(markdown_table(["loop", "calls", "seconds", "ms per call", "÷ delayed ACK (40 ms)"],
                         [["sequential GETs", small["calls"], small["seconds"], small["ms_per_call"],
                           round(small["ms_per_call"] / DELAYED_ACK_MS, 3)]]))  # fmt: skip
    goals = {
        "concurrent batch within 2 latencies": loops[0]["latencies"] < 2,
        "small answers under half a delayed ACK each": small["ms_per_call"] < DELAYED_ACK_MS / 2,
    }
    print("\n" + "; ".join(f"{goal}: {verdict(met)}" for goal, met in goals.items()))
    return {"arguments": vars(args), "latency": loops, "small_answers": small, "goals": goals}


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    save_results("simulator", run(args), smoke=args.smoke)
    return 0
