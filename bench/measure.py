"""Time one piece of work in a fresh interpreter and read its peak memory there, so measurements don't pollute each
other (a process's peak resident set only ever grows, and freed memory is not always given back). The peak is
``VmHWM`` from ``/proc/self/status``, reset once the inputs are prepared (Linux).

A target is ``"module:function"``: called with keyword arguments in the child, it prepares (untimed) and returns the
work to time, a callable returning a small JSON-able dict of facts about what it did (rows read, cells written...).

    measure("ingest", "bench.ingest:read_with_ingest", path="/tmp/hr.xlsx")
"""

from __future__ import annotations

import gc
import importlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import markdown_table, median, ratio

_MARK = "MEASUREMENT "

Work = Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class Measurement:
    label: str
    seconds: float  # median wall time of the work
    cpu_seconds: float  # median CPU time of the work (user + system): steadier than wall time on a busy machine
    peak_mb: float  # median peak resident set while the work ran (interpreter, imports and inputs included)
    before_mb: float  # median resident set once the inputs were prepared, just before the work
    runs: int
    facts: dict[str, Any]  # what the work said it did (from the last run)

    @property
    def work_mb(self) -> float:
        """Peak memory the work itself added on top of its prepared inputs."""
        return max(0.0, self.peak_mb - self.before_mb)


def measure(label: str, target: str, *, repeat: int = 1, **kwargs: Any) -> Measurement:
    """Run ``target`` ``repeat`` times, each in its own interpreter; medians of time and memory."""
    runs = [_run_child(target, kwargs) for _ in range(repeat)]
    return Measurement(
        label=label,
        seconds=round(median(run["seconds"] for run in runs), 3),
        cpu_seconds=round(median(run["cpu_seconds"] for run in runs), 3),
        peak_mb=round(median(run["peak_mb"] for run in runs), 1),
        before_mb=round(median(run["before_mb"] for run in runs), 1),
        runs=repeat,
        facts=runs[-1]["facts"],
    )


def _run_child(target: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.measure", target, json.dumps(kwargs)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(_MARK)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{target} failed (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(_MARK))
    return result


def _status_mb(field: str) -> float:
    """A ``/proc/self/status`` memory figure (``VmRSS``, ``VmHWM``: kB) in MiB."""
    found = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"/proc/self/status has no {field} (Linux only)")
    return int(found.group(1)) / 1024


def _reset_peak() -> None:
    """Start the peak (``VmHWM``) again from the current resident set, so preparing the inputs does not count."""
    Path("/proc/self/clear_refs").write_text("5")


def _child(target: str, arguments: str) -> None:
    module_name, function_name = target.split(":")
    prepare = getattr(importlib.import_module(module_name), function_name)
    work: Work = prepare(**json.loads(arguments))
    gc.collect()
    _reset_peak()
    before = _status_mb("VmRSS")
    started, cpu_started = time.perf_counter(), time.process_time()
    facts = work()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak = _status_mb("VmHWM")
    figures = {"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_mb": peak, "before_mb": before, "facts": facts}
    print(_MARK + json.dumps(figures))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])


#: An extra column of a measurement table: its header and how to get the cell from a measurement.
Column = tuple[str, Callable[[Measurement], object]]


def measurement_table(
    measured: Sequence[Measurement], *, what: str, baseline: Measurement, extra: Sequence[Column] = ()
) -> str:
    """Time (wall and CPU), time ÷ the baseline's, peak memory and memory before the work, plus ``extra`` columns."""
    header = [what, "seconds", "÷ " + ("floor" if "floor" in baseline.label else "baseline"), "CPU s", "peak MiB",
              "MiB before", *(name for name, _ in extra)]  # fmt: skip
    rows = [
        [m.label, m.seconds, round(ratio(m.seconds, baseline.seconds), 2), m.cpu_seconds, round(m.peak_mb),
         round(m.before_mb), *(cell(m) for _, cell in extra)]
        for m in measured
    ]  # fmt: skip
    return markdown_table(header, rows)
