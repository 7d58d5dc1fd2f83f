"""Prove terminations with Box's admin events, and catch people who signed back in.

A ``202`` from terminate_sessions only means Box accepted the job. A user is ``confirmed`` once an admin event of
a confirmation type (a setting: Box does not publish the type) names them as ``source`` at or after their request
(less a clock tolerance). A ``LOGIN`` event after that is a re-login after termination.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import polars as pl

from box_offboarding.box.models import AdminEvent
from box_offboarding.columns import UTC_DATETIME

EVENT_SCHEMA: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "event_type": pl.String(),
    "created_at": UTC_DATETIME,
    "user_id": pl.String(),
}
CONFIRMATION_SCHEMA: dict[str, pl.DataType] = {
    "box_user_id": pl.String(),
    "event_id": pl.String(),
    "confirmed_at": UTC_DATETIME,
}
RELOGIN_SCHEMA: dict[str, pl.DataType] = {
    "box_user_id": pl.String(),
    "relogin_event_id": pl.String(),
    "relogin_after_termination": UTC_DATETIME,
}


class EventSource(Protocol):
    """The part of :class:`~box_offboarding.box.client.BoxClient` reconciliation needs."""

    def iter_admin_events(
        self,
        *,
        created_after: datetime | None,
        created_before: datetime | None,
        event_types: Sequence[str] = ...,
        stream_type: str = ...,
        page_size: int = ...,
        stream_position: str | None = ...,
    ) -> AsyncIterator[AdminEvent]: ...


def events_frame(events: Sequence[AdminEvent]) -> pl.DataFrame:
    """Admin events as a frame, one row per distinct ``event_id`` (the streaming feed may repeat events)."""
    frame = pl.DataFrame(
        {
            "event_id": [event.event_id for event in events],
            "event_type": [event.event_type for event in events],
            "created_at": [event.created_at for event in events],
            "user_id": [event.source_user_id for event in events],
        },
        schema=EVENT_SCHEMA,
    )
    return _without_repeats(frame)


def _without_repeats(events: pl.DataFrame) -> pl.DataFrame:
    """The first row of each ``event_id``, in order (a filter: ``unique(maintain_order=True)`` took ~4x the memory)."""
    return events.filter(pl.col("event_id").is_first_distinct())


def _first_event_after(
    targets: pl.DataFrame, events: pl.DataFrame, *, time_column: str, event_types: Sequence[str], strictly: bool
) -> pl.DataFrame:
    """For each target (``box_user_id``, ``time_column``), the first matching event at or after its time."""
    wanted = (
        events.filter(pl.col("event_type").is_in(list(event_types)) & pl.col("user_id").is_not_null())
        .rename({"user_id": "box_user_id"})
        .sort("created_at")
    )
    left = targets.select("box_user_id", time_column).drop_nulls().sort(time_column)
    joined = left.join_asof(
        wanted.with_columns(pl.col("created_at").alias("event_at")),
        left_on=time_column,
        right_on="created_at",
        by="box_user_id",
        strategy="forward",
        allow_exact_matches=not strictly,
        check_sortedness=False,  # both sides are sorted by time as a whole, hence within each user
    )
    return joined.filter(pl.col("event_id").is_not_null())


def match_confirmations(
    pending: pl.DataFrame, events: pl.DataFrame, *, event_types: Sequence[str], tolerance: timedelta
) -> pl.DataFrame:
    """Pair each pending user (``box_user_id``, ``requested_at``) with its first confirmation event."""
    earliest = pending.with_columns((pl.col("requested_at") - tolerance).alias("earliest"))
    matched = _first_event_after(earliest, events, time_column="earliest", event_types=event_types, strictly=False)
    return matched.select("box_user_id", "event_id", pl.col("event_at").alias("confirmed_at")).unique(
        "box_user_id", keep="first"
    )


def match_relogins(terminated: pl.DataFrame, events: pl.DataFrame, *, event_types: Sequence[str]) -> pl.DataFrame:
    """First sign-in event strictly after each user's termination time (``box_user_id``, ``terminated_at``)."""
    matched = _first_event_after(
        terminated, events, time_column="terminated_at", event_types=event_types, strictly=True
    )
    return matched.select(
        "box_user_id",
        pl.col("event_id").alias("relogin_event_id"),
        pl.col("event_at").alias("relogin_after_termination"),
    ).unique("box_user_id", keep="first")


@dataclass(frozen=True)
class ReconcileResult:
    confirmations: pl.DataFrame  # CONFIRMATION_SCHEMA
    relogins: pl.DataFrame  # RELOGIN_SCHEMA
    events_read: int
    polls: int


Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


