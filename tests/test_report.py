"""The Excel report: real .xlsx files written to tmp_path and read back with openpyxl."""

from __future__ import annotations

import errno
import os
import stat
import time
import zipfile
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import fastexcel
import polars as pl
import pytest
from openpyxl import load_workbook

from box_offboarding.columns import FILE_ERROR_SCHEMA, INPUT_SCHEMA, REPORT_COLUMNS, RESULT_SCHEMA
from box_offboarding.ingest import INPUTS_SCHEMA
from box_offboarding.report import (
    ATTENTION_ACTIONS,
    ATTENTION_COLUMNS,
    DATE_FORMAT,
    DATETIME_FORMAT,
    RELOGIN,
    RELOGIN_ACTION,
    SHEETS,
    STATUS_FILLS,
    UNKNOWN,
    UNREAD,
    UNREAD_ACTION,
    RunSummary,
    attention_frame,
    remove_stale_temp_files,
    report_path,
    status_counts,
    write_report,
)
from box_offboarding.statuses import ATTENTION_STATUSES, Status

SCHEMA = {name: {**INPUT_SCHEMA, **RESULT_SCHEMA}[name] for name in REPORT_COLUMNS}
TEXT_COLUMNS = [name for name, dtype in SCHEMA.items() if dtype == pl.String]
REQUESTED = datetime(2026, 3, 2, 1, 30, 15, tzinfo=UTC)
INJECTIONS = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "=1+1", "\t=cmd", "\r=cmd", "#N/A"]


def user_row(**overrides: object) -> dict[str, object]:
    """One Users row with every report column filled, overridden where asked."""
    row: dict[str, object] = {
        "file": "leavers.xlsx",
        "sheet": "March",
        "row": 2,
        "login": "ada@example.com",
        "login_as_written": " Ada@Example.com ",
        "name": "Ada Lovelace",
        "employee_id": "E0001",
        "termination_date": date(2026, 2, 28),
        "termination_date_as_written": "28/02/2026",
        "box_user_id": "1001",
        "status": Status.CONFIRMED.value,
        "reason": "sessions terminated",
        "input_note": "login taken from 'Ada Lovelace <ada@example.com>'",
        "request_id": "req-1",
        "requested_at": REQUESTED,
        "confirmed_at": REQUESTED + timedelta(minutes=2),
        "event_id": "ev-1",
        "relogin_after_termination": None,
    }
    return row | overrides


