"""Run a benchmark by name: ``uv run python -m bench client [--quick]``."""

from __future__ import annotations

import importlib
import sys

#: benchmark name -> module with a ``main(argv) -> int``
BENCHMARKS = {
    "client": "bench.client_rate",
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in BENCHMARKS:
        print("usage: python -m bench NAME [options]   (NAME --help for a benchmark's options)")
        print("benchmarks: " + ", ".join(sorted(BENCHMARKS)))
        return 0 if argv and argv[0] in {"-h", "--help"} else 2
    module = importlib.import_module(BENCHMARKS[argv[0]])
    result: int = module.main(argv[1:])
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
