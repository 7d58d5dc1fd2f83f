"""Matching admin events to terminated users at scale: the product's as-of joins beside a plain join + group-by.

Events are built directly as a polars frame (``--events``, default 2,000,000) for ``--users`` users (default
200,000), in the chronological order Box's ``admin_logs`` stream gives them: one termination event per user a few
seconds after their request, a sign-in an hour later for 1 user in 50 (a re-login), a sign-in the day before for
1 in 10 (not a re-login), and other activity (downloads, uploads, previews...) from anyone, before and after.
The frames are written to Arrow IPC files; each matcher runs in a fresh interpreter that reads them (untimed), then
matches (timed; peak memory read):

- ``as-of join (product)``: :func:`match_confirmations` then :func:`match_relogins`, as :func:`reconcile` chains
  them.
- ``join + group-by (baseline)``: the obvious relational way: join each user to all their events of the type,
  keep those at or after the time, take the earliest per user.

And, at ``--objects`` events (default 200,000), what turning the client's parsed pages into a frame costs:
``events_frame`` over :class:`AdminEvent` objects, beside making those objects from Box's JSON (``from_api``), which
the client does anyway.

    uv run python -m bench reconcile            # 2,000,000 events, 200,000 users; 3 runs each, medians
    uv run python -m bench reconcile --quick    # 500,000 events, 50,000 users; once each
    uv run python -m bench reconcile --smoke    # 5,000 events, 500 users; once each (CI: does it run)
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from bench.common import add_size_options, save_results, sized
from bench.measure import Column, Measurement, Work, measure, measurement_table
from box_offboarding.box.models import AdminEvent
from box_offboarding.columns import EVENT_SCHEMA
from box_offboarding.reconcile import match_confirmations, match_relogins

CONFIRMATION_TYPES = ("TERMINATE_USER_SESSIONS",)
RELOGIN_TYPES = ("LOGIN",)
OTHER_TYPES = ("DOWNLOAD", "UPLOAD", "PREVIEW", "COLLABORATION_INVITE", "SHARE", "EDIT", "DELETE", "COPY")
TOLERANCE = timedelta(minutes=5)
START = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
FIRST_USER_ID = 10_000_000
RELOGIN_EVERY = 50  # 1 user in 50 signs in again after termination
EARLIER_LOGIN_EVERY = 10  # 1 user in 10 signed in the day before (must not count)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench reconcile", description=__doc__.splitlines()[0])
    add_size_options(parser, quick="500,000 events for 50,000 users; one run each",
                     smoke="5,000 events for 500 users; one run each")  # fmt: skip
    parser.add_argument("--events", type=int, default=None, help="events in the frame (default 2,000,000)")
    parser.add_argument("--users", type=int, default=None, help="users awaiting confirmation (default 200,000)")
    parser.add_argument("--objects", type=int, default=None, help="AdminEvent objects for events_frame (200,000)")
    parser.add_argument(
        "--read-events", type=int, default=None, help="events read through the client's path (default 2,000,000)"
    )
    parser.add_argument("--repeat", type=int, default=None, help="runs per matcher, medians reported (default 3)")
    return parser.parse_args(argv)


def pending_frame(users: int) -> pl.DataFrame:
    """``box_user_id``, ``requested_at``: users sent in batches over the first minutes of the run."""
    index = pl.int_range(0, users)
    return pl.select(
        box_user_id=(index + FIRST_USER_ID).cast(pl.String),
        requested_at=(pl.lit(START) + pl.duration(milliseconds=index * 2)).cast(EVENT_SCHEMA["created_at"]),
    )


def events_table(*, events: int, users: int, seed: int = 7) -> pl.DataFrame:
    """``events`` admin events (EVENT_SCHEMA) for ``users`` users, chronological; see the module docstring."""
    pending = pending_frame(users)

    def planted(every: int, offset: timedelta, event_type: str) -> pl.DataFrame:
        """An ``event_type`` event ``offset`` after the request of every ``every``-th user."""
        return pending.gather_every(every).select(
            "box_user_id",
            (pl.col("requested_at") + offset).alias("created_at"),
            pl.lit(event_type).alias("event_type"),
        )

    planted_events = [
        planted(1, timedelta(seconds=3), CONFIRMATION_TYPES[0]),
        planted(RELOGIN_EVERY, timedelta(hours=1), RELOGIN_TYPES[0]),
        planted(EARLIER_LOGIN_EVERY, -timedelta(days=1), RELOGIN_TYPES[0]),
    ]
    others = max(0, events - sum(frame.height for frame in planted_events))
    span_ms = int(timedelta(days=2).total_seconds() * 1000)
    noise = pl.DataFrame(
        {
            "box_user_id": (pl.Series(values=range(others)).shuffle(seed) % users + FIRST_USER_ID).cast(pl.String),
            "created_at": pl.Series(values=range(others)).shuffle(seed + 1) * span_ms // max(others, 1),
            "event_type": pl.Series(values=range(others)).shuffle(seed + 2) % len(OTHER_TYPES),
        }
    ).select(
        "box_user_id",
        (pl.lit(START - timedelta(days=1)) + pl.duration(milliseconds=pl.col("created_at"))).alias("created_at"),
        pl.col("event_type").replace_strict(dict(enumerate(OTHER_TYPES)), return_dtype=pl.String),
    )
    every = pl.concat([*planted_events, noise], how="vertical_relaxed").sort("created_at")
    return every.select(
        pl.format("ev-{}", pl.int_range(0, pl.len())).alias("event_id"),
        "event_type",
        pl.col("created_at").cast(EVENT_SCHEMA["created_at"]),
        "box_user_id",
    )


# --- the matchers (each runs in its own interpreter through bench.measure) ----------------------------------------


def match_with_asof(events_path: str, pending_path: str) -> Work:
    table, pending = pl.read_ipc(events_path), pl.read_ipc(pending_path)

    def work() -> dict[str, Any]:
        confirmed = match_confirmations(pending, table, event_types=CONFIRMATION_TYPES, tolerance=TOLERANCE)
        terminated = _terminated(pending, confirmed)
        relogins = match_relogins(terminated, table, event_types=RELOGIN_TYPES)
        return {"events": table.height, "confirmed": confirmed.height, "relogins": relogins.height}

    return work


def match_with_join(events_path: str, pending_path: str) -> Work:
    table, pending = pl.read_ipc(events_path), pl.read_ipc(pending_path)

    def work() -> dict[str, Any]:
        earliest = pending.with_columns(pl.col("requested_at") - TOLERANCE)
        confirmed = _first_by_join(earliest, table, "requested_at", CONFIRMATION_TYPES, strictly=False)
        terminated = _terminated(pending, confirmed.rename({"created_at": "confirmed_at"}))
        relogins = _first_by_join(terminated, table, "terminated_at", RELOGIN_TYPES, strictly=True)
        return {"events": table.height, "confirmed": confirmed.height, "relogins": relogins.height}

    return work


def _terminated(pending: pl.DataFrame, confirmed: pl.DataFrame) -> pl.DataFrame:
    """When each user's sessions ended: their confirmation, else their request (as :func:`reconcile` does)."""
    return pending.join(confirmed, on="box_user_id", how="left").select(
        "box_user_id", pl.coalesce("confirmed_at", "requested_at").alias("terminated_at")
    )


