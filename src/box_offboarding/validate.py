"""Whether each row may be terminated: the rules that decide ``invalid``, ``held``, ``duplicate``, ``protected``,
``deferred``, ``not_found`` and ``skipped``.

:func:`check_rows` needs no Box call: login syntax, duplicates, the protected list, termination dates. It takes the
ingest frame (:data:`~box_offboarding.columns.INPUT_SCHEMA`) and adds ``login`` (trimmed, lower-cased), ``status``
and ``reason``; precedence when several apply: invalid, held, duplicate, protected, deferred. Rows that pass keep
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

#: An address inside a cell: what surrounds it (``mailto:``, ``Jane Doe <...>``, quotes, a trailing ``;``) is not
#: part of it. The local part may hold an apostrophe (``o'brien@``), the domain may not.
ADDRESS = r"[^\s@<>,;:\"()\[\]]+@[^\s@<>,;:\"'()\[\]]+"


def normalise_login(column: pl.Expr) -> pl.Expr:
    """The login a cell names: its one address when it holds one (trimmed of what people wrap around it, trailing
    dots included), else the trimmed text; lower-cased; empty becomes null. A cell of two addresses names none of
    them: :func:`check_rows` makes it invalid."""
    cleaned = column.str.strip_chars(WHITESPACE)
    return _login_from(_addresses(cleaned), cleaned)


def _addresses(cleaned: pl.Expr) -> pl.Expr:
    """The different addresses in a trimmed cell, lower-cased, in order."""
    found = cleaned.str.extract_all(ADDRESS).list.eval(pl.element().str.strip_chars_end(".").str.to_lowercase())
    return found.list.unique(maintain_order=True)


def _login_from(addresses: pl.Expr, cleaned: pl.Expr) -> pl.Expr:
    login = pl.coalesce(pl.when(addresses.list.len() == 1).then(addresses.list.first()), cleaned.str.to_lowercase())
    return pl.when(login != "").then(login)


def _login_note(column: pl.Expr, login: pl.Expr) -> pl.Expr:
    """``taken from 'Jane Doe <jane@x>'`` where the login is not simply the cell trimmed and lower-cased."""
    cleaned = column.str.strip_chars(WHITESPACE)
    changed = login.is_not_null() & (cleaned.str.to_lowercase() != login)
    return pl.when(changed).then(pl.format("login taken from '{}'", cleaned))


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


def _occurrence_label(prefix: str, file: pl.Expr, sheet: pl.Expr, row: pl.Expr) -> pl.Expr:
    where = pl.when(sheet.is_null()).then(pl.lit("")).otherwise(pl.format(" sheet '{}'", sheet))
    return pl.concat_str([pl.lit(prefix), file, where, pl.lit(" row "), row.cast(pl.String)])


def _with_holds(frame: pl.DataFrame, holds: pl.DataFrame | None) -> pl.DataFrame:
    """``frame`` with ``held_reason``: why a leaver row is held, from the first listing of the person as staying,
    by login (any file) or by employee id (the same file: ids are one HR system's)."""
    if holds is None or holds.is_empty():
        return frame.with_columns(pl.lit(None, dtype=pl.String).alias("held_reason"))
    where = _occurrence_label("", pl.col("file"), pl.col("sheet"), pl.col("row"))
    listed = holds.with_columns(
        normalise_login(pl.col("login_as_written")).alias("login"),
        _trimmed_id(pl.col("employee_id")).alias("__id__"),
        pl.format("listed as {} in {}", pl.col("listed_as"), where).alias("held_reason"),
    )
    by_login = listed.drop_nulls("login").unique("login", keep="first", maintain_order=True)
    by_id = listed.drop_nulls("__id__").unique(["file", "__id__"], keep="first", maintain_order=True)
    id_reason = pl.format("{} (same employee id)", pl.col("held_reason"))
    return (
        frame.with_columns(_trimmed_id(pl.col("employee_id")).alias("__id__"))
        .join(by_login.select("login", "held_reason"), on="login", how="left", maintain_order="left")
        .join(
            by_id.select("file", "__id__", id_reason.alias("__id_reason__")),
            on=["file", "__id__"],
            how="left",
            maintain_order="left",
        )
        .with_columns(pl.coalesce("held_reason", "__id_reason__").alias("held_reason"))
        .drop("__id__", "__id_reason__")
    )


def _trimmed_id(column: pl.Expr) -> pl.Expr:
    cleaned = column.str.strip_chars(WHITESPACE).str.to_lowercase()
    return pl.when(cleaned != "").then(cleaned)


def check_rows(
    rows: pl.DataFrame,
    *,
    as_of: date,
    protected: frozenset[str] = frozenset(),
    holds: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Add ``login``, ``status`` and ``reason`` for every check that needs no Box call, and note on ``input_note``
    how a wrapped login was read.

    Precedence: invalid, held, duplicate, protected, deferred. ``held``: the same input lists the person as staying
    (``holds``, :data:`~box_offboarding.columns.HOLD_SCHEMA`: rehired, transfer, cancelled termination...).
    ``duplicate`` compares normalised logins in ``input_index`` order (the order the files were given) among the
    *usable* rows: a valid row is not the duplicate of an earlier invalid one; the reason names the row that counts.
    A row without a termination date is due (HR listed them as a leaver); one whose date could not be read is
    ``invalid``, since guessing a date could cut someone off early.
    """
    written = pl.col("login_as_written")
    cleaned = written.str.strip_chars(WHITESPACE)
    frame = rows.sort("input_index").with_columns(_addresses(cleaned).alias("__found__"))  # extracted once
    frame = frame.with_columns(
        _login_from(pl.col("__found__"), cleaned).alias("login"), pl.col("__found__").list.len().alias("addresses")
    ).drop("__found__")
    frame = frame.with_columns(
        pl.concat_str([pl.col("input_note"), _login_note(written, pl.col("login"))], separator="; ", ignore_nulls=True)
        .replace("", None)
        .alias("input_note")
    )
    syntax = login_syntax_errors(frame.get_column("login").drop_nulls().to_list())
    syntax_frame = pl.DataFrame(
        {"login": list(syntax), "syntax_error": list(syntax.values())},
        schema={"login": pl.String, "syntax_error": pl.String},
    )
    frame = frame.join(syntax_frame, on="login", how="left", maintain_order="left")
    unreadable_date = pl.col("termination_date").is_null() & pl.col("termination_date_as_written").is_not_null()
    two_addresses = pl.col("addresses") >= 2
    usable = pl.col("login").is_not_null() & pl.col("syntax_error").is_null() & ~two_addresses & ~unreadable_date
    first = (
        frame.filter(usable)
        .group_by("login", maintain_order=True)
        .agg(
            pl.col("input_index").first().alias("first_index"),
            _occurrence_label("duplicate of ", pl.col("file"), pl.col("sheet"), pl.col("row")).first().alias("first"),
        )
    )
    frame = frame.join(first, on="login", how="left", maintain_order="left")
    frame = _with_holds(frame, holds)
    status_and_reason = [
        (pl.col("login").is_null(), Status.INVALID, pl.lit("no login")),
        (two_addresses, Status.INVALID, pl.format("two addresses in one cell: '{}'", written.str.strip_chars())),
        (pl.col("syntax_error").is_not_null(), Status.INVALID, pl.col("syntax_error")),
        (
            unreadable_date,
            Status.INVALID,
            pl.lit("termination date not understood: ") + pl.col("termination_date_as_written"),
        ),
        (pl.col("held_reason").is_not_null(), Status.HELD, pl.col("held_reason")),
        (pl.col("input_index") != pl.col("first_index"), Status.DUPLICATE, pl.col("first")),
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
        "syntax_error", "first_index", "first", "addresses", "held_reason"
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
