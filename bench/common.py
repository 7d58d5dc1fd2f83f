"""What the benchmarks share: client settings pointed at a simulator, medians, markdown tables, the results folder."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from box_offboarding.settings import BoxSettings
from box_offboarding.simulator.server import SimulatorAddress

RESULTS_DIR = Path(__file__).resolve().parent / "results"


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


def save_results(name: str, figures: dict[str, Any]) -> Path:
    """``bench/results/<name>-<local time>.json`` with the figures and when they were taken; returns the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    stamped = {"benchmark": name, "finished_at": datetime.now(UTC).isoformat(), **figures}
    path.write_text(json.dumps(stamped, indent=2, default=str) + "\n")
    print(f"\nfigures: {path}")
    return path


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"
