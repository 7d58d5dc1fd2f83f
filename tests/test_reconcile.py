"""Matching admin events to pending terminations, re-login detection and the polling loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from box_offboarding.box.models import AdminEvent
from box_offboarding.columns import UTC_DATETIME
from box_offboarding.reconcile import (
    ReconcileResult,
    events_frame,
    match_confirmations,
    match_relogins,
    read_events_frame,
    reconcile,
)

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
CONFIRM = ("TERMINATE_USER_SESSIONS",)


def event(event_id: str, user_id: str, minutes: float, event_type: str = CONFIRM[0]) -> AdminEvent:
    """An admin event about ``user_id`` at T0 + minutes."""
    return AdminEvent(
        event_id=event_id,
        event_type=event_type,
        created_at=T0 + timedelta(minutes=minutes),
        source_user_id=user_id,
        source_login=f"{user_id}@example.com",
        created_by_id="1",
        raw={},
    )


def pending(*pairs: tuple[str, float]) -> pl.DataFrame:
    """Pending users with their request time (minutes after T0)."""
    return pl.DataFrame(
        {"box_user_id": [user for user, _ in pairs], "requested_at": [T0 + timedelta(minutes=m) for _, m in pairs]},
        schema={"box_user_id": pl.String, "requested_at": UTC_DATETIME},
    )


def test_events_frame_drops_repeated_event_ids() -> None:
    """The streaming feed may repeat events: one row per event_id."""
    frame = events_frame([event("e1", "u1", 1), event("e1", "u1", 1), event("e2", "u2", 2)])
    assert frame.get_column("event_id").to_list() == ["e1", "e2"]


def test_confirmation_needs_an_event_after_the_request() -> None:
    """An event older than the request (less tolerance) proves nothing; the first later one does."""
    events = events_frame([event("old", "u1", -60), event("new", "u1", 5), event("newer", "u1", 9)])
    confirmed = match_confirmations(pending(("u1", 0)), events, event_types=CONFIRM, tolerance=timedelta(minutes=1))
    assert confirmed.rows() == [("u1", "new", T0 + timedelta(minutes=5))]


@pytest.mark.parametrize(
    ("event_type", "user", "expected"),
    [
        (CONFIRM[0], "u1", 1),
        ("LOGIN", "u1", 0),
        (CONFIRM[0], "someone-else", 0),
    ],
)
def test_confirmation_needs_the_right_type_and_user(event_type: str, user: str, expected: int) -> None:
    """Only a configured confirmation type naming the user as source confirms them."""
    events = events_frame([event("e", user, 1, event_type)])
    confirmed = match_confirmations(pending(("u1", 0)), events, event_types=CONFIRM, tolerance=timedelta(0))
    assert confirmed.height == expected


def test_relogin_is_a_login_strictly_after_termination() -> None:
    """A login before or at the termination is not a re-login; the first one after is."""
    terminated = pl.DataFrame(
        {"box_user_id": ["u1"], "terminated_at": [T0]}, schema={"box_user_id": pl.String, "terminated_at": UTC_DATETIME}
    )
    events = events_frame(
        [event("l0", "u1", -5, "LOGIN"), event("l1", "u1", 0, "LOGIN"), event("l2", "u1", 30, "LOGIN")]
    )
    assert match_relogins(terminated, events, event_types=("LOGIN",)).rows() == [
        ("u1", "l2", T0 + timedelta(minutes=30))
    ]


class ScriptedEvents:
    """An event source whose feed grows by one batch per read, as Box's delayed jobs do."""

    def __init__(self, batches: Sequence[Sequence[AdminEvent]]) -> None:
        self.batches = list(batches)
        self.reads = 0

    async def iter_admin_events(self, **_: object) -> AsyncIterator[AdminEvent]:
        visible = [item for batch in self.batches[: self.reads + 1] for item in batch]
        self.reads += 1
        for item in visible:
            yield item


