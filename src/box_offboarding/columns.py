"""Column names and dtypes of the frames passed between pipeline stages.

Ingest produces :data:`INPUT_SCHEMA` (one row per HR data row, in the order files were given); validation,
termination and reconciliation add the :data:`RESULT_SCHEMA` columns; the report writes them in
:data:`REPORT_COLUMNS` order.
"""

from __future__ import annotations

import polars as pl

UTC_DATETIME = pl.Datetime("us", "UTC")

#: What ingest yields: where each row came from, and what HR wrote.
INPUT_SCHEMA: dict[str, pl.DataType] = {
    "input_index": pl.Int64(),  # 0-based position across all files, in the order given: decides "first occurrence"
    "file": pl.String(),  # file name as given (no directory)
    "sheet": pl.String(),  # sheet name; null for CSV
    "row": pl.Int64(),  # the 1-based row number a person sees in Excel (or the CSV line number)
    "login_as_written": pl.String(),  # raw cell text, null when empty
    "name": pl.String(),
    "employee_id": pl.String(),
    "termination_date": pl.Date(),  # null when empty or unparseable
    "termination_date_as_written": pl.String(),  # raw cell text, kept to explain an unparseable date
}

#: What the later stages add.
RESULT_SCHEMA: dict[str, pl.DataType] = {
    "login": pl.String(),  # trimmed, lower-cased
    "box_user_id": pl.String(),
    "box_status": pl.String(),
    "box_role": pl.String(),
    "status": pl.String(),  # a box_offboarding.statuses.Status value
    "reason": pl.String(),
    "request_id": pl.String(),
    "requested_at": UTC_DATETIME,
    "confirmed_at": UTC_DATETIME,
    "event_id": pl.String(),
    "relogin_after_termination": UTC_DATETIME,
}

#: Column order of the report's ``Users`` sheet.
REPORT_COLUMNS: tuple[str, ...] = (
    "file",
    "sheet",
    "row",
    "login",
    "login_as_written",
    "name",
    "employee_id",
    "termination_date",
    "box_user_id",
    "status",
    "reason",
    "request_id",
    "requested_at",
    "confirmed_at",
    "event_id",
    "relogin_after_termination",
)

#: A file that could not be read, for the report's ``Errors`` sheet.
FILE_ERROR_SCHEMA: dict[str, pl.DataType] = {"file": pl.String(), "sheet": pl.String(), "error": pl.String()}
