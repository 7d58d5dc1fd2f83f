"""Column names and dtypes of every frame passed between modules: the product's one vocabulary.

Ingest produces :data:`INPUT_SCHEMA` (one row per HR data row, in the order files were given); the later stages add
the :data:`RESULT_SCHEMA` columns (together :data:`ROW_SCHEMA`, also what the ledger stores per row); the report
writes them in :data:`REPORT_COLUMNS` order. A Box user is ``box_user_id`` in every frame, the ledger's included.
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
    # How the row's cells were read when that took a decision a person may want to check (a login taken out of
    # 'Jane Doe <jane@x>', a date order decided for its column); "; "-separated, null when nothing to say.
    "input_note": pl.String(),
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

#: One input row with everything decided about it.
ROW_SCHEMA: dict[str, pl.DataType] = {**INPUT_SCHEMA, **RESULT_SCHEMA}

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
    "termination_date_as_written",
    "box_user_id",
    "status",
    "reason",
    "input_note",
    "request_id",
    "requested_at",
    "confirmed_at",
    "event_id",
    "relogin_after_termination",
)

#: A person the same input lists as staying: a row of a rehire, cancelled-termination, transfer or active-staff sheet.
#: Leaver rows with the same login are ``held`` (see :func:`box_offboarding.validate.check_rows`).
HOLD_SCHEMA: dict[str, pl.DataType] = {
    "login_as_written": pl.String(),  # raw cell text, normalised as leaver logins are before comparing
    "employee_id": pl.String(),  # matched against leaver rows of the same file (a rehire may have a new login)
    "file": pl.String(),
    "sheet": pl.String(),  # null for CSV
    "row": pl.Int64(),
    "listed_as": pl.String(),  # what the sheet says of them, for the reason: "rehired", "active staff", ...
}

#: A file that could not be read, for the report's ``Errors`` sheet.
FILE_ERROR_SCHEMA: dict[str, pl.DataType] = {"file": pl.String(), "sheet": pl.String(), "error": pl.String()}

# --- resolve ---------------------------------------------------------------------------------------------------------

#: A login found in Box, and what Box says of its user.
RESOLVED_SCHEMA: dict[str, pl.DataType] = {
    "login": pl.String(),
    "box_user_id": pl.String(),
    "box_status": pl.String(),
    "box_role": pl.String(),
}

# --- terminate -------------------------------------------------------------------------------------------------------

#: What termination decided for one user.
OUTCOME_SCHEMA: dict[str, pl.DataType] = {
    "box_user_id": pl.String(),
    "status": pl.String(),
    "reason": pl.String(),
    "request_id": pl.String(),
    "requested_at": UTC_DATETIME,
}

# --- reconcile -------------------------------------------------------------------------------------------------------

#: Admin events, one row per event; ``box_user_id`` is the event's source user.
EVENT_SCHEMA: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "event_type": pl.String(),
    "created_at": UTC_DATETIME,
    "box_user_id": pl.String(),
}
#: An admin event proving a user's termination: the event, and the request (by its time) it proves.
CONFIRMATION_SCHEMA: dict[str, pl.DataType] = {
    "box_user_id": pl.String(),
    "event_id": pl.String(),
    "confirmed_at": UTC_DATETIME,
    "requested_at": UTC_DATETIME,
}
#: A sign-in after a user's termination.
RELOGIN_SCHEMA: dict[str, pl.DataType] = {
    "box_user_id": pl.String(),
    "relogin_event_id": pl.String(),
    "relogin_after_termination": UTC_DATETIME,
}
#: When a user was terminated (its confirmation, else its request): re-logins are looked for after it.
TERMINATED_SCHEMA: dict[str, pl.DataType] = {"box_user_id": pl.String(), "terminated_at": UTC_DATETIME}

# --- ledger ----------------------------------------------------------------------------------------------------------

#: A user carried by an accepted (or in-flight) request that no event has confirmed yet.
ACCEPTED_SCHEMA: dict[str, pl.DataType] = {
    "box_user_id": pl.String(),
    "login": pl.String(),
    "request_id": pl.String(),
    "run_id": pl.String(),
    "requested_at": UTC_DATETIME,
}
#: A user's latest confirmed termination.
CONFIRMED_SCHEMA: dict[str, pl.DataType] = {
    "box_user_id": pl.String(),
    "login": pl.String(),
    "run_id": pl.String(),
    "request_id": pl.String(),
    "event_id": pl.String(),
    "confirmed_at": UTC_DATETIME,
}
#: One terminate-sessions request, with how many users it carried.
REQUEST_SCHEMA: dict[str, pl.DataType] = {
    "request_id": pl.String(),
    "run_id": pl.String(),
    "http_status": pl.Int64(),
    "attempts": pl.Int64(),
    "sent_at": UTC_DATETIME,
    "finished_at": UTC_DATETIME,
    "message": pl.String(),
    "user_count": pl.Int64(),
}
#: One run of the offboarding.
#: A person's decision on a run's plan (the approval step).
APPROVAL_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "decided_at": UTC_DATETIME,
    "approved": pl.Boolean(),
    "approver": pl.String(),
    "comment": pl.String(),
    "why": pl.String(),  # set when nobody decided (the wait timed out)
    "fingerprint": pl.String(),  # of the users the plan would terminate
}
RUN_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "run_key": pl.String(),
    "as_of": pl.Date(),
    "dry_run": pl.Boolean(),
    "status": pl.String(),
    "started_at": UTC_DATETIME,
    "finished_at": UTC_DATETIME,
    "report_path": pl.String(),
    "settings": pl.String(),  # JSON object
    "summary": pl.String(),  # JSON object
}
