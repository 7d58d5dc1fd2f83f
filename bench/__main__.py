"""Run a benchmark by name: ``uv run python -m bench NAME [--quick | --smoke]``; ``all`` runs every one in turn.

``all --smoke`` is CI's check that no benchmark has rotted: every benchmark at tiny sizes (a few seconds each), its
figures printed, not judged or saved; any benchmark that raises or exits non-zero fails the run, after the others
have had their turn."""

from __future__ import annotations

import importlib
import sys
import time
import traceback

#: benchmark name -> module with a ``main(argv) -> int``, in the order ``all`` runs them
BENCHMARKS = {
    "client": "bench.client_rate",
    "termination": "bench.termination",
    "api_calls": "bench.api_calls",
    "ingest": "bench.ingest",
    "report": "bench.report",
    "reconcile": "bench.reconcile",
    "simulator": "bench.simulator",
}

SIZES = {"--quick", "--smoke"}


def run_all(argv: list[str]) -> int:
    """Every benchmark with its defaults, or ``--quick`` or ``--smoke`` sizes; the exit code is the worst of theirs,
    1 for one that raised (its traceback printed, the others still run)."""
    if len(argv) > 1 or any(arg not in SIZES for arg in argv):
        print("usage: python -m bench all [--quick | --smoke]")
        return 2
    started = time.perf_counter()
    worst = 0
    failed: list[str] = []
    for name in BENCHMARKS:
        print(f"\n## {name}\n", flush=True)
        began = time.perf_counter()
        try:
            code = run_one(name, argv)
        except Exception:  # a broken benchmark must not hide the others: report it, fail at the end
            traceback.print_exc()
            code = 1
        if code:
            failed.append(f"{name} (exit {code})")
        worst = max(worst, code)
        print(f"\n({name}: {time.perf_counter() - began:.1f} s)", flush=True)
    print(f"\nall benchmarks: {time.perf_counter() - started:.0f} s")
    if failed:
        print("FAILED: " + ", ".join(failed), file=sys.stderr)
    return worst


def run_one(name: str, argv: list[str]) -> int:
    module = importlib.import_module(BENCHMARKS[name])
    result: int = module.main(argv)
    return result


def main(argv: list[str]) -> int:
    names = [*BENCHMARKS, "all"]
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in names:
        print("usage: python -m bench NAME [options]   (NAME --help for a benchmark's options)")
        print("benchmarks: " + ", ".join(names) + "   (all [--quick | --smoke]: every benchmark in turn)")
        return 0 if argv and argv[0] in {"-h", "--help"} else 2
    if argv[0] == "all":
        return run_all(argv[1:])
    return run_one(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
