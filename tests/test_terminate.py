"""Batching, bisection of refused batches, the 403 stop and durable outcomes, against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from box_offboarding.box.client import BoxClient
from box_offboarding.columns import ACCEPTED_SCHEMA, OUTCOME_SCHEMA
from box_offboarding.simulator import RunningSimulator, SimulatorConfig, run_simulator
from box_offboarding.terminate import (
    BatchOutcome,
    accepted_earlier,
    apply_outcomes,
    make_batches,
    settle_in_flight,
    terminate_users,
)
from helpers import box_settings, decided_rows, statuses

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


@pytest.fixture
async def client(simulator: RunningSimulator) -> AsyncIterator[BoxClient]:
    """A Box client talking to the session's simulator (which refuses batches naming an unknown user with 404)."""
    async with BoxClient(box_settings(simulator)) as box:
        yield box


def targets(ids: list[str]) -> pl.DataFrame:
    """Users to terminate, with made-up logins."""
    return pl.DataFrame({"box_user_id": ids, "login": [f"u{user_id}@example.com" for user_id in ids]})


def real_ids(sim: RunningSimulator, count: int) -> list[str]:
    """Ids of active, non-admin users of the simulated directory."""
    people = [user for user in sim.simulator.users if user.role == "user" and user.status == "active"]
    return [user.id for user in people[:count]]


@pytest.mark.parametrize(("count", "size", "expected"), [(0, 3, []), (5, 2, [2, 2, 1]), (6, 3, [3, 3]), (2, 100, [2])])
def test_make_batches_sizes(count: int, size: int, expected: list[int]) -> None:
    """Batches hold at most batch_size users and keep every user once."""
    batches = make_batches(targets([str(n) for n in range(count)]), batch_size=size)
    assert [len(batch) for batch in batches] == expected
    assert [user for batch in batches for user, _ in batch] == [str(n) for n in range(count)]


async def test_all_accepted_become_pending_and_every_call_is_recorded(
    simulator: RunningSimulator, client: BoxClient
) -> None:
    """25 users in batches of 10: three accepted requests, each recorded as an intent and then an answer."""
    recorded: list[BatchOutcome] = []
    ids = real_ids(simulator, 25)
    run = await terminate_users(client, targets(ids), batch_size=10, concurrency=3, record=recorded.append)
    assert sorted(run.outcomes.get_column("box_user_id").to_list()) == sorted(ids)
    assert set(run.outcomes.get_column("status").to_list()) == {"pending"}
    intents = [outcome for outcome in recorded if outcome.in_flight]
    answers = [outcome for outcome in recorded if not outcome.in_flight]
    assert len(intents) == len(answers) == 3
    assert {answer.settles for answer in answers} == {intent.request_id for intent in intents}
    assert all(answer.http_status == 202 for answer in answers)
    assert simulator.simulator.stats()["batches_accepted"] == 3


async def test_refused_batch_is_bisected_down_to_the_bad_users(simulator: RunningSimulator, client: BoxClient) -> None:
    """Two unknown ids among 16: only they fail, with Box's message; everyone else is accepted exactly once."""
    good = real_ids(simulator, 14)
    bad = ["999999901", "999999902"]
    ids = [*good[:5], bad[0], *good[5:11], bad[1], *good[11:]]
    run = await terminate_users(client, targets(ids), batch_size=16, concurrency=2, record=lambda _: None)
    statuses = dict(zip(run.outcomes.get_column("box_user_id"), run.outcomes.get_column("status"), strict=True))
    assert {user for user, status in statuses.items() if status == "failed"} == set(bad)
    assert {user for user, status in statuses.items() if status == "pending"} == set(good)
    reasons = run.outcomes.filter(pl.col("status") == "failed").get_column("reason").to_list()
    assert all("404" in reason for reason in reasons)
    per_user = simulator.simulator.stats()["terminations_per_user"]
    assert all(per_user[user] == 1 for user in good)