def users_frame(*rows: Mapping[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=SCHEMA)


def errors_frame(*rows: tuple[str, str | None, str]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=FILE_ERROR_SCHEMA, orient="row")


def run_summary(**overrides: Any) -> RunSummary:
    fields: dict[str, Any] = {
        "run_id": "run-42",
        "as_of": date(2026, 3, 2),
        "dry_run": False,
        "started_at": datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
        "finished_at": datetime(2026, 3, 2, 1, 5, 30, tzinfo=UTC),
        "inputs": pl.DataFrame(
            [("leavers.xlsx", "March", "leavers", 1, 3, "login='Work Email' (16)")], schema=INPUTS_SCHEMA, orient="row"
        ),
        "api_calls": {"GET /users": 3, "POST /users/terminate_sessions": 1},
        "timings": {"ingest": 0.25, "terminate": 1.5},
        "settings": {"batch_size": "100"},
    }
    return RunSummary(**(fields | overrides))


def write_and_load(
    tmp_path: Path, users: pl.DataFrame, *, errors: pl.DataFrame | None = None, summary: RunSummary | None = None
) -> Any:
    path = write_report(
        tmp_path / "report.xlsx",
        users=users,
        errors=errors_frame() if errors is None else errors,
        summary=summary or run_summary(),
    )
    return load_workbook(path)


def summary_values(workbook: Any) -> dict[str, Any]:
    """Column A label -> column B value of the Summary sheet."""
    return {label: value for label, value, *_ in workbook["Summary"].iter_rows(values_only=True) if label is not None}


def section(workbook: Any, title: str) -> list[tuple[Any, ...]]:
    """The rows of a Summary section below its title and header, up to the blank line, as wide as its header."""
    rows = list(workbook["Summary"].iter_rows(values_only=True))
    start = next(index for index, row in enumerate(rows) if row[0] == title) + 2
    end = next((index for index in range(start, len(rows)) if rows[index][0] is None), len(rows))
    width = sum(value is not None for value in rows[start - 1])
    return [row[:width] for row in rows[start:end]]


def test_sheets_and_users_header(tmp_path: Path) -> None:
    """The workbook has Attention, Summary, Users, Errors in that order, and Users' header is exactly REPORT_COLUMNS."""
    workbook = write_and_load(tmp_path, users_frame(user_row()))
    assert workbook.sheetnames == ["Attention", "Summary", "Users", "Errors"] == list(SHEETS)
    assert tuple(next(workbook["Users"].iter_rows(values_only=True))) == REPORT_COLUMNS


def test_every_user_row_round_trips_in_input_order(tmp_path: Path) -> None:
    """Each input row comes back in order with its values; datetimes as naive UTC wall-clock, nulls as empty."""
    paris = timezone(timedelta(hours=1))
    rows = [
        user_row(row=7, login="b@example.com", status="failed", relogin_after_termination=REQUESTED),
        user_row(row=3, login=None, box_user_id=None, termination_date=None, requested_at=None, confirmed_at=None),
        user_row(row=5, requested_at=datetime(2026, 3, 2, 3, 0, tzinfo=paris), sheet=None),
    ]
    workbook = write_and_load(tmp_path, users_frame(*rows))
    read = list(workbook["Users"].iter_rows(min_row=2, values_only=True))
    expected = [[plain(row[name]) for name in REPORT_COLUMNS] for row in rows]
    assert [list(values) for values in read] == expected
    assert read[2][REPORT_COLUMNS.index("requested_at")] == datetime(2026, 3, 2, 2, 0)


def plain(value: object) -> object:
    """What openpyxl reads back for a written value: dates as midnight datetimes, datetimes naive UTC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return value


def test_datetime_column_in_another_zone_is_written_as_utc(tmp_path: Path) -> None:
    """A datetime column typed in another time zone is still written as UTC wall-clock time."""
    users = users_frame(user_row()).with_columns(pl.col("requested_at").dt.convert_time_zone("Europe/Paris"))
    workbook = write_and_load(tmp_path, users)
    assert workbook["Users"].cell(row=2, column=REPORT_COLUMNS.index("requested_at") + 1).value == plain(REQUESTED)


@pytest.mark.parametrize(
    ("column", "number_format"),
    [
        ("termination_date", DATE_FORMAT),
        ("requested_at", DATETIME_FORMAT),
        ("confirmed_at", DATETIME_FORMAT),
        ("relogin_after_termination", DATETIME_FORMAT),
    ],
)
def test_date_cells_are_dates_with_format(tmp_path: Path, column: str, number_format: str) -> None:
    """Date and datetime columns are real Excel dates with yyyy-mm-dd / yyyy-mm-dd hh:mm:ss formats."""
    workbook = write_and_load(tmp_path, users_frame(user_row(relogin_after_termination=REQUESTED)))
    cell = workbook["Users"].cell(row=2, column=REPORT_COLUMNS.index(column) + 1)
    assert cell.is_date
    assert cell.number_format == number_format


def test_header_bold_frozen_and_filtered(tmp_path: Path) -> None:
    """Users' header is bold, panes are frozen below it, and the auto filter spans header and data."""
    workbook = write_and_load(tmp_path, users_frame(user_row(), user_row(row=3), user_row(row=4)))
    sheet = workbook["Users"]
    assert all(cell.font.b for cell in sheet[1])
    assert not sheet.cell(row=2, column=1).font.b
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:R4"


def test_column_widths_follow_content(tmp_path: Path) -> None:
    """A column with long values is wider than a short one, and no width leaves the sensible bounds."""
    workbook = write_and_load(tmp_path, users_frame(user_row(reason="x" * 40)))
    widths = {name: workbook["Users"].column_dimensions[chr(ord("A") + i)].width for i, name in enumerate(SCHEMA)}
    assert widths["reason"] >= 40 > widths["row"]
    assert widths["requested_at"] >= len("yyyy-mm-dd hh:mm:ss")
    assert all(8 <= width <= 60 for width in widths.values())


@pytest.mark.parametrize("status", list(Status))
def test_status_cell_filled_per_status(tmp_path: Path, status: Status) -> None:
    """The status cell carries the solid fill of its status; other cells of the row carry none."""
    workbook = write_and_load(tmp_path, users_frame(user_row(status=status.value)))
    row = workbook["Users"][2]
    fill = row[REPORT_COLUMNS.index("status")].fill
    assert fill.fill_type == "solid"
    assert fill.fgColor.rgb[-6:] == STATUS_FILLS[status]
    assert row[REPORT_COLUMNS.index("login")].fill.fill_type is None


def test_status_fills_distinct_and_meaningful() -> None:
    """Every status has its own colour; confirmed is green, failed red, pending amber."""

    def rgb(status: Status) -> tuple[int, int, int]:
        code = STATUS_FILLS[status]
        return int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16)

    assert set(STATUS_FILLS) == set(Status)
    assert len(set(STATUS_FILLS.values())) == len(Status)
    red, green, blue = rgb(Status.CONFIRMED)
    assert min(green - red, green - blue) > 0
    red, green, blue = rgb(Status.FAILED)
    assert min(red - green, red - blue) > 0
    red, green, blue = rgb(Status.PENDING)
    assert red > green > blue