def _first_by_join(
    users: pl.DataFrame, events: pl.DataFrame, time_column: str, types: Sequence[str], *, strictly: bool
) -> pl.DataFrame:
    wanted = events.filter(pl.col("event_type").is_in(list(types)))
    joined = users.join(wanted, on="box_user_id")
    after = pl.col("created_at") > pl.col(time_column) if strictly else pl.col("created_at") >= pl.col(time_column)
    return joined.filter(after).group_by("box_user_id").agg(pl.all().sort_by("created_at").first())


def frame_from_objects(objects: int) -> Work:
    from box_offboarding.box.models import AdminEvent
    from box_offboarding.reconcile import events_frame

    events = [AdminEvent.from_api(raw) for raw in _raw_events(objects)]

    def work() -> dict[str, Any]:
        return {"rows": events_frame(events).height}

    return work


def objects_from_json(objects: int) -> Work:
    from box_offboarding.box.models import AdminEvent

    raws = _raw_events(objects)

    def work() -> dict[str, Any]:
        return {"rows": len([AdminEvent.from_api(raw) for raw in raws])}

    return work


def _raw_events(count: int, *, first: int = 0) -> list[dict[str, Any]]:
    """Events as Box's JSON has them (the fields the client reads, and a few it does not)."""
    return [
        {
            "type": "event",
            "event_id": f"b3a1c0de-{index:012d}",
            "event_type": "TERMINATE_USER_SESSIONS" if index % 3 else "LOGIN",
            "created_at": (START + timedelta(milliseconds=index)).astimezone().isoformat(),
            "source": {"type": "user", "id": str(FIRST_USER_ID + index), "login": f"leaver.{index}@corp.example.com",
                       "name": f"Leaver {index}"},
            "created_by": {"type": "user", "id": "31000001", "login": "AutomationUser_1@boxdevedition.com"},
            "ip_address": "Unknown IP",
            "additional_details": None,
        }
        for index in range(first, first + count)
    ]  # fmt: skip


