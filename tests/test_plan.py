"""Which eligible users a run sends: shards, the blast-radius guard, and ``planned``."""

from __future__ import annotations

import polars as pl
import pytest

from box_offboarding.plan import blast_radius_check, eligible_targets, keep_shard, mark_planned
from helpers import decided_rows, statuses


def test_shards_split_every_login_once_and_keep_copies_together() -> None:
    """Over all shards each row appears once; every copy of a login lands in one shard; no login goes to shard 0."""
    logins = [f"user{n}@x.com" for n in range(40)]
    rows = decided_rows(*({"login": login} for login in [*logins, logins[3], None]))
    shards = [keep_shard(rows, index=index, count=3) for index in range(3)]
    assert sorted(index for shard in shards for index in shard["input_index"]) == list(range(rows.height))
    holding_copy = [shard for shard in shards if logins[3] in shard["login"].to_list()]
    assert len(holding_copy) == 1
    assert holding_copy[0].filter(pl.col("login") == logins[3]).height == 2
    assert shards[0].filter(pl.col("login").is_null()).height == 1
    assert all(shard.height < rows.height for shard in shards)


def test_eligible_targets_are_undecided_users_once_in_row_order() -> None:
    """Decided rows are no target; a user on two undecided rows is sent once, at its first row."""
    rows = decided_rows(
        {"box_user_id": "9", "login": "i@x.com"},
        {"box_user_id": "1", "login": "a@x.com", "status": "skipped"},
        {"box_user_id": "2", "login": "b@x.com"},
        {"box_user_id": "9", "login": "i@x.com"},
    )
    assert eligible_targets(rows).rows() == [("9", "i@x.com"), ("2", "b@x.com")]


@pytest.mark.parametrize(
    ("count", "directory", "allow", "expected"),
    [
        (0, 100, False, None),
        (10, 1000, False, None),
        (11, 1000, False, "max_users=10"),
        (6, 100, False, "over max_share=5.0%"),
        (500, 1000, True, None),
        (3, 0, False, "over max_share"),
    ],
    ids=["nobody", "within", "too-many", "too-large-share", "lifted", "empty-directory"],
)
def test_blast_radius_guard(count: int, directory: int, allow: bool, expected: str | None) -> None:
    """The guard trips on more than max_users or more than max_share of the directory, unless lifted."""
    guard = blast_radius_check(count, directory_size=directory, max_users=10, max_share=0.05, allow_large_run=allow)
    if expected is None:
        assert guard is None
    else:
        assert guard is not None
        assert expected in str(guard)
        assert "nothing was sent" in str(guard)


def test_planned_rows_say_why() -> None:
    """Undecided rows become planned (dry run, or the guard's message); decided rows keep theirs."""
    rows = decided_rows({}, {"status": "invalid", "reason": "no login"})
    assert statuses(mark_planned(rows, guard=None)) == [("planned", "dry run"), ("invalid", "no login")]
    guard = blast_radius_check(20, directory_size=1000, max_users=10, max_share=1.0, allow_large_run=False)
    assert statuses(mark_planned(rows, guard=guard))[0] == ("planned", f"not sent: {guard}")
