"""The helpers through which every stage writes a status: decide, fill_reason, overlay, with_result_columns."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from box_offboarding.columns import INPUT_SCHEMA, RESULT_SCHEMA, UTC_DATETIME
from box_offboarding.frames import decide, fill_reason, overlay, with_result_columns
from box_offboarding.statuses import Status
from helpers import decided_rows, statuses

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


def test_decide_touches_only_undecided_matching_rows() -> None:
    """A decided row keeps its status even when it matches; an undecided row that does not match stays null."""
    rows = decided_rows(
        {"login": "a@x.com", "status": "invalid", "reason": "no"},
        {"login": "a@x.com"},
        {"login": "b@x.com"},
    )
    decided = decide(rows, pl.col("login") == "a@x.com", Status.SKIPPED, pl.lit("why"))
    assert statuses(decided) == [("invalid", "no"), ("skipped", "why"), (None, None)]


def test_fill_reason_keeps_existing_reasons_and_other_statuses() -> None:
    """Only rows of the status without a reason get the text."""
    rows = decided_rows({"status": "pending"}, {"status": "pending", "reason": "own"}, {"status": "failed"})
    assert statuses(fill_reason(rows, Status.PENDING, "later")) == [
        ("pending", "later"),
        ("pending", "own"),
        ("failed", None),
    ]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (pl.col("status").is_null(), [("pending", "r-1"), ("duplicate", None), (None, None)]),
        (pl.lit(value=True), [("pending", "r-1"), ("pending", "r-1"), (None, None)]),
    ],
    ids=["undecided-only", "every-row"],
)
def test_overlay_takes_the_users_update_where_asked(where: pl.Expr, expected: list[tuple[str, str]]) -> None:
    """Rows of a user with an update take its columns where ``where`` holds; users without one are untouched."""
    rows = decided_rows(
        {"box_user_id": "1"},
        {"box_user_id": "1", "status": "duplicate"},
        {"box_user_id": "2"},
    )
    updates = pl.DataFrame(
        {"box_user_id": ["1"], "status": ["pending"], "request_id": ["r-1"], "requested_at": [T0]},
        schema={"box_user_id": pl.String, "status": pl.String, "request_id": pl.String, "requested_at": UTC_DATETIME},
    )
    merged = overlay(rows, updates, where=where, found="status")
    assert list(zip(merged["status"], merged["request_id"], strict=True)) == expected
    assert merged.columns == rows.columns
    assert merged["requested_at"].to_list()[2] is None


def test_overlay_skips_updates_whose_found_column_is_null() -> None:
    """An update row with ``found`` null changes nothing (e.g. a user with no event yet)."""
    rows = decided_rows({"box_user_id": "1", "status": "pending", "event_id": None})
    updates = pl.DataFrame({"box_user_id": ["1"], "event_id": [None], "status": ["confirmed"]}, schema_overrides={
        "event_id": pl.String
    })  # fmt: skip
    assert statuses(overlay(rows, updates, where=pl.lit(value=True), found="event_id")) == [("pending", None)]


def test_with_result_columns_adds_nulls_in_schema_order() -> None:
    """Missing result columns are added as typed nulls and every column comes in schema order."""
    frame = decided_rows({"login": "a@x.com"}).select([*INPUT_SCHEMA, "status", "login"])
    completed = with_result_columns(frame)
    assert completed.schema == pl.Schema({**INPUT_SCHEMA, **RESULT_SCHEMA})
    assert completed["login"].to_list() == ["a@x.com"]
