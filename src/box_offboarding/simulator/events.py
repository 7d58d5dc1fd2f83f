"""The enterprise event log: events kept in ``created_at`` order, visible once their time has come.

An event is recorded with a time at or after "now" (a job's delay, a later re-login), so the visible events are
always a prefix of the sorted log and an index into it is a stable stream position: a reader that stopped at
position ``p`` never misses an event that becomes visible later, and never sees one twice.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    occurs_at: float  # epoch seconds; visible from then on
    sequence: int  # ties keep recording order
    event_type: str
    body: JSON = field(compare=False)

    @property
    def key(self) -> tuple[float, int]:
        return (self.occurs_at, self.sequence)


@dataclass(frozen=True, slots=True)
class EventQuery:
    """What one ``GET /events`` page asks for (times already parsed to epoch seconds)."""

    position: int
    limit: int
    event_types: frozenset[str] = frozenset()
    created_after: float | None = None
    created_before: float | None = None


class EventLog:
    """Sorted admin events; not thread-safe on its own (the simulator holds its lock around every call)."""

    def __init__(self) -> None:
        self._events: list[RecordedEvent] = []
        self._keys: list[tuple[float, int]] = []

    def __len__(self) -> int:
        return len(self._events)

    def record(self, *, occurs_at: float, event_type: str, body: JSON) -> None:
        event = RecordedEvent(occurs_at, len(self._events), event_type, body)
        index = bisect_left(self._keys, event.key)
        self._keys.insert(index, event.key)
        self._events.insert(index, event)

    def all(self) -> list[JSON]:
        return [event.body for event in self._events]

    def visible_end(self, now: float) -> int:
        """How many events are visible at ``now`` (they are the first ones)."""
        return bisect_left(self._keys, (now, math.inf))

    def read(self, query: EventQuery, *, now: float, page_size: int) -> tuple[list[RecordedEvent], int]:
        """Up to ``page_size`` visible events from ``query.position`` matching its filters, and the position after
        the last one looked at. Box renders times to the second, so the time bounds compare whole seconds
        (both inclusive)."""
        start, end = query.position, self.visible_end(now)
        if query.created_after is not None:
            start = max(start, bisect_left(self._keys, (math.ceil(query.created_after), -1)))
        if query.created_before is not None:
            end = min(end, bisect_left(self._keys, (math.floor(query.created_before) + 1, -1)))
        found: list[RecordedEvent] = []
        index = start
        while index < end and len(found) < page_size:
            event = self._events[index]
            if _wanted(event, query.event_types):
                found.append(event)
            index += 1
        return found, max(index, query.position)

    def repeats_before(
        self, position: int, *, event_types: Collection[str], count: int, rng: random.Random
    ) -> list[RecordedEvent]:
        """Up to ``count`` already-deliverable events from just before ``position`` (streaming may repeat them)."""
        window = [event for event in self._events[max(0, position - 50) : position] if _wanted(event, event_types)]
        return rng.sample(window, k=min(count, len(window)))


def _wanted(event: RecordedEvent, event_types: Collection[str]) -> bool:
    return not event_types or event.event_type in event_types
