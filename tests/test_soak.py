"""Fault soak: whole runs against a simulated Box that fails one request in six (5xx, 429 with retry-after, dropped
connections), hands out 5-second tokens and shows termination events late. Each run is measured against the same
run on a well-behaved simulator.

The default variant offboards 500 leavers, resolving them one lookup each (what ``auto`` picks in an enterprise of
over 500,000 users): about 500 calls, enough for the request ratio to mean something. Under ``-m slow``: 5,000 leavers,
by lookup and by ``auto`` (a directory scan), with the simulator in its own process.

Every 429 carries ``retry-after: 1``, which the client honours (at least one second): the waits overlap because up to
16 requests are in flight, so 30-odd of them cost a few seconds, not half a minute. ``max_attempts`` is raised to 10:
at this fault rate one call in ~55,000 exhausts the default 6 attempts, and one failed lookup ends the whole run.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from box_offboarding.box.client import BoxClient
from box_offboarding.pipeline import run_offboarding
from box_offboarding.simulator import SimulatorConfig
from box_offboarding.statuses import Status
from helpers import (
    AS_OF,
    UNLIMITED_PER_MINUTE,
    box_settings,
    ordinary_people,
    report_records,
    run_settings,
    serve,
    write_leavers_csv,
)

FAULTS: dict[str, Any] = {"fault_rate": 0.1, "rate_limit_fault_rate": 0.05, "drop_rate": 0.02}
WEATHER: dict[str, Any] = {
    "token_lifetime_seconds": 5,
    "event_delay_seconds": 0.5,
    "streaming_repeats": True,
    "rate_limit": UNLIMITED_PER_MINUTE,
}
MAX_ATTEMPTS = 10
REQUEST_RATIO_LIMIT = 1.5


@dataclass(frozen=True)
class Soak:
    leavers: int
    strategy: str
    own_process: bool

    @property
    def directory_size(self) -> int:
        return self.leavers + self.leavers // 5 + 100


@dataclass(frozen=True)
class SoakRun:
    """What one run left: the report's rows, the simulator's counters and its admin events."""

    records: list[dict[str, Any]]
    stats: dict[str, Any]
    events: list[dict[str, Any]]
    confirmation_types: tuple[str, ...]


def soak_run(soak: Soak, folder: Path, *, faults: dict[str, Any]) -> SoakRun:
    """Offboard ``soak.leavers`` people against a simulator with ``faults`` (and the soak's weather)."""
    config = SimulatorConfig(users=soak.directory_size, seed=11, **WEATHER, **faults)
    folder.mkdir()
    with serve(config, own_process=soak.own_process) as sim:
        hr = write_leavers_csv(folder / "leavers.csv", ordinary_people(sim.people, soak.leavers))
        settings = run_settings(
            sim.address, folder, box=box_settings(sim.address, max_attempts=MAX_ATTEMPTS),
            resolve_strategy=soak.strategy, confirm_timeout_seconds=60,
        )  # fmt: skip
        outcome = asyncio.run(run_offboarding([hr], settings=settings, as_of=AS_OF))
        return SoakRun(report_records(outcome.report), sim.stats(), sim.events(), settings.confirmation_event_types)


def unproven_confirmations(run: SoakRun) -> list[str]:
    """Confirmed rows without an admin event of a confirmation type, for their user, at or after their request."""
    events = {event["event_id"]: event for event in run.events}
    problems = []
    for record in run.records:
        if record["status"] != Status.CONFIRMED.value:
            continue
        event = events.get(record["event_id"])
        requested_at = record["requested_at"].replace(microsecond=0)  # Box stamps events to the second
        if event is None:
            problems.append(f"{record['login']}: event {record['event_id']!r} does not exist")
        elif event["source"]["id"] != record["box_user_id"] or event["event_type"] not in run.confirmation_types:
            problems.append(f"{record['login']}: event {event['event_id']} is a {event['event_type']} of another user")
        elif _naive_utc(event["created_at"]) < requested_at:
            problems.append(f"{record['login']}: event at {event['created_at']} precedes the request {requested_at}")
    return problems


def _naive_utc(text: str) -> datetime:
    """A Box timestamp as naive UTC, the way the report writes times."""
    return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


def assert_complete(run: SoakRun, soak: Soak) -> None:
    """Every row final, every leaver confirmed by a real event, each user terminated exactly once."""
    statuses = Counter(record["status"] for record in run.records)
    assert statuses == {Status.CONFIRMED.value: soak.leavers}, statuses
    assert unproven_confirmations(run) == []
    per_user = run.stats["terminations_per_user"]
    assert len(per_user) == soak.leavers
    assert set(per_user.values()) == {1}


SOAKS = [
    pytest.param(Soak(500, "lookup", own_process=False), id="500-lookup"),
    pytest.param(Soak(5000, "lookup", own_process=True), id="5000-lookup", marks=pytest.mark.slow),
    pytest.param(Soak(5000, "auto", own_process=True), id="5000-auto", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("soak", SOAKS)
def test_run_under_faults_completes_proven_and_within_budget(soak: Soak, tmp_path: Path) -> None:
    """Under 5xx, 429, drops, short tokens and late events: every row final, every confirmation backed by its event,
    and at most 1.5x the requests of the same run without faults."""
    calm = soak_run(soak, tmp_path / "calm", faults={})
    stormy = soak_run(soak, tmp_path / "stormy", faults=FAULTS)

    injected = stormy.stats["faults"]
    for fault in ("server_error", "rate_limit", "dropped"):
        assert injected[fault] > 0, injected
    assert stormy.stats["tokens_issued"] > 1  # the 5-second token was renewed mid-run
    assert_complete(calm, soak)
    assert_complete(stormy, soak)
    ratio = stormy.stats["requests_total"] / calm.stats["requests_total"]
    assert ratio <= REQUEST_RATIO_LIMIT, (
        f"{ratio:.2f}x the fault-free requests: {stormy.stats['endpoints']} vs {calm.stats['endpoints']}"
    )


async def test_streaming_feed_delivers_each_event_once_despite_repeats_and_faults() -> None:
    """The streaming admin feed repeats and shuffles events and cuts pages short: read through faults, each event
    arrives exactly once and none is missed."""
    config = SimulatorConfig(users=300, seed=5, **{**WEATHER, "event_delay_seconds": 0}, short_page_share=0.3, **FAULTS)
    with serve(config) as sim:
        user_ids = [user.id for user in ordinary_people(sim.people, 200)]
        async with BoxClient(box_settings(sim.address, max_attempts=MAX_ATTEMPTS)) as client:
            for start in range(0, len(user_ids), 50):
                await client.terminate_sessions(user_ids=user_ids[start : start + 50])
            feed = [
                event.event_id
                async for event in client.iter_admin_events(
                    created_after=None, created_before=None, stream_type="admin_logs_streaming", page_size=40,
                    stream_position="0",
                )
            ]  # fmt: skip
        recorded = [event["event_id"] for event in sim.events()]
        stats = sim.stats()
    assert stats["endpoints"]["GET /2.0/events"]["200"] > len(recorded) // 40  # short pages: more pages than needed
    assert len(feed) == len(set(feed))
    assert set(feed) == set(recorded)
    assert len(recorded) == len(user_ids)
