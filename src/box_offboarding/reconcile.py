"""Prove terminations with Box's admin events, and catch people who signed back in: the stage that decides
``confirmed`` (and says why a row is still ``pending``).

A ``202`` from terminate_sessions only means Box accepted the job. A user is ``confirmed`` once an admin event of
a confirmation type (a setting: Box does not publish the type) names them as ``source`` at or after their request
(less a clock tolerance, :func:`match_confirmations`: the one place that rule lives). A ``LOGIN`` event after that
is a re-login after termination.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import polars as pl

from box_offboarding.box.models import AdminEvent
from box_offboarding.columns import CONFIRMATION_SCHEMA, EVENT_SCHEMA, RELOGIN_SCHEMA, TERMINATED_SCHEMA
from box_offboarding.frames import fill_reason, overlay
from box_offboarding.settings import Settings
from box_offboarding.statuses import Status


@dataclass(frozen=True, kw_only=True)
class ReconcileOptions:
    """How events are read and matched: which types prove a termination or a sign-in, the clock tolerance
    (``skew``), how old an event must be to be surely visible (``lag``), and how long to poll."""

    confirmation_types: tuple[str, ...]
    relogin_types: tuple[str, ...]
    skew: timedelta
    lag: timedelta
    timeout_seconds: float
    poll_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> ReconcileOptions:
        return cls(
            confirmation_types=tuple(settings.confirmation_event_types),
            relogin_types=tuple(settings.relogin_event_types),
            skew=timedelta(seconds=settings.event_skew_seconds),
            lag=timedelta(seconds=settings.event_lag_seconds),
            timeout_seconds=settings.confirm_timeout_seconds,
            poll_seconds=settings.confirm_poll_seconds,
        )


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
            "box_user_id": [event.source_user_id for event in events],
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
    """For each target (``box_user_id``, ``time_column``, other columns kept), the first matching event at or after
    its time."""
    wanted = events.filter(pl.col("event_type").is_in(list(event_types)) & pl.col("box_user_id").is_not_null()).sort(
        "created_at"
    )
    left = targets.drop_nulls(["box_user_id", time_column]).sort(time_column)
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
    """Pair each pending user (``box_user_id``, ``requested_at``) with its first confirmation event: one stamped at
    or after the request less ``tolerance`` (Box stamps events to the second, and its clock is not ours)."""
    earliest = pending.select("box_user_id", "requested_at").with_columns(
        (pl.col("requested_at") - tolerance).alias("earliest")
    )
    matched = _first_event_after(earliest, events, time_column="earliest", event_types=event_types, strictly=False)
    return matched.select("box_user_id", "event_id", pl.col("event_at").alias("confirmed_at"), "requested_at").unique(
        "box_user_id", keep="first"
    )


def match_relogins(terminated: pl.DataFrame, events: pl.DataFrame, *, event_types: Sequence[str]) -> pl.DataFrame:
    """First sign-in event strictly after each user's termination time (``box_user_id``, ``terminated_at``)."""
    matched = _first_event_after(
        terminated.select(*TERMINATED_SCHEMA), events, time_column="terminated_at", event_types=event_types,
        strictly=True,
    )  # fmt: skip
    return matched.select(
        "box_user_id",
        pl.col("event_id").alias("relogin_event_id"),
        pl.col("event_at").alias("relogin_after_termination"),
    ).unique("box_user_id", keep="first")


@dataclass(frozen=True, kw_only=True)
class ReconcileResult:
    """What the admin events showed: confirmations (:data:`~box_offboarding.columns.CONFIRMATION_SCHEMA`) and
    re-logins (:data:`~box_offboarding.columns.RELOGIN_SCHEMA`), with how many events and reads it took."""

    confirmations: pl.DataFrame
    relogins: pl.DataFrame
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


#: How far a poll reaches back before the end of the previous one (events carry whole seconds).
POLL_OVERLAP = timedelta(seconds=2)