@pytest.mark.parametrize("text", INJECTIONS)
def test_formula_like_text_stays_literal_everywhere(tmp_path: Path, text: str) -> None:
    """Formula-like text in every text column, the summary and the errors comes back identical and as text."""
    users = users_frame(user_row(**dict.fromkeys(TEXT_COLUMNS, text)))
    summary = run_summary(
        run_id=text,
        inputs=pl.DataFrame({"file": [text], "sheet": [text], "rows": [1]}),
        api_calls={text: 1},
        timings={text: 1.0},
        settings={text: text},
        notes=[text],
        aborted=text,
    )
    path = write_report(tmp_path / "r.xlsx", users=users, errors=errors_frame((text, text, text)), summary=summary)
    workbook = load_workbook(path)
    for name in TEXT_COLUMNS:
        cell = workbook["Users"].cell(row=2, column=REPORT_COLUMNS.index(name) + 1)
        assert (cell.value, cell.data_type) == (text, "s"), name
    assert all(cell.value == text and cell.data_type == "s" for cell in workbook["Errors"][2])
    # run id, aborted, input file and sheet, endpoint, stage, setting name and value, note, and the odd status
    assert sum(cell.value == text for row in workbook["Summary"].iter_rows() for cell in row) == 10
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type in ("f", "e")]
    assert all(cell.quotePrefix for cell in cells if cell.value == text)
    with zipfile.ZipFile(path) as archive:
        sheets = [archive.read(name) for name in archive.namelist() if name.startswith("xl/worksheets/")]
    assert not any(b"<f>" in xml or b"<f " in xml for xml in sheets)


def test_plain_text_gets_no_quote_prefix(tmp_path: Path) -> None:
    """Ordinary text is not marked as forced text (only formula-like values are)."""
    workbook = write_and_load(tmp_path, users_frame(user_row()))
    assert not workbook["Users"].cell(row=2, column=REPORT_COLUMNS.index("name") + 1).quotePrefix


def test_characters_xml_cannot_hold_are_replaced(tmp_path: Path) -> None:
    """A control character in a value is replaced by U+FFFD instead of failing the whole report."""
    workbook = write_and_load(
        tmp_path,
        users_frame(user_row(name="Ada\x07Lovelace")),
        summary=run_summary(notes=["bell\x07"]),
    )
    assert workbook["Users"].cell(row=2, column=REPORT_COLUMNS.index("name") + 1).value == "Ada\ufffdLovelace"
    assert section(workbook, "Notes") == [("bell\ufffd",)]


def test_summary_counts_match_frame(tmp_path: Path) -> None:
    """Status counts (zeros included), re-logins, failures and files not read match the frames."""
    statuses = ["confirmed", "confirmed", "failed", "not_found", "confirmed", "failed"]
    users = users_frame(
        *(user_row(row=i, status=s) for i, s in enumerate(statuses)),
        user_row(row=9, relogin_after_termination=REQUESTED),
    )
    errors = errors_frame(("a.xlsx", None, "encrypted"), ("b.csv", None, "no login column"))
    workbook = write_and_load(tmp_path, users, errors=errors)
    counts = dict(section(workbook, "Status counts"))
    assert list(counts) == [status.value for status in Status]
    assert counts == {status.value: [*statuses, "confirmed"].count(status.value) for status in Status}
    values = summary_values(workbook)
    assert (values["Rows"], values["Re-logins after termination"], values["Failures"]) == (7, 1, 2)
    assert values["Files not read"] == 2


