"""Writing a large Excel report: the product's ``write_report`` beside openpyxl dumping the same cells unstyled.

A Users frame of ``--rows`` rows in :data:`~box_offboarding.columns.REPORT_COLUMNS` (mostly confirmed users, a
sprinkling of every other status with its reason, names Excel would take for formulas, re-logins here and there) is
built in each child interpreter, untimed; then the timed part runs and its peak memory is read:

- ``write_report (product)``: Summary with chart, Users with per-status fills, date formats, widths, frozen header,
  filter and formula-safe text, Errors; saved atomically.
- ``openpyxl write-only, no styles (floor)``: the same Users cells (datetimes made naive UTC beforehand) appended
  to one write-only sheet and saved: what openpyxl itself costs, whatever the report adds.
- ``xlsxwriter constant_memory, no styles``: only when xlsxwriter is importable (it is not a project dependency):
  ``uv run --with xlsxwriter python -m bench report`` shows what another library's floor would be.

    uv run python -m bench report            # 200,000 rows, each writer 3 times, medians
    uv run python -m bench report --quick    # 50,000 rows, once each
    uv run python -m bench report --smoke    # 500 rows, once each (CI: does it run)
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from bench.common import add_size_options, ratio, save_results, sized
from bench.measure import Column, Work, measure, measurement_table
from box_offboarding.columns import FILE_ERROR_SCHEMA, INPUT_SCHEMA, REPORT_COLUMNS, RESULT_SCHEMA
from box_offboarding.statuses import Status

REQUESTED_AT = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)

#: Reasons of the statuses that carry one, as the pipeline words them (near enough: lengths matter, not words).
REASONS = {
    Status.INVALID: "not an email address: missing '@'",
    Status.DUPLICATE: "duplicate of workday.xlsx sheet Terminations row 1234",
    Status.DEFERRED: "termination date 2026-12-31 is after the as-of date 2026-11-29",
    Status.NOT_FOUND: "no Box user has this login",
    Status.PROTECTED: "Box admin (admins are protected)",
    Status.SKIPPED: "inactive in Box",
    Status.FAILED: "Box refused (404 not_found): User not found",
    Status.PENDING: "accepted by Box (202); no admin event confirmed it yet",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench report", description=__doc__.splitlines()[0])
    add_size_options(parser, quick="50,000 rows, one run per writer", smoke="500 rows, one run per writer")
    parser.add_argument("--rows", type=int, default=None, help="Users rows (default 200,000)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per writer, medians reported (default 3)")
    return parser.parse_args(argv)


def users_frame(rows: int) -> pl.DataFrame:
    """``rows`` report rows: 9 in 10 confirmed, the rest spread over the other statuses, 1 in 50 re-logged-in."""
    index = pl.int_range(0, rows, eager=True)
    others = [status for status in Status if status is not Status.CONFIRMED]
    status = [Status.CONFIRMED.value if i % 10 else others[(i // 10) % len(others)].value for i in range(rows)]
    frame = pl.DataFrame(
        {
            "file": "workday_terminations.xlsx",
            "sheet": "Terminations",
            "row": index + 5,
            "login": [f"leaver.{i}@corp.example.com" for i in range(rows)],
            "login_as_written": [f"Leaver.{i}@Corp.Example.com " for i in range(rows)],
            "name": [f'=HYPERLINK("x","{i}")' if i % 1000 == 0 else f"Leaver Number {i}" for i in range(rows)],
            "employee_id": [f"E{i:07d}" for i in range(rows)],
            "termination_date": [date(2026, 10, 1) + timedelta(days=i % 58) for i in range(rows)],
            "termination_date_as_written": [f"{1 + i % 28:02d}/10/2026" for i in range(rows)],
            "box_user_id": [str(10_000_000 + i) for i in range(rows)],
            "status": status,
            "reason": [REASONS.get(Status(value)) for value in status],
            "input_note": [
                None if i % 7 else "date read day-first: the column's other dates say so" for i in range(rows)
            ],
        },
        schema_overrides={name: INPUT_SCHEMA.get(name) or RESULT_SCHEMA[name] for name in ("row", "termination_date")},
    )
    sent = pl.col("status").is_in([Status.CONFIRMED.value, Status.PENDING.value])
    confirmed = pl.col("status") == Status.CONFIRMED.value
    requested_at = pl.lit(REQUESTED_AT) + pl.duration(milliseconds=pl.col("row") * 3)
    return frame.with_columns(
        pl.when(sent)
        .then(pl.format("{}-{}", pl.lit("5f0c3a9e8d7b4c21a6e4"), pl.col("row") // 100))
        .alias("request_id"),
        pl.when(sent).then(requested_at).alias("requested_at"),
        pl.when(confirmed).then(requested_at + pl.duration(seconds=4)).alias("confirmed_at"),
        pl.when(confirmed).then(pl.format("ev-{}", pl.col("row"))).alias("event_id"),
        pl.when(confirmed & (pl.col("row") % 50 == 0)).then(requested_at + pl.duration(hours=2)).alias("relogin_at"),
    ).select(*REPORT_COLUMNS[:-1], pl.col("relogin_at").alias(REPORT_COLUMNS[-1]))


def _naive_utc(users: pl.DataFrame) -> pl.DataFrame:
    return users.with_columns(pl.col(pl.Datetime).dt.convert_time_zone("UTC").dt.replace_time_zone(None))


# --- the writers (each runs in its own interpreter through bench.measure) ----------------------------------------


def write_with_report(rows: int, folder: str) -> Work:
    from box_offboarding.report import RunSummary, write_report

    users = users_frame(rows)
    summary = RunSummary(
        run_id="20261129-bench",
        as_of=date(2026, 11, 29),
        dry_run=False,
        started_at=REQUESTED_AT,
        finished_at=REQUESTED_AT + timedelta(minutes=9),
        inputs=pl.DataFrame({"file": ["workday_terminations.xlsx"], "sheet": ["Terminations"], "rows": [rows]}),
        api_calls={"POST /oauth2/token": 1, "GET /users": 201, "POST /users/terminate_sessions": rows // 100},
        timings={"ingest": 1.0, "resolve": 20.0, "terminate": 60.0, "reconcile": 5.0},
        settings={"batch_size": "100", "dry_run": "False"},
    )
    errors = pl.DataFrame(schema=FILE_ERROR_SCHEMA)
    path = Path(folder) / "report.xlsx"

    def work() -> dict[str, Any]:
        write_report(path, users=users, errors=errors, summary=summary)
        return {"rows": users.height, "bytes": path.stat().st_size}

    return work


def write_with_openpyxl(rows: int, folder: str) -> Work:
    from openpyxl import Workbook

    users = _naive_utc(users_frame(rows))
    path = Path(folder) / "floor.xlsx"

    def work() -> dict[str, Any]:
        book = Workbook(write_only=True)
        sheet = book.create_sheet("Users")
        sheet.append(users.columns)
        for row in users.iter_rows():
            sheet.append(row)
        book.save(path)
        return {"rows": users.height, "bytes": path.stat().st_size}

    return work


def write_with_xlsxwriter(rows: int, folder: str) -> Work:
    import xlsxwriter  # type: ignore[import-not-found]

    users = _naive_utc(users_frame(rows))
    path = Path(folder) / "xlsxwriter.xlsx"

    def work() -> dict[str, Any]:
        book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        sheet = book.add_worksheet("Users")
        formats = {pl.Datetime: book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
                   pl.Date: book.add_format({"num_format": "yyyy-mm-dd"})}  # fmt: skip
        cell_formats = [formats.get(type(dtype)) for dtype in users.dtypes]
        sheet.write_row(0, 0, users.columns)
        for number, row in enumerate(users.iter_rows(), start=1):
            for column, value in enumerate(row):
                if value is None:
                    continue
                if cell_formats[column] is not None:
                    sheet.write_datetime(number, column, value, cell_formats[column])
                elif isinstance(value, str):
                    sheet.write_string(number, column, value)
                else:
                    sheet.write_number(number, column, value)
        book.close()
        return {"rows": users.height, "bytes": path.stat().st_size}

    return work


# --- the run ------------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    rows = args.rows or sized(args, full=200_000, quick=50_000, smoke=500)
    repeat = args.repeat or sized(args, full=3, quick=1, smoke=1)
    inputs: dict[str, Any] = {"rows": rows, "folder": str(folder)}
    measured = [
        measure("write_report (product)", "bench.report:write_with_report", repeat=repeat, **inputs),
        measure("openpyxl write-only, no styles (floor)", "bench.report:write_with_openpyxl", repeat=repeat, **inputs),
    ]
    if importlib.util.find_spec("xlsxwriter") is not None:
        label = "xlsxwriter constant_memory, no styles"
        measured.append(measure(label, "bench.report:write_with_xlsxwriter", repeat=repeat, **inputs))
    floor = measured[1]
    print(f"A {rows:,}-row Users sheet ({len(REPORT_COLUMNS)} columns); medians of {repeat} run(s) each.\n")
    print(measurement_table(measured, what="writer", baseline=floor, extra=REPORT_COLUMNS_SHOWN))
    return {"rows": rows, "repeat": repeat, "measurements": [vars(m) for m in measured]}


#: What the report table adds to time and memory.
REPORT_COLUMNS_SHOWN: list[Column] = [
    ("rows/s", lambda m: round(ratio(m.facts["rows"], m.seconds), 1)),  # inf, not a ZeroDivisionError, at tiny sizes
    ("file MiB", lambda m: round(m.facts["bytes"] / 2**20, 1)),
]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-report-") as folder:
        figures = run(args, Path(folder))
    save_results("report", figures, smoke=args.smoke)
    return 0