async def reconcile(
    source: EventSource,
    pending: pl.DataFrame,
    *,
    options: ReconcileOptions,
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
        return ReconcileResult(
            confirmations=pl.DataFrame(schema=CONFIRMATION_SCHEMA), relogins=pl.DataFrame(schema=RELOGIN_SCHEMA),
            events_read=0, polls=0,
        )  # fmt: skip
    since = min(known) - options.skew
    deadline = clock() + timedelta(seconds=options.timeout_seconds)
    types = [*options.confirmation_types, *options.relogin_types]
    polls = 0
    events, window_start = events_frame([]), since
    while True:
        until = clock() - options.lag
        if until > window_start:
            fresh = await read_events_frame(source, since=window_start, until=until, event_types=types)
            events = _without_repeats(pl.concat([events, fresh]))
            window_start = max(since, until - POLL_OVERLAP)
        polls += 1
        confirmations = match_confirmations(
            pending, events, event_types=options.confirmation_types, tolerance=options.skew
        )
        if on_poll is not None:
            on_poll(confirmations.height, pending.height)
        if confirmations.height >= pending.height or clock() >= deadline:
            break
        await sleep(options.poll_seconds)
    terminated = pending.join(confirmations.drop("requested_at"), on="box_user_id", how="left").select(
        "box_user_id", pl.coalesce("confirmed_at", "requested_at").alias("terminated_at")
    )
    everyone = pl.concat([terminated, earlier.select(*TERMINATED_SCHEMA)], how="vertical_relaxed")
    relogins = match_relogins(everyone, events, event_types=options.relogin_types)
    return ReconcileResult(confirmations=confirmations, relogins=relogins, events_read=events.height, polls=polls)


def terminated_earlier(confirmed: pl.DataFrame) -> pl.DataFrame:
    """When earlier runs' confirmed users (the ledger's :data:`~box_offboarding.columns.CONFIRMED_SCHEMA`) were
    terminated: re-logins are looked for after it."""
    return confirmed.select("box_user_id", pl.col("confirmed_at").alias("terminated_at"))


# --- what the events decide for the rows -------------------------------------------------------------------------


def restore_confirmed(rows: pl.DataFrame, own: pl.DataFrame, requests: pl.DataFrame) -> pl.DataFrame:
    """A resumed run's own confirmations (it died after reconciling; ``own``: the ledger's confirmed users of this
    run, ``requests``: its requests) make the undecided rows ``confirmed`` again, with the proof, as before."""
    sent = requests.select("request_id", pl.col("sent_at").alias("requested_at"))
    proof = own.join(sent, on="request_id", how="left").select(
        "box_user_id",
        pl.lit(Status.CONFIRMED.value).alias("status"),
        "request_id",
        "event_id",
        "confirmed_at",
        "requested_at",
    )
    return overlay(rows, proof, where=pl.col("status").is_null(), found="event_id")


def apply_reconciliation(rows: pl.DataFrame, result: ReconcileResult) -> pl.DataFrame:
    """``pending`` rows with an event become ``confirmed``; re-logins are flagged on the user's terminated rows
    (pending, confirmed, or skipped as confirmed by an earlier run)."""
    proven = result.confirmations.select(
        "box_user_id",
        "event_id",
        "confirmed_at",
        pl.lit(Status.CONFIRMED.value).alias("status"),
        pl.lit(None, dtype=pl.String).alias("reason"),
    )
    rows = overlay(rows, proven, where=pl.col("status") == Status.PENDING.value, found="event_id")
    terminated = pl.col("status").is_in([Status.PENDING.value, Status.CONFIRMED.value, Status.SKIPPED.value])
    relogins = result.relogins.select("box_user_id", "relogin_after_termination")
    return overlay(rows, relogins, where=terminated, found="relogin_after_termination")


def explain_pending(rows: pl.DataFrame) -> pl.DataFrame:
    """Say why a row is still pending, so a reader knows it is not an error."""
    return fill_reason(rows, Status.PENDING, "accepted by Box (202); no admin event confirmed it yet")