def test_summary_describes_the_run(tmp_path: Path) -> None:
    """Run fields, inputs, API calls, timings, settings and notes all appear on the Summary sheet."""
    summary = run_summary(dry_run=True, aborted="blast radius: 900 > 500", notes=["sheet Notes passed over"])
    workbook = write_and_load(tmp_path, users_frame(user_row()), summary=summary)
    values = summary_values(workbook)
    assert values["Run id"] == "run-42"
    assert values["As-of date"] == datetime(2026, 3, 2)
    assert values["Mode"].startswith("dry run")
    assert values["Started (UTC)"] == datetime(2026, 3, 2, 1, 0)
    assert values["Duration (seconds)"] == 330
    assert values["Aborted"] == "blast radius: 900 > 500"
    assert "UTC" in values["Times"]
    assert section(workbook, "Inputs") == [("leavers.xlsx", "March", "leavers", 1, 3, "login='Work Email' (16)")]
    assert section(workbook, "API calls") == [("GET /users", 3), ("POST /users/terminate_sessions", 1)]
    assert section(workbook, "Timings") == [("ingest", 0.25), ("terminate", 1.5)]
    assert section(workbook, "Settings") == [("batch_size", "100")]
    assert section(workbook, "Notes") == [("sheet Notes passed over",)]


def test_summary_of_a_run_not_aborted(tmp_path: Path) -> None:
    """A live run that was not aborted says so, and empty tables read "none"."""
    summary = run_summary(api_calls={}, timings={}, settings={})
    workbook = write_and_load(tmp_path, users_frame(user_row()), summary=summary)
    values = summary_values(workbook)
    assert (values["Mode"], values["Aborted"]) == ("live", "no")
    assert section(workbook, "API calls") == [("none", None)]
    assert section(workbook, "Notes") == [("none",)]


def test_chart_plots_the_status_counts(tmp_path: Path) -> None:
    """The Summary sheet holds one bar chart whose values and categories are the status-count cells."""
    workbook = write_and_load(tmp_path, users_frame(user_row(), user_row(row=3, status="failed")))
    sheet = workbook["Summary"]
    [chart] = sheet._charts
    assert type(chart).__name__ == "BarChart"
    assert (chart.x_axis.delete, chart.y_axis.delete) == (False, False)
    series = chart.series[0]
    values = [sheet[ref].value for ref in cells_of(series.val.numRef.f)]
    categories = [sheet[ref].value for ref in cells_of(series.cat.numRef.f)]
    assert categories == [status.value for status in Status]
    assert dict(zip(categories, values, strict=True)) == status_counts(
        users_frame(user_row(), user_row(status="failed"))
    )


def cells_of(reference: str) -> list[str]:
    """``'Summary'!$B$17:$B$19`` -> ``["B17", "B18", "B19"]``."""
    first, last = reference.split("!")[1].replace("$", "").split(":")
    column, start, end = first[0], int(first[1:]), int(last[1:])
    return [f"{column}{row}" for row in range(start, end + 1)]


def test_errors_sheet_lists_unread_files(tmp_path: Path) -> None:
    """Each file that could not be read appears with its sheet and reason under a bold header."""
    errors = errors_frame(("a.xlsx", None, "password protected"), ("b.xlsx", "Q1", "no login column"))
    workbook = write_and_load(tmp_path, users_frame(user_row()), errors=errors)
    sheet = workbook["Errors"]
    assert list(sheet.iter_rows(values_only=True)) == [
        ("file", "sheet", "error"),
        ("a.xlsx", None, "password protected"),
        ("b.xlsx", "Q1", "no login column"),
    ]
    assert all(cell.font.b for cell in sheet[1])


def test_errors_sheet_says_none_when_empty(tmp_path: Path) -> None:
    """With no unread files the Errors sheet says "none" below its header."""
    workbook = write_and_load(tmp_path, users_frame(user_row()))
    assert list(workbook["Errors"].iter_rows(values_only=True))[1][0] == "none"