async def read_events(
    source: EventSource, *, since: datetime, until: datetime, event_types: Sequence[str]
) -> list[AdminEvent]:
    """All admin events of ``event_types`` created between ``since`` and ``until``."""
    return [event async for event in _admin_logs(source, since=since, until=until, event_types=event_types)]


def _admin_logs(
    source: EventSource, *, since: datetime, until: datetime, event_types: Sequence[str]
) -> AsyncIterator[AdminEvent]:
    return source.iter_admin_events(
        created_after=since, created_before=until, event_types=event_types, stream_type="admin_logs"
    )


#: Events read before they are turned into frame rows: a long read never holds every event as Python objects.
FRAME_CHUNK = 10_000


async def read_events_frame(
    source: EventSource, *, since: datetime, until: datetime, event_types: Sequence[str], chunk: int = FRAME_CHUNK
) -> pl.DataFrame:
    """``events_frame(await read_events(...))`` in chunks of ``chunk`` events.

    Each event keeps Box's JSON (``raw``): about 1.4 KiB, so two million events read into a list before becoming a
    frame took nearly 3 GiB; as frame rows they take a few dozen bytes (``python -m bench reconcile``).
    """
    chunks: list[pl.DataFrame] = []
    batch: list[AdminEvent] = []
    async for event in _admin_logs(source, since=since, until=until, event_types=event_types):
        batch.append(event)
        if len(batch) >= chunk:
            chunks.append(events_frame(batch))
            batch = []
    chunks.append(events_frame(batch))
    return _without_repeats(pl.concat(chunks))


TERMINATED_SCHEMA: dict[str, pl.DataType] = {"box_user_id": pl.String(), "terminated_at": UTC_DATETIME}
#: How far a poll reaches back before the end of the previous one (events carry whole seconds).
POLL_OVERLAP = timedelta(seconds=2)


async def reconcile(
    source: EventSource,
    pending: pl.DataFrame,
    *,
    confirmation_types: Sequence[str],
    relogin_types: Sequence[str],
    skew: timedelta,
    lag: timedelta,
    timeout_seconds: float,
    poll_seconds: float,
    terminated_earlier: pl.DataFrame | None = None,
    clock: Clock = lambda: datetime.now(UTC),
    sleep: Sleep = asyncio.sleep,
    on_poll: Callable[[int, int], None] | None = None,
) -> ReconcileResult:
    """Poll admin events until every pending user (``box_user_id``, ``requested_at``) is confirmed or time is up.

    The first read covers the earliest request (or earlier termination) less ``skew`` to now less ``lag``; later
    polls read only what came since, less :data:`POLL_OVERLAP` (Box stamps events to the second): events older than
    ``lag`` are taken to be visible, which is what ``lag`` is for. ``timeout_seconds=0`` means a single read.
    Re-logins are looked for after the termination of the pending users
    and of ``terminated_earlier`` (``box_user_id``, ``terminated_at``: users confirmed by earlier runs).
    ``on_poll(confirmed, pending)`` reports progress after each read.
    """
    earlier = pl.DataFrame(schema=TERMINATED_SCHEMA) if terminated_earlier is None else terminated_earlier
    starts = [pending.get_column("requested_at").min(), earlier.get_column("terminated_at").min()]
    known = [start for start in starts if isinstance(start, datetime)]
    if not known:
        return ReconcileResult(pl.DataFrame(schema=CONFIRMATION_SCHEMA), pl.DataFrame(schema=RELOGIN_SCHEMA), 0, 0)
    since = min(known) - skew
    deadline = clock() + timedelta(seconds=timeout_seconds)
    types = [*confirmation_types, *relogin_types]
    polls = 0
    events, window_start = events_frame([]), since
    while True:
        until = clock() - lag
        if until > window_start:
            fresh = await read_events_frame(source, since=window_start, until=until, event_types=types)
            events = _without_repeats(pl.concat([events, fresh]))
            window_start = max(since, until - POLL_OVERLAP)
        polls += 1
        confirmations = match_confirmations(pending, events, event_types=confirmation_types, tolerance=skew)
        if on_poll is not None:
            on_poll(confirmations.height, pending.height)
        if confirmations.height >= pending.height or clock() >= deadline:
            break
        await sleep(poll_seconds)
    terminated = pending.join(confirmations, on="box_user_id", how="left").select(
        "box_user_id", pl.coalesce("confirmed_at", "requested_at").alias("terminated_at")
    )
    everyone = pl.concat([terminated, earlier.select(*TERMINATED_SCHEMA)], how="vertical_relaxed")
    relogins = match_relogins(everyone, events, event_types=relogin_types)
    return ReconcileResult(confirmations, relogins, events.height, polls)