async def no_sleep(_: float) -> None:
    """Polling delay for tests: none."""


async def poll_two_users(source: ScriptedEvents, *, timeout_seconds: float) -> ReconcileResult:
    """Reconcile users u1 and u2, requested at T0, against ``source``, polling without pauses."""
    return await reconcile(
        source,
        pending(("u1", 0), ("u2", 0)),
        confirmation_types=CONFIRM,
        relogin_types=("LOGIN",),
        skew=timedelta(0),
        lag=timedelta(0),
        timeout_seconds=timeout_seconds,
        poll_seconds=0,
        sleep=no_sleep,
    )


async def test_reconcile_polls_until_everyone_is_confirmed() -> None:
    """It keeps reading until the last pending user's event appears, then stops."""
    source = ScriptedEvents([[event("e1", "u1", 1)], [], [event("e2", "u2", 2)], [event("e3", "u3", 3)]])
    result = await poll_two_users(source, timeout_seconds=3600)
    assert sorted(result.confirmations.get_column("box_user_id").to_list()) == ["u1", "u2"]
    assert result.polls == 3


async def test_reconcile_with_zero_timeout_reads_once() -> None:
    """confirm_timeout 0 means one read; whoever has no event stays unconfirmed."""
    source = ScriptedEvents([[event("e1", "u1", 1)], [event("e2", "u2", 2)]])
    result = await poll_two_users(source, timeout_seconds=0)
    assert result.confirmations.get_column("box_user_id").to_list() == ["u1"]
    assert result.polls == 1


@pytest.mark.parametrize("chunk", [1, 4, 10, 1000])
async def test_read_events_frame_in_chunks_equals_one_frame(chunk: int) -> None:
    """Reading in chunks gives the same rows, in the same order, as one frame of every event (repeats dropped)."""
    feed = [event(f"e{n % 9}", f"u{n % 4}", n) for n in range(12)]  # e0..e2 come twice, in other chunks
    source = ScriptedEvents([feed])
    since, until = T0, T0 + timedelta(hours=1)
    frame = await read_events_frame(source, since=since, until=until, event_types=CONFIRM, chunk=chunk)
    assert frame.rows() == events_frame(feed).rows()
    assert frame.height == 9


class RecordingEvents:
    """An event source that remembers the window of every read and returns the events created inside it."""

    def __init__(self, events: list[AdminEvent]) -> None:
        self.events = events
        self.windows: list[tuple[datetime, datetime]] = []

    async def iter_admin_events(
        self, *, created_after: datetime, created_before: datetime, **_: object
    ) -> AsyncIterator[AdminEvent]:
        self.windows.append((created_after, created_before))
        for item in self.events:
            if created_after <= item.created_at <= created_before:
                yield item


async def test_later_polls_read_only_what_came_since() -> None:
    """The first read covers the whole window; the next ones start just before where the previous one ended."""
    ticks = iter(T0 + timedelta(minutes=10 * n) for n in range(1, 100))
    now = [T0]

    def clock() -> datetime:
        return now[0]

    async def advance(_: float) -> None:
        now[0] = next(ticks)

    source = RecordingEvents([event("e1", "u1", 5), event("e2", "u2", 15), event("e3", "u3", 25)])
    now[0] = T0 + timedelta(minutes=6)
    result = await reconcile(
        source,  # type: ignore[arg-type]
        pending(("u1", 0), ("u2", 0), ("u3", 0)),
        confirmation_types=CONFIRM, relogin_types=(), skew=timedelta(minutes=1), lag=timedelta(0),
        timeout_seconds=3600, poll_seconds=0, clock=clock, sleep=advance,
    )  # fmt: skip
    assert result.confirmations.height == 3
    starts = [start for start, _ in source.windows]
    ends = [end for _, end in source.windows]
    assert starts[0] == T0 - timedelta(minutes=1)
    assert all(start == end - timedelta(seconds=2) for start, end in zip(starts[1:], ends, strict=False))