def test_empty_users_still_make_a_report(tmp_path: Path) -> None:
    """No users: header only, filter over the header, all counts zero."""
    workbook = write_and_load(tmp_path, users_frame())
    assert workbook["Users"].max_row == 1
    assert workbook["Users"].auto_filter.ref == "A1:R1"
    assert {count for _, count in section(workbook, "Status counts")} == {0}


@pytest.mark.parametrize("mode", [0o600, 0o640])
def test_atomic_write_leaves_only_the_report(tmp_path: Path, mode: int) -> None:
    """The report appears under its final name with the asked permissions and no temp file beside it."""
    target = tmp_path / "reports" / "r.xlsx"
    written = write_report(
        target, users=users_frame(user_row()), errors=errors_frame(), summary=run_summary(), mode=mode
    )
    assert written == target
    assert [p.name for p in target.parent.iterdir()] == ["r.xlsx"]
    assert stat.S_IMODE(target.stat().st_mode) == mode


def test_default_mode_is_owner_only(tmp_path: Path) -> None:
    """Without a mode the report is readable by its owner only, whatever the umask."""
    old_umask = os.umask(0o022)
    try:
        path = write_report(tmp_path / "r.xlsx", users=users_frame(), errors=errors_frame(), summary=run_summary())
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_failed_save_keeps_previous_report_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk failure while saving leaves the earlier report intact and no temp file behind."""
    target = tmp_path / "r.xlsx"
    write_report(target, users=users_frame(user_row()), errors=errors_frame(), summary=run_summary())
    before = target.read_bytes()

    def disk_full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)  # the os module report saves through
    with pytest.raises(OSError, match="No space"):
        write_report(target, users=users_frame(user_row(name="Other")), errors=errors_frame(), summary=run_summary())
    assert [p.name for p in tmp_path.iterdir()] == ["r.xlsx"]
    assert target.read_bytes() == before


def test_missing_columns_are_named(tmp_path: Path) -> None:
    """A users frame without report columns is refused with the missing names."""
    with pytest.raises(ValueError, match="status"):
        write_report(
            tmp_path / "r.xlsx",
            users=users_frame(user_row()).drop("status"),
            errors=errors_frame(),
            summary=run_summary(),
        )


@pytest.mark.parametrize(
    "now",
    [datetime(2026, 3, 2, 1, 2, 3, tzinfo=UTC), datetime(2026, 3, 2, 3, 2, 3, tzinfo=timezone(timedelta(hours=2)))],
)
def test_report_path_uses_utc_stamp_and_run_id(now: datetime) -> None:
    """The report name is offboarding-<UTC yyyymmddTHHMMSSZ>-<run id>.xlsx in the report directory."""
    assert report_path(Path("reports"), run_id="a1b2-c3", now=now) == Path(
        "reports/offboarding-20260302T010203Z-a1b2-c3.xlsx"
    )


@pytest.mark.parametrize(
    ("run_id", "now", "message"),
    [
        ("../etc", datetime(2026, 1, 1, tzinfo=UTC), "run id"),
        ("a/b", datetime(2026, 1, 1, tzinfo=UTC), "run id"),
        ("", datetime(2026, 1, 1, tzinfo=UTC), "run id"),
        ("ok", datetime(2026, 1, 1), "timezone-aware"),
    ],
)
def test_report_path_refuses_unsafe_input(run_id: str, now: datetime, message: str) -> None:
    """A run id that could leave the directory, or a naive time, is refused."""
    with pytest.raises(ValueError, match=message):
        report_path(Path("reports"), run_id=run_id, now=now)


@pytest.mark.parametrize(
    ("statuses", "expected_extra"),
    [
        ([], {}),
        (["confirmed", "failed", "confirmed"], {}),
        (["confirmed", "weird", None], {"weird": 1, "(no status)": 1}),
    ],
)
def test_status_counts(statuses: list[str | None], expected_extra: dict[str, int]) -> None:
    """Every Status in pipeline order with zeros, then any unexpected value, summing to the row count."""
    counts = status_counts(pl.DataFrame({"status": statuses}, schema={"status": pl.String}))
    assert list(counts)[: len(Status)] == [status.value for status in Status]
    known = {status.value: statuses.count(status.value) for status in Status}
    assert counts == known | expected_extra
    assert sum(counts.values()) == len(statuses)


@pytest.mark.slow
def test_200k_rows(tmp_path: Path) -> None:
    """A 200,000-row report is written whole (run with -m slow; about a minute), read back with fastexcel."""
    n = 200_000
    users = users_frame(user_row()).select(pl.all().repeat_by(n).explode()).with_columns(row=pl.int_range(2, n + 2))
    path = write_report(tmp_path / "big.xlsx", users=users, errors=errors_frame(), summary=run_summary())
    read = fastexcel.read_excel(path).load_sheet_by_name("Users").to_polars()
    assert read.height == n
    assert read.get_column("row").cast(pl.Int64).to_list() == list(range(2, n + 2))


def test_stale_temp_files_of_killed_runs_are_removed(tmp_path: Path) -> None:
    """A half-written report left by a killed run is deleted once old; a fresh one (a run writing now) is kept."""
    old = tmp_path / ".offboarding-20261128T020000Z-x.xlsx.abc123.tmp"
    fresh = tmp_path / ".offboarding-20261129T020000Z-y.xlsx.def456.tmp"
    for temp in (old, fresh):
        temp.write_bytes(b"half a workbook")
    os.utime(old, (time.time() - 7 * 3600, time.time() - 7 * 3600))
    assert remove_stale_temp_files(tmp_path) == [old]
    assert not old.exists()
    assert fresh.exists()


# --- Attention sheet -------------------------------------------------------------------------------------------------


def attention_of(workbook: Any) -> list[dict[str, Any]]:
    """The Attention sheet's rows as dicts keyed by ATTENTION_COLUMNS."""
    rows = list(workbook["Attention"].iter_rows(min_row=2, values_only=True))
    return [dict(zip(ATTENTION_COLUMNS, row, strict=True)) for row in rows]