async def test_permission_refused_sends_nothing_more() -> None:
    """A 403 on the first batch stops the run: the other batches are never sent and are failed as unsent."""
    config = SimulatorConfig(users=50, service_account_role="user")
    with run_simulator(config) as sim:
        async with BoxClient(box_settings(sim)) as box:
            run = await terminate_users(box, targets(real_ids(sim, 30)), batch_size=5, concurrency=4,
                                        record=lambda _: None)  # fmt: skip
        posts = sim.simulator.stats()["endpoints"]["POST /2.0/users/terminate_sessions"]
    assert posts == {"403": 1}
    assert run.stopped_by is not None
    assert run.stopped_by.status == 403
    assert run.outcomes.height == 30
    assert set(run.outcomes.get_column("status").to_list()) == {"failed"}
    assert run.outcomes.filter(pl.col("reason").str.starts_with("not sent")).height == 25


async def test_progress_counts_every_user(simulator: RunningSimulator, client: BoxClient) -> None:
    """The progress callback adds up to the number of users."""
    seen: list[int] = []
    await terminate_users(client, targets(real_ids(simulator, 7)), batch_size=3, concurrency=2,
                          record=lambda _: None, progress=seen.append)  # fmt: skip
    assert sum(seen) == 7


def test_outcomes_reach_undecided_rows_of_their_user_only() -> None:
    """A user's outcome goes to its undecided rows; its duplicate row and users without an outcome are untouched."""
    rows = decided_rows(
        {"box_user_id": "1"}, {"box_user_id": "1", "status": "duplicate", "reason": "dup"}, {"box_user_id": "2"}
    )
    outcomes = pl.DataFrame(
        {"box_user_id": ["1"], "status": ["failed"], "reason": ["Box refused"], "request_id": ["r"],
         "requested_at": [T0]},
        schema=OUTCOME_SCHEMA,
    )  # fmt: skip
    applied = apply_outcomes(rows, outcomes)
    assert statuses(applied) == [("failed", "Box refused"), ("duplicate", "dup"), (None, None)]
    assert applied["request_id"].to_list() == ["r", None, None]


def test_users_accepted_earlier_are_pending_naming_the_run() -> None:
    """The ledger's pending users become pending outcomes saying which run Box accepted them in."""
    accepted = pl.DataFrame(
        {"box_user_id": ["7"], "login": ["g@x.com"], "request_id": ["r-1"], "run_id": ["20261128-ab"],
         "requested_at": [T0]},
        schema=ACCEPTED_SCHEMA,
    )  # fmt: skip
    assert accepted_earlier(accepted).rows() == [("7", "pending", "accepted in run 20261128-ab", "r-1", T0)]


def test_lost_answers_settle_by_what_the_events_prove() -> None:
    """Per lost request: proven users are recorded accepted (202), the rest unanswered so they are sent again;
    each settles its intent, from the time it was sent."""
    in_flight = pl.DataFrame(
        {
            "box_user_id": ["1", "2", "3"], "login": ["a@x.com", None, "c@x.com"],
            "request_id": ["intent-A", "intent-A", "intent-B"], "run_id": ["run"] * 3,
            "requested_at": [T0, T0, T0 + timedelta(seconds=5)],
        },
        schema=ACCEPTED_SCHEMA,
    )  # fmt: skip
    proven = pl.DataFrame({"box_user_id": ["2", "3"]})
    settled = settle_in_flight(in_flight, proven=proven, now=T0 + timedelta(minutes=1))
    verdicts = {(o.settles, o.user_ids, o.logins, o.http_status, o.sent_at) for o in settled}
    assert verdicts == {
        ("intent-A", ("1",), ("a@x.com",), None, T0),
        ("intent-A", ("2",), ("",), 202, T0),
        ("intent-B", ("3",), ("c@x.com",), 202, T0 + timedelta(seconds=5)),
    }
    assert all(o.attempts == 1 and not o.in_flight and o.request_id.startswith("recovered-") for o in settled)
    assert len({o.request_id for o in settled}) == 3
