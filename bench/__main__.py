"""Run a benchmark by name: ``uv run python -m bench NAME [--quick]``; ``all`` runs every one in turn."""

from __future__ import annotations

import importlib
import sys
import time

#: benchmark name -> module with a ``main(argv) -> int``, in the order ``all`` runs them
BENCHMARKS = {
    "client": "bench.client_rate",
    "termination": "bench.termination",
    "api_calls": "bench.api_calls",
    "ingest": "bench.ingest",
    "report": "bench.report",
    "reconcile": "bench.reconcile",
}


def run_all(argv: list[str]) -> int:
    """Every benchmark with its defaults, or ``--quick`` ones; the exit code is the worst of theirs."""
    if any(arg not in {"--quick"} for arg in argv):
        print("usage: python -m bench all [--quick]")
        return 2
    started = time.perf_counter()
    worst = 0
    for name in BENCHMARKS:
        print(f"\n## {name}\n", flush=True)
        began = time.perf_counter()
        worst = max(worst, run_one(name, argv))
        print(f"\n({name}: {time.perf_counter() - began:.0f} s)", flush=True)
    print(f"\nall benchmarks: {time.perf_counter() - started:.0f} s")
    return worst


def run_one(name: str, argv: list[str]) -> int:
    module = importlib.import_module(BENCHMARKS[name])
    result: int = module.main(argv)
    return result


def main(argv: list[str]) -> int:
    names = [*BENCHMARKS, "all"]
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in names:
        print("usage: python -m bench NAME [options]   (NAME --help for a benchmark's options)")
        print("benchmarks: " + ", ".join(names) + "   (all [--quick]: every benchmark in turn)")
        return 0 if argv and argv[0] in {"-h", "--help"} else 2
    if argv[0] == "all":
        return run_all(argv[1:])
    return run_one(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