def test_attention_actions_cover_every_status_a_person_must_see() -> None:
    """Every status the run page flags has an action, and so do invalid and pending rows; done rows have none."""
    assert set(ATTENTION_STATUSES) | {Status.INVALID, Status.PENDING} <= set(ATTENTION_ACTIONS)
    assert not {Status.CONFIRMED, Status.DUPLICATE, Status.DEFERRED, Status.SKIPPED, Status.PLANNED} & set(
        ATTENTION_ACTIONS
    )


@pytest.mark.parametrize("status", list(ATTENTION_ACTIONS))
def test_attention_sheet_lists_a_row_with_what_to_do(tmp_path: Path, status: Status) -> None:
    """A row whose status needs a person is on the Attention sheet with its status, action, login and reason."""
    users = users_frame(user_row(), user_row(row=7, login="bo@example.com", status=status.value, reason="why"))
    [row] = attention_of(write_and_load(tmp_path, users))
    assert (row["attention"], row["what_to_do"]) == (status.value, ATTENTION_ACTIONS[status])
    assert (row["login"], row["reason"], row["file"], row["sheet"], row["row"]) == (
        "bo@example.com", "why", "leavers.xlsx", "March", 7,
    )  # fmt: skip


@pytest.mark.parametrize("status", [Status.CONFIRMED, Status.DUPLICATE, Status.DEFERRED, Status.SKIPPED])
def test_attention_sheet_leaves_out_rows_that_need_nobody(tmp_path: Path, status: Status) -> None:
    """A row that is done (or rightly not done) is not on the Attention sheet, which then says so."""
    workbook = write_and_load(tmp_path, users_frame(user_row(status=status.value)))
    assert list(workbook["Attention"].iter_rows(min_row=2, values_only=True)) == [
        ("none", "nothing needs a person", *([None] * (len(ATTENTION_COLUMNS) - 2)))
    ]


def test_invalid_row_shows_what_hr_wrote() -> None:
    """An invalid row has no normalised login or date: the Attention row shows them as written, to fix in HR."""
    users = users_frame(
        user_row(
            status="invalid",
            login=None,
            login_as_written="ada(at)example",
            termination_date=None,
            termination_date_as_written="31/02/2026",
            reason="not an email address",
        )
    )
    [row] = attention_frame(users, errors_frame()).to_dicts()
    assert (row["login"], row["termination_date"]) == ("ada(at)example", "31/02/2026")


