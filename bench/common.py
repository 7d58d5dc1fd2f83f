"""What the benchmarks share: run sizes (full, ``--quick``, ``--smoke``), client settings pointed at a simulator,
medians, markdown tables, the results folder."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import SecretStr

from box_offboarding.settings import BoxSettings
from box_offboarding.simulator.server import SimulatorAddress

RESULTS_DIR = Path(__file__).resolve().parent / "results"

T = TypeVar("T")


def add_size_options(parser: argparse.ArgumentParser, *, quick: str, smoke: str) -> None:
    """``--quick`` (smaller sizes) and ``--smoke`` (tiny sizes: CI's check that the benchmark still runs, its figures
    printed but not saved); one or the other. ``help`` texts say what each size is for this benchmark."""
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help=quick)
    sizes.add_argument("--smoke", action="store_true", help=f"{smoke}; figures printed, not saved (CI)")


def sized(args: argparse.Namespace, *, full: T, quick: T, smoke: T) -> T:
    """The size of this run: ``smoke`` with ``--smoke``, ``quick`` with ``--quick``, else ``full``."""
    if args.smoke:
        return smoke
    return quick if args.quick else full


def box_settings(sim: SimulatorAddress, *, per_minute: float, **overrides: Any) -> BoxSettings:
    """The client pointed at ``sim``, told the simulator's budget as a per-minute figure, with fast back-off."""
    values: dict[str, Any] = {
        "base_url": sim.base_url,
        "upload_url": sim.upload_url,
        "client_id": sim.config.client_id,
        "client_secret": SecretStr(sim.config.client_secret),
        "enterprise_id": sim.config.enterprise_id,
        "rate_limit_per_minute": per_minute,
        "backoff_initial_seconds": 0.05,
        "backoff_max_seconds": 2.0,
    }
    return BoxSettings(_env_file=None, **{**values, **overrides})


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def ratio(value: float, baseline: float) -> float:
    """``value / baseline``, or infinity when the baseline is zero (never a ZeroDivisionError in a table)."""
    return value / baseline if baseline else float("inf")


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table; the first column is left-aligned, the others right-aligned (they are figures)."""
    align = ["---", *["---:"] * (len(header) - 1)]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if abs(value) < 10:
            return f"{value:,.3g}"
        return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def save_results(name: str, figures: dict[str, Any], *, smoke: bool = False) -> Path | None:
    """``bench/results/<name>-<local time>.json`` with the figures and when they were taken; returns the path.

    A smoke run's figures are made into JSON all the same (so a figure JSON cannot hold fails the smoke run) but not
    written: tiny sizes measure nothing worth keeping."""
    stamped = {"benchmark": name, "finished_at": datetime.now(UTC).isoformat(), **figures}
    text = json.dumps(stamped, indent=2, default=str) + "\n"
    if smoke:
        print("\nsmoke run: figures not saved")
        return None
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(text)
    print(f"\nfigures: {path}")
    return path


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"