class PagedEvents:
    """An event source that makes Box's JSON a page at a time and parses it as the client does (``from_api`` per
    entry, ``raw`` kept): what reading ``total`` events costs in memory and time without the network."""

    def __init__(self, total: int, *, page_size: int = 500) -> None:
        self.total = total
        self.page_size = page_size

    async def iter_admin_events(self, **_query: object) -> AsyncIterator[AdminEvent]:
        from box_offboarding.box.models import AdminEvent

        for first in range(0, self.total, self.page_size):
            for raw in _raw_events(min(self.page_size, self.total - first), first=first):
                yield AdminEvent.from_api(raw)


def read_then_frame(total: int) -> Work:
    """The read path before chunking: every event into a list, then one frame."""
    from box_offboarding.reconcile import events_frame, read_events

    async def read() -> pl.DataFrame:
        return events_frame(await read_events(PagedEvents(total), since=START, until=START, event_types=()))

    return lambda: {"rows": asyncio.run(read()).height}


def read_in_chunks(total: int) -> Work:
    """The read path :func:`reconcile` takes: frame rows every ``FRAME_CHUNK`` events."""
    from box_offboarding.reconcile import read_events_frame

    async def read() -> pl.DataFrame:
        return await read_events_frame(PagedEvents(total), since=START, until=START, event_types=())

    return lambda: {"rows": asyncio.run(read()).height}


# --- the run ------------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    events = args.events or sized(args, full=2_000_000, quick=500_000, smoke=5_000)
    users = args.users or sized(args, full=200_000, quick=50_000, smoke=500)
    objects = args.objects or sized(args, full=200_000, quick=50_000, smoke=500)
    read_total = args.read_events or sized(args, full=2_000_000, quick=200_000, smoke=5_000)
    repeat = args.repeat or sized(args, full=3, quick=1, smoke=1)
    inputs = {"events_path": str(folder / "events.arrow"), "pending_path": str(folder / "pending.arrow")}
    events_table(events=events, users=users).write_ipc(inputs["events_path"])
    pending_frame(users).write_ipc(inputs["pending_path"])
    matchers = [
        measure("as-of join (product)", "bench.reconcile:match_with_asof", repeat=repeat, **inputs),
        measure("join + group-by (baseline)", "bench.reconcile:match_with_join", repeat=repeat, **inputs),
    ]
    frames = [
        measure("events_frame (product)", "bench.reconcile:frame_from_objects", repeat=repeat, objects=objects),
        measure("AdminEvent.from_api (baseline)", "bench.reconcile:objects_from_json", repeat=repeat, objects=objects),
    ]
    reads = [
        measure("read_events_frame, in chunks (product)", "bench.reconcile:read_in_chunks", total=read_total),
        measure("read_events, then events_frame (before)", "bench.reconcile:read_then_frame", total=read_total),
    ]
    expected = {"confirmed": users, "relogins": len(range(0, users, RELOGIN_EVERY))}
    for matcher in matchers:
        found = {key: matcher.facts[key] for key in expected}
        if found != expected:
            raise AssertionError(f"{matcher.label} found {found}, expected {expected}")
    print(f"{events:,} events for {users:,} users; medians of {repeat} run(s) each.\n")
    print(measurement_table(matchers, what="matcher", baseline=matchers[-1], extra=facts("confirmed", "relogins")))
    print(f"\n{objects:,} AdminEvent objects into a frame:\n")
    print(measurement_table(frames, what="step", baseline=frames[-1], extra=facts("rows")))
    print(f"\nReading {read_total:,} events (Box's JSON made and parsed a page at a time, no network), once each:\n")
    print(measurement_table(reads, what="read path", baseline=reads[-1], extra=facts("rows")))
    return {
        "events": events,
        "users": users,
        "objects": objects,
        "repeat": repeat,
        "matchers": [vars(m) for m in matchers],
        "events_frame": [vars(m) for m in frames],
        "read_events": read_total,
        "reads": [vars(m) for m in reads],
    }


def facts(*keys: str) -> list[Column]:
    """Table columns showing what each measured piece of work said it did."""
    return [(key, _fact(key)) for key in keys]


def _fact(key: str) -> Callable[[Measurement], object]:
    return lambda measurement: measurement.facts[key]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-reconcile-") as folder:
        figures = run(args, Path(folder))
    save_results("reconcile", figures, smoke=args.smoke)
    return 0
