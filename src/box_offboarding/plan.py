"""Which of the eligible users this run sends, and the rule that decides ``planned``.

After validation, the rows still undecided are eligible for termination. A sharded run keeps only its share
(:func:`keep_shard`); the blast-radius guard (:func:`blast_radius_check`) stops a run that would terminate too
many; a dry run or a tripped guard marks every eligible row ``planned`` (:func:`mark_planned`) and sends nothing.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import polars as pl

from box_offboarding.errors import BlastRadiusError
from box_offboarding.frames import decide
from box_offboarding.statuses import Status


@dataclass(frozen=True, kw_only=True)
class Plan:
    """Every row with a status decided, or null for the rows to terminate (listed in ``targets``)."""

    rows: pl.DataFrame
    targets: pl.DataFrame  # box_user_id, login: unique users to send
    blast_radius: BlastRadiusError | None  # the guard's verdict: when set, nothing is sent


def keep_shard(rows: pl.DataFrame, *, index: int, count: int) -> pl.DataFrame:
    """The rows of shard ``index`` of ``count``: by a stable hash of the normalised login, so every copy of a login
    (and so its duplicate status, decided over all rows first) lands in the same shard; rows without a login go to
    shard 0."""
    logins = rows.get_column("login").drop_nulls().unique().to_list()
    shard_of = pl.DataFrame(
        {"login": logins, "shard": [zlib.crc32(login.encode()) % count for login in logins]},
        schema={"login": pl.String, "shard": pl.Int64},
    )
    with_shard = rows.join(shard_of, on="login", how="left", maintain_order="left")
    return with_shard.filter(pl.col("shard").fill_null(0) == index).drop("shard")


def eligible_targets(rows: pl.DataFrame) -> pl.DataFrame:
    """The users of the undecided rows (``box_user_id``, ``login``), once each, in row order."""
    undecided = rows.filter(pl.col("status").is_null())
    return undecided.select("box_user_id", "login").unique("box_user_id", keep="first", maintain_order=True)


def blast_radius_check(
    count: int, *, directory_size: int, max_users: int, max_share: float, allow_large_run: bool
) -> BlastRadiusError | None:
    """The guard against a wrong file terminating half the company: an error to report, or None."""
    if allow_large_run or count == 0:
        return None
    share = count / directory_size if directory_size else 1.0
    if count > max_users:
        return BlastRadiusError(
            f"blast-radius guard: {count} users to terminate exceeds max_users={max_users}; "
            "nothing was sent (rerun with --allow-large-run if this is intended)"
        )
    if share > max_share:
        return BlastRadiusError(
            f"blast-radius guard: {count} users to terminate is {share:.1%} of the {directory_size}-user directory, "
            f"over max_share={max_share:.1%}; nothing was sent (rerun with --allow-large-run if intended)"
        )
    return None


def mark_planned(rows: pl.DataFrame, *, guard: BlastRadiusError | None, why: str | None = None) -> pl.DataFrame:
    """Every undecided row becomes ``planned``: a dry run's, a run the guard stopped, or one not (yet) approved
    (``why`` says which; by default the dry run or the guard)."""
    why = why or ("dry run" if guard is None else f"not sent: {guard}")
    return decide(rows, pl.lit(value=True), Status.PLANNED, pl.lit(why))