def test_attention_order_and_relogins_and_unread_files() -> None:
    """Unread files first, then invalid, failed, re-logins ... pending; input order within a label."""
    users = users_frame(
        user_row(row=2, status="pending"),
        user_row(row=3, status="failed"),
        user_row(row=4, status="confirmed", relogin_after_termination=REQUESTED),
        user_row(row=5, status="invalid"),
        user_row(row=6, status="failed"),
        user_row(row=7, status="confirmed"),
        user_row(row=8, status="pending", relogin_after_termination=REQUESTED),
    )
    frame = attention_frame(users, errors_frame(("payroll.xlsx", None, "encrypted")))
    assert frame.select("attention", "row").rows() == [
        (UNREAD, None), ("invalid", 5), ("failed", 3), ("failed", 6), (RELOGIN, 4), ("pending", 2), ("pending", 8),
    ]  # fmt: skip
    unread, *_, relogin, _, pending_relogin = frame.to_dicts()
    assert (unread["what_to_do"], unread["reason"], unread["file"]) == (UNREAD_ACTION, "encrypted", "payroll.xlsx")
    assert (relogin["what_to_do"], relogin["reason"]) == (
        RELOGIN_ACTION, "sessions terminated; signed in 2026-03-02 01:30 UTC after termination",
    )  # fmt: skip
    assert pending_relogin["what_to_do"] == f"{ATTENTION_ACTIONS[Status.PENDING]}; also {RELOGIN_ACTION}"


@pytest.mark.parametrize("status", ["weird", None])
def test_a_row_without_a_known_status_is_never_hidden(status: str | None) -> None:
    """A status the report does not know (a bug upstream) is flagged, not taken as done."""
    [row] = attention_frame(users_frame(user_row(status=status)), errors_frame()).to_dicts()
    assert row["attention"] == UNKNOWN
    assert row["reason"].startswith(f"status {status or '(none)'}")


def test_attention_sheet_wraps_long_text_in_taller_rows(tmp_path: Path) -> None:
    """A long reason wraps, and its row is tall enough for every line; a short row keeps the default height."""
    users = users_frame(user_row(status="failed", reason="Box refused " * 20), user_row(row=3, status="not_found"))
    sheet = write_and_load(tmp_path, users)["Attention"]
    reason = sheet.cell(row=2, column=ATTENTION_COLUMNS.index("reason") + 1)
    assert reason.alignment.wrap_text
    assert sheet.row_dimensions[2].height >= 15 * 6
    assert sheet.row_dimensions[3].height is None
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:K3"


@pytest.mark.parametrize(
    ("sheet", "landscape", "title_rows"),
    [("Attention", True, "$1:$1"), ("Summary", True, None), ("Users", True, "$1:$1"), ("Errors", True, "$1:$1")],
)
def test_every_sheet_prints_fitted_to_the_page_width(
    tmp_path: Path, sheet: str, landscape: bool, title_rows: str | None
) -> None:
    """One page wide, as many pages down as needed, landscape where wide, the header row on every page."""
    printed = write_and_load(tmp_path, users_frame(user_row(status="failed")))[sheet]
    assert printed.sheet_properties.pageSetUpPr.fitToPage
    assert (printed.page_setup.fitToWidth, printed.page_setup.fitToHeight) == (1, 0)
    assert printed.page_setup.orientation == ("landscape" if landscape else "portrait")
    assert printed.print_title_rows == title_rows


def test_chart_labels_every_bar_with_its_count(tmp_path: Path) -> None:
    """Horizontal bars in table order, each labelled with its value: a 9,000-to-3 split still reads "3"."""
    users = users_frame(user_row()).select(pl.all().repeat_by(900).explode())
    users = pl.concat([users, users_frame(*(user_row(status="failed") for _ in range(3)))])
    sheet = write_and_load(tmp_path, users)["Summary"]
    [chart] = sheet._charts
    assert chart.type == "bar"
    assert chart.x_axis.scaling.orientation == "maxMin"
    assert chart.dataLabels is not None
    assert chart.dataLabels.showVal
    assert chart.y_axis.scaling.logBase is None
    assert chart.anchor._from.col >= len(("file", "sheet", "read_as", "rows", "header_row", "columns"))
