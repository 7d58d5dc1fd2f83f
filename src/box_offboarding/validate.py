"""Whether each row may be terminated: the rules that decide ``invalid``, ``duplicate``, ``protected``,
``deferred``, ``not_found`` and ``skipped``.

:func:`check_rows` needs no Box call: login syntax, duplicates, the protected list, termination dates. It takes the
ingest frame (:data:`~box_offboarding.columns.INPUT_SCHEMA`) and adds ``login`` (trimmed, lower-cased), ``status``
and ``reason``; precedence when several apply: invalid, duplicate, protected, deferred. Rows that pass keep
``status`` null and are resolved against Box; then :func:`check_box_users` applies what Box says of each user
(not found, admin, inactive) and :func:`skip_confirmed_earlier` what the ledger knows (already terminated). Rows
still undecided after these are the ones a run may terminate.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

import polars as pl
from email_validator import EmailNotValidError, validate_email

from box_offboarding.box.models import ADMIN_ROLES
from box_offboarding.errors import ConfigurationError
from box_offboarding.frames import decide
from box_offboarding.ingest.rows import WHITESPACE
from box_offboarding.statuses import Status


def normalise_login(column: pl.Expr) -> pl.Expr:
    """Trim (incl. non-breaking and zero-width spaces, as ingest does) and lower-case; empty becomes null."""
    cleaned = column.str.strip_chars(WHITESPACE).str.to_lowercase()
    return pl.when(cleaned == "").then(None).otherwise(cleaned)


def login_syntax_errors(logins: Iterable[str]) -> dict[str, str]:
    """Map each syntactically invalid login to email-validator's explanation (valid ones are absent)."""
    problems: dict[str, str] = {}
    for login in set(logins):
        try:
            validate_email(login, check_deliverability=False)
        except EmailNotValidError as error:
            problems[login] = f"not a valid email login: {error}"
    return problems


def load_protected(path: Path | None) -> frozenset[str]:
    """Read the protected list: one login per line, blank lines and ``#`` comments ignored, case-insensitive."""
    if path is None:
        return frozenset()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ConfigurationError(f"cannot read the protected list {path}: {error.strerror or error}") from error
    logins = (line.split("#", 1)[0].strip().lower() for line in text.splitlines())
    return frozenset(login for login in logins if login)


def _first_occurrence_label() -> pl.Expr:
    sheet = pl.when(pl.col("sheet").is_null()).then(pl.lit("")).otherwise(pl.lit(" sheet ") + pl.col("sheet"))
    return pl.concat_str(
        [pl.lit("duplicate of "), pl.col("file"), sheet, pl.lit(" row "), pl.col("row").cast(pl.String)]
    )


def check_rows(rows: pl.DataFrame, *, as_of: date, protected: frozenset[str] = frozenset()) -> pl.DataFrame:
    """Add ``login``, ``status`` and ``reason`` for every check that needs no Box call.

    ``duplicate`` compares normalised logins in ``input_index`` order (the order the files were given); the
    reason names the first occurrence. A row without a termination date is due (HR listed them as a leaver);
    one whose date could not be read is ``invalid``, since guessing a date could cut someone off early.
    """
    frame = rows.sort("input_index").with_columns(normalise_login(pl.col("login_as_written")).alias("login"))
    syntax = login_syntax_errors(frame.get_column("login").drop_nulls().to_list())
    syntax_frame = pl.DataFrame(
        {"login": list(syntax), "syntax_error": list(syntax.values())},
        schema={"login": pl.String, "syntax_error": pl.String},
    )
    frame = frame.join(syntax_frame, on="login", how="left", maintain_order="left")
    first = frame.group_by("login", maintain_order=True).agg(
        pl.col("input_index").first().alias("first_index"), _first_occurrence_label().first().alias("first_label")
    )
    frame = frame.join(first, on="login", how="left", maintain_order="left")
    unreadable_date = pl.col("termination_date").is_null() & pl.col("termination_date_as_written").is_not_null()
    status_and_reason = [
        (pl.col("login").is_null(), Status.INVALID, pl.lit("no login")),
        (pl.col("syntax_error").is_not_null(), Status.INVALID, pl.col("syntax_error")),
        (
            unreadable_date,
            Status.INVALID,
            pl.lit("termination date not understood: ") + pl.col("termination_date_as_written"),
        ),
        (pl.col("input_index") != pl.col("first_index"), Status.DUPLICATE, pl.col("first_label")),
        (pl.col("login").is_in(list(protected)), Status.PROTECTED, pl.lit("on the protected list")),
        (
            pl.col("termination_date") > pl.lit(as_of),
            Status.DEFERRED,
            pl.lit("termination date ") + pl.col("termination_date").cast(pl.String) + pl.lit(f" is after {as_of}"),
        ),
    ]
    status: pl.Expr = pl.lit(None, dtype=pl.String)
    reason: pl.Expr = pl.lit(None, dtype=pl.String)
    for condition, value, why in reversed(status_and_reason):
        status = pl.when(condition).then(pl.lit(value.value)).otherwise(status)
        reason = pl.when(condition).then(why).otherwise(reason)
    return frame.with_columns(status.alias("status"), reason.alias("reason")).drop(
        "syntax_error", "first_index", "first_label"
    )


def check_box_users(rows: pl.DataFrame, *, protect_admins: bool) -> pl.DataFrame:
    """Decide the undecided rows by what Box says of their user (``box_user_id``, ``box_status``, ``box_role``):
    ``not_found`` without one, ``protected`` for admins (when ``protect_admins``), ``skipped`` when inactive."""
    rows = decide(rows, pl.col("box_user_id").is_null(), Status.NOT_FOUND, pl.lit("no Box user has this login"))
    if protect_admins:
        rows = decide(
            rows,
            pl.col("box_role").is_in(list(ADMIN_ROLES)),
            Status.PROTECTED,
            pl.lit("Box ") + pl.col("box_role") + pl.lit(" (admins are protected)"),
        )
    return decide(rows, pl.col("box_status") == "inactive", Status.SKIPPED, pl.lit("inactive in Box"))


def skip_confirmed_earlier(rows: pl.DataFrame, confirmed: pl.DataFrame) -> pl.DataFrame:
    """Undecided rows of users whose termination an earlier run proved (``confirmed``: the ledger's
    :data:`~box_offboarding.columns.CONFIRMED_SCHEMA` rows of other runs) become ``skipped``, saying which run."""
    earlier = confirmed.select(
        "box_user_id", pl.col("run_id").alias("earlier_run"), pl.col("confirmed_at").alias("earlier_confirmed_at")
    )
    rows = rows.join(earlier, on="box_user_id", how="left", maintain_order="left")
    reason = (
        pl.lit("already confirmed in run ")
        + pl.col("earlier_run")
        + pl.lit(" on ")
        + pl.col("earlier_confirmed_at").dt.strftime("%Y-%m-%d")
    )
    rows = decide(rows, pl.col("earlier_run").is_not_null(), Status.SKIPPED, reason)
    return rows.drop("earlier_run", "earlier_confirmed_at")
