"""Setup shared by the reliability tests (soak, crash safety, hostile input, security): settings and process
environments pointing at a simulator, HR files of leavers, and readers for what a run leaves behind."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl

from box_offboarding.columns import ROW_SCHEMA
from box_offboarding.settings import BoxSettings, Settings
from box_offboarding.simulator import (
    DirectoryUser,
    SimulatorAddress,
    SimulatorConfig,
    generate_directory,
    load_directory,
    run_simulator,
    run_simulator_process,
)

AS_OF = date(2026, 11, 29)
OFFBOARD = str(Path(sys.executable).parent / "offboard")
#: A request budget no test run comes near, for the client and the simulator alike: the tests that want 429s
#: inject them (``rate_limit_fault_rate``) rather than wait out a real window.
UNLIMITED_PER_MINUTE = 1_000_000


@dataclass(frozen=True)
class Served:
    """A running simulator, wherever it runs: its address, and its counters and admin events read live."""

    address: SimulatorAddress
    stats: Callable[[], dict[str, Any]]
    events: Callable[[], list[dict[str, Any]]]
    people: list[DirectoryUser]


@contextmanager
def serve(config: SimulatorConfig, *, own_process: bool = False) -> Iterator[Served]:
    """The simulator in a thread of this process, or in its own process (long runs: no shared interpreter lock)."""
    if config.directory_path is not None:
        people = load_directory(config.directory_path)
    else:
        people = generate_directory(config.users, config.seed, domain=config.domain)
    if own_process:
        with run_simulator_process(config) as process:
            yield Served(process, process.stats, process.events, people)
    else:
        with run_simulator(config) as running:
            yield Served(running, running.simulator.stats, running.simulator.events, people)


def ordinary_people(people: Sequence[DirectoryUser], count: int) -> list[DirectoryUser]:
    """The first ``count`` active users who are not admins: people a run terminates without question."""
    chosen = [user for user in people if user.role == "user" and user.status == "active"][:count]
    assert len(chosen) == count, f"the directory has only {len(chosen)} ordinary active users, {count} wanted"
    return chosen


def write_leavers_csv(path: Path, people: Sequence[DirectoryUser], *, extra_lines: Sequence[str] = ()) -> Path:
    """An HR CSV listing ``people`` as leavers on 2026-11-01, then ``extra_lines`` as written."""
    lines = ["Email,Name,Termination Date", *(f"{user.login},{user.name},2026-11-01" for user in people)]
    path.write_text("\n".join([*lines, *extra_lines]) + "\n", encoding="utf-8")
    return path


def box_settings(sim: SimulatorAddress, **overrides: Any) -> BoxSettings:
    """Box settings reaching ``sim`` with its credentials, retries without back-off pauses, no client-side cap."""
    unhurried = {"backoff_max_seconds": 0, "rate_limit_per_minute": UNLIMITED_PER_MINUTE}
    return sim.box_settings(**{**unhurried, **overrides})


def run_settings(
    sim: SimulatorAddress, folder: Path, *, box: dict[str, Any] | None = None, **overrides: Any
) -> Settings:
    """Run settings for ``sim``: a private ledger and report folder, quick event polls, no blast-radius guard."""
    values: dict[str, Any] = {
        "box": box_settings(sim, **(box or {})),
        "ledger_path": folder / "ledger.sqlite",
        "report_dir": folder / "reports",
        "confirm_timeout_seconds": 30,
        "confirm_poll_seconds": 0.05,
        "event_skew_seconds": 5,
        "allow_large_run": True,
    }
    return Settings(**{**values, **overrides})


def cli_environment(sim: SimulatorAddress, folder: Path, **extra: str) -> dict[str, str]:
    """The environment a user would set for ``offboard run`` against ``sim`` (nothing inherited from BOX_/OFFBOARD_),
    without back-off pauses, client-side rate cap or blast-radius guard."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith(("BOX_", "OFFBOARD_"))}
    return {
        **inherited,
        **sim.environment,
        "BOX_BACKOFF_INITIAL_SECONDS": "0",
        "BOX_BACKOFF_MAX_SECONDS": "0",
        "BOX_RATE_LIMIT_PER_MINUTE": str(UNLIMITED_PER_MINUTE),
        "OFFBOARD_ALLOW_LARGE_RUN": "true",
        "OFFBOARD_LEDGER_PATH": str(folder / "ledger.sqlite"),
        "OFFBOARD_REPORT_DIR": str(folder / "reports"),
        "OFFBOARD_CONFIRM_POLL_SECONDS": "0.05",
        "OFFBOARD_CONFIRM_TIMEOUT_SECONDS": "10",  # also bounds the wait for a lost batch's event after a crash
        **extra,
    }


def report_records(path: Path) -> list[dict[str, Any]]:
    """The report's Users sheet as one dict per row, keyed by the header."""
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = list(book["Users"].iter_rows(values_only=True))
    finally:
        book.close()
    header = [str(cell) for cell in rows[0]]
    padded = [(*row, *[None] * (len(header) - len(row))) for row in rows[1:]]  # read-only mode drops empty tails
    return [dict(zip(header, row, strict=True)) for row in padded]


def formula_cells(path: Path) -> list[str]:
    """Every cell, in every sheet, that a spreadsheet would evaluate as a formula."""
    book = openpyxl.load_workbook(path)
    return [f"{sheet.title}!{cell.coordinate}" for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
            if cell.data_type == "f"]  # fmt: skip


def decided_rows(*records: dict[str, Any]) -> pl.DataFrame:
    """A frame of input rows with every result column (:data:`ROW_SCHEMA`): unspecified columns are null, positions
    follow the order given. For the tests of the rules that decide statuses."""
    filled = [
        {"input_index": index, "file": "leavers.csv", "row": index + 2, **record}
        for index, record in enumerate(records)
    ]
    return pl.DataFrame(filled, schema=ROW_SCHEMA)


def statuses(frame: pl.DataFrame) -> list[tuple[str | None, str | None]]:
    """(status, reason) per row, in frame order."""
    return list(zip(frame.get_column("status").to_list(), frame.get_column("reason").to_list(), strict=True))
