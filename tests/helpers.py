"""Setup shared by the tests: the settings (:func:`box_settings`, :func:`run_settings`) and process environments
that point the product at a simulator, simulators served for the reliability tests, HR files of leavers, and readers
for what a run leaves behind."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
from pydantic import SecretStr

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
#: More users than any test run terminates: the blast-radius guard's ``max_users`` in :func:`run_settings`.
NO_RUN_IS_THIS_LARGE = 1_000_000


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


def box_settings(
    sim: SimulatorAddress,
    *,
    client_id: str | None = None,
    client_secret: str | SecretStr | None = None,
    developer_token: str | SecretStr | None = None,
    max_attempts: int | None = None,
    max_retry_seconds: float | None = None,
    global_rate_limit_name: str | None = None,
) -> BoxSettings:
    """Box settings reaching ``sim`` with its credentials: retries without back-off pauses (Box's ``retry-after`` is
    still honoured), no client-side rate cap, nothing read from a ``.env`` file. An option left ``None`` keeps the
    product's default (for the credentials: the simulator's)."""
    options = _given(
        client_id=client_id,
        client_secret=client_secret,
        developer_token=developer_token,
        max_attempts=max_attempts,
        max_retry_seconds=max_retry_seconds,
        global_rate_limit_name=global_rate_limit_name,
    )
    return sim.box_settings(
        _env_file=None,
        backoff_initial_seconds=0,
        backoff_max_seconds=0,
        rate_limit_per_minute=UNLIMITED_PER_MINUTE,
        **options,
    )


def run_settings(
    sim: SimulatorAddress,
    folder: Path,
    *,
    box: BoxSettings | None = None,
    protected_logins: Sequence[str] = (),
    dry_run: bool = False,
    batch_size: int | None = None,
    resolve_strategy: str | None = None,
    max_users: int = NO_RUN_IS_THIS_LARGE,
    max_share: float = 1.0,
    allow_large_run: bool = False,
    confirm_timeout_seconds: float = 30,
    smtp_host: str | None = None,
    smtp_port: int | None = None,
    smtp_security: str | None = None,
    smtp_username: str | None = None,
    smtp_password: str | None = None,
    mail_from: str | None = None,
    mail_to: Sequence[str] = (),
) -> Settings:
    """The settings of a whole run against ``sim``, the one factory every test uses: ``box`` (default
    :func:`box_settings`), a ledger and a report folder in ``folder``, quick event polls, nothing read from a
    ``.env`` file. ``protected_logins`` are written to ``folder``/protected.txt. The blast-radius guard is on at limits
    no test run reaches: the tests of the guard set ``max_users`` or ``max_share``. An option left ``None`` keeps the
    product's default."""
    protected_path = None
    if protected_logins:
        protected_path = folder / "protected.txt"
        protected_path.write_text("".join(f"{login}\n" for login in protected_logins), encoding="utf-8")
    options = _given(
        protected_path=protected_path,
        batch_size=batch_size,
        resolve_strategy=resolve_strategy,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        smtp_security=smtp_security,
        smtp_username=smtp_username,
        smtp_password=smtp_password,
        mail_from=mail_from,
    )
    return Settings(
        _env_file=None,
        box=box or box_settings(sim),
        ledger_path=folder / "ledger.sqlite",
        report_dir=folder / "reports",
        dry_run=dry_run,
        max_users=max_users,
        max_share=max_share,
        allow_large_run=allow_large_run,
        confirm_timeout_seconds=confirm_timeout_seconds,
        confirm_poll_seconds=0.05,
        event_skew_seconds=5,
        mail_to=tuple(mail_to),
        **options,
    )


def _given(**options: Any) -> dict[str, Any]:
    """The options that were given (not ``None``): the others keep the product's defaults."""
    return {name: value for name, value in options.items() if value is not None}


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


def decided_rows(*records: dict[str, Any], schema: Mapping[str, pl.DataType] = ROW_SCHEMA) -> pl.DataFrame:
    """A frame of input rows of ``schema`` (by default with every result column): unspecified columns are null,
    positions follow the order given. For the tests of the rules that decide statuses."""
    filled = [
        {"input_index": index, "file": "leavers.csv", "row": index + 2, **record}
        for index, record in enumerate(records)
    ]
    return pl.DataFrame(filled, schema=schema)


def statuses(frame: pl.DataFrame) -> list[tuple[str | None, str | None]]:
    """(status, reason) per row, in frame order."""
    return list(zip(frame.get_column("status").to_list(), frame.get_column("reason").to_list(), strict=True))
