"""Matching admin events to pending terminations, re-login detection and the polling loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from box_offboarding.box.models import AdminEvent
from box_offboarding.columns import CONFIRMATION_SCHEMA, CONFIRMED_SCHEMA, RELOGIN_SCHEMA, UTC_DATETIME
from box_offboarding.reconcile import (
    ReconcileOptions,
    ReconcileResult,
    apply_reconciliation,
    events_frame,
    explain_pending,
    match_confirmations,
    match_relogins,
    read_events_frame,
    reconcile,
    restore_confirmed,
)
from helpers import decided_rows, statuses

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
CONFIRM = ("TERMINATE_USER_SESSIONS",)


def options(
    *, timeout_seconds: float, skew: timedelta = timedelta(0), relogin_types: tuple[str, ...] = ("LOGIN",)
) -> ReconcileOptions:
    """Reconcile options polling without pauses or lag."""
    return ReconcileOptions(
        confirmation_types=CONFIRM, relogin_types=relogin_types, skew=skew, lag=timedelta(0),
        timeout_seconds=timeout_seconds, poll_seconds=0,
    )  # fmt: skip


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
    assert confirmed.rows() == [("u1", "new", T0 + timedelta(minutes=5), T0)]


@pytest.mark.parametrize(("tolerance_seconds", "expected"), [(0, 0), (30, 1)])
def test_confirmation_tolerance_covers_second_resolution_events(tolerance_seconds: float, expected: int) -> None:
    """Box stamps events to the second: an event a little before the request proves it only within tolerance."""
    events = events_frame([event("e1", "u1", 0.9)])
    confirmed = match_confirmations(
        pending(("u1", 1)), events, event_types=CONFIRM, tolerance=timedelta(seconds=tolerance_seconds)
    )
    assert confirmed.height == expected


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
        options=options(timeout_seconds=timeout_seconds),
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
        options=options(timeout_seconds=3600, skew=timedelta(minutes=1), relogin_types=()), clock=clock,
        sleep=advance,
    )  # fmt: skip
    assert result.confirmations.height == 3
    starts = [start for start, _ in source.windows]
    ends = [end for _, end in source.windows]
    assert starts[0] == T0 - timedelta(minutes=1)
    assert all(start == end - timedelta(seconds=2) for start, end in zip(starts[1:], ends, strict=False))


def result(confirmations: list[tuple[str, str, float]], relogins: list[tuple[str, str, float]]) -> ReconcileResult:
    """A reconcile result from (user, event id, minutes after T0) confirmations and re-logins."""
    return ReconcileResult(
        confirmations=pl.DataFrame(
            [(user, event_id, T0 + timedelta(minutes=m), T0) for user, event_id, m in confirmations],
            schema=CONFIRMATION_SCHEMA, orient="row",
        ),
        relogins=pl.DataFrame(
            [(user, event_id, T0 + timedelta(minutes=m)) for user, event_id, m in relogins],
            schema=RELOGIN_SCHEMA, orient="row",
        ),
        events_read=0, polls=1,
    )  # fmt: skip


def test_reconciliation_confirms_pending_rows_and_flags_relogins_on_terminated_ones() -> None:
    """Pending rows with an event become confirmed (reason cleared); re-logins mark pending, confirmed and skipped
    rows of the user, never a row of another status."""
    rows = decided_rows(
        {"box_user_id": "1", "status": "pending", "reason": "accepted in run x"},
        {"box_user_id": "1", "status": "duplicate"},
        {"box_user_id": "2", "status": "pending"},
        {"box_user_id": "3", "status": "skipped", "reason": "already confirmed"},
        {"box_user_id": "4", "status": "failed", "reason": "Box refused"},
    )
    outcome = apply_reconciliation(rows, result([("1", "e1", 2), ("4", "e4", 2)], [("1", "l1", 9), ("3", "l3", 9),
                                                                                    ("4", "l4", 9)]))  # fmt: skip
    assert statuses(outcome) == [
        ("confirmed", None),
        ("duplicate", None),
        ("pending", None),
        ("skipped", "already confirmed"),
        ("failed", "Box refused"),
    ]
    assert outcome["event_id"].to_list() == ["e1", None, None, None, None]
    flagged = outcome["relogin_after_termination"].is_not_null().to_list()
    assert flagged == [True, False, False, True, False]


def test_a_resumed_run_restores_its_own_confirmations_with_the_request_time() -> None:
    """Undecided rows of users this run already confirmed become confirmed, with event and request time."""
    rows = decided_rows({"box_user_id": "1"}, {"box_user_id": "2"})
    own = pl.DataFrame(
        [("1", "a@x.com", "run", "req-1", "e1", T0 + timedelta(minutes=3))], schema=CONFIRMED_SCHEMA, orient="row"
    )
    requests = pl.DataFrame(
        {"request_id": ["req-1"], "sent_at": [T0]}, schema={"request_id": pl.String, "sent_at": UTC_DATETIME}
    )
    restored = restore_confirmed(rows, own, requests)
    assert restored.select("status", "event_id", "request_id", "requested_at").rows() == [
        ("confirmed", "e1", "req-1", T0),
        (None, None, None, None),
    ]


def test_pending_rows_without_reason_are_explained() -> None:
    """A pending row without a reason says it awaits its event; one with a reason keeps it."""
    rows = decided_rows({"status": "pending"}, {"status": "pending", "reason": "accepted in run x"})
    assert [reason for _, reason in statuses(explain_pending(rows))] == [
        "accepted by Box (202); no admin event confirmed it yet",
        "accepted in run x",
    ]
