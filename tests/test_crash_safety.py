"""Crash safety: ``offboard run`` killed with SIGKILL at seeded random points of each stage, then run again.

A trial picks a stage and a seeded random point in it, watches the simulator (or the report folder) until the run
gets there, kills it, checks the ledger it left, reruns the same command to completion and checks what a person
relies on: the ledger is sound and has nothing left in flight, no batch Box accepted was sent again, every input
row is in the final report with a final status, and every file named like a report is a complete workbook.

Settings stretch each stage so a point inside it can be hit: 20 ms latency per request, lookups four at a time,
batches of two sent one at a time, admin events late (3 s, to sit in reconciliation), and 3,000 duplicate rows
(no Box call) that make the report long enough to be caught while it is written.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from box_offboarding.box.client import BoxClient
from box_offboarding.ledger import Ledger, run_key
from box_offboarding.pipeline import RunContext, StageWrapper, report_stage, run_offboarding
from box_offboarding.simulator import RunningSimulator, SimulatorConfig
from box_offboarding.statuses import Status
from helpers import (
    AS_OF,
    OFFBOARD,
    Served,
    box_settings,
    cli_environment,
    ordinary_people,
    report_records,
    run_settings,
    serve,
    write_leavers_csv,
)

LEAVERS = 80
BATCH_SIZE = 2
BATCHES = LEAVERS // BATCH_SIZE
FILLER_ROWS = 3000
STAGES = ("resolution", "termination", "reconciliation", "report")
FINAL_STATUSES = frozenset(Status) - {Status.PENDING, Status.PLANNED}
KILL_DEADLINE_SECONDS = 120


@dataclass(frozen=True)
class Trial:
    stage: str
    seed: int

    def __str__(self) -> str:
        return f"{self.stage}-{self.seed}"


def trials(seeds: range, *, slow: bool) -> list[Any]:
    marks = [pytest.mark.slow] if slow else []
    return [pytest.param(Trial(stage, seed), id=str(Trial(stage, seed)), marks=marks) for seed in seeds
            for stage in STAGES]  # fmt: skip


@pytest.fixture
def sim(request: pytest.FixtureRequest) -> Iterator[Served]:
    """2,000 users answering after 20 ms; events 3 s late when the trial is to sit in reconciliation."""
    trial: Trial = request.node.callspec.params["trial"]
    delay = 3.0 if trial.stage == "reconciliation" else 0.3
    with serve(SimulatorConfig(users=2000, seed=3, latency_ms=20, event_delay_seconds=delay)) as served:
        yield served


def endpoint_calls(stats: dict[str, Any], endpoint: str) -> int:
    return sum(stats["endpoints"].get(endpoint, {}).values())


def temp_files(reports: Path) -> list[Path]:
    return [path for path in reports.glob(".*.tmp")] if reports.is_dir() else []


def kill_point(trial: Trial, sim: Served, reports: Path) -> Callable[[], bool]:
    """When the run has reached the trial's (seeded, random) point."""
    rng = random.Random(str(trial))
    if trial.stage == "resolution":
        lookups = rng.randint(2, LEAVERS // 2)
        return lambda: endpoint_calls(sim.stats(), "GET /2.0/users") >= lookups
    if trial.stage == "termination":
        batches = rng.randint(1, BATCHES * 3 // 4)
        return lambda: sim.stats()["batches_accepted"] >= batches
    if trial.stage == "reconciliation":
        polls = rng.randint(1, 20)
        return lambda: endpoint_calls(sim.stats(), "GET /2.0/events") >= polls
    return lambda: bool(temp_files(reports))


def kill_when(process: subprocess.Popen[bytes], reached: Callable[[], bool], *, trial: Trial) -> None:
    deadline = time.monotonic() + KILL_DEADLINE_SECONDS
    while not reached():
        assert process.poll() is None, f"the run ended (exit {process.returncode}) before the {trial.stage} point"
        assert time.monotonic() < deadline, f"the run never reached the {trial.stage} point"
        time.sleep(0.002)  # waiting for the run to get there, not for time to pass
    process.kill()
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def ledger_query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(sql).fetchall()


def assert_ledger_sound(path: Path) -> None:
    assert ledger_query(path, "PRAGMA integrity_check") == [("ok",)]
    assert ledger_query(path, "PRAGMA foreign_key_check") == []


def assert_killed_in_stage(trial: Trial, sim: Served, folder: Path) -> None:
    """The kill landed where the trial meant it to (else the trial proves something else)."""
    stats = sim.stats()
    ledger = folder / "ledger.sqlite"
    running = ledger_query(ledger, "SELECT count(*) FROM runs WHERE status = 'running'")
    assert running == [(1,)], "the run had already finished"
    if trial.stage == "resolution":
        assert endpoint_calls(stats, "POST /2.0/users/terminate_sessions") == 0
    elif trial.stage == "termination":
        assert 0 < stats["batches_accepted"] < BATCHES
    elif trial.stage == "reconciliation":
        assert stats["batches_accepted"] == BATCHES
        assert ledger_query(ledger, "SELECT count(*) FROM confirmations") == [(0,)]
    else:
        assert ledger_query(ledger, "SELECT count(*) FROM confirmations") == [(LEAVERS,)]
        reports = folder / "reports"
        assert temp_files(reports), "the kill did not land while the report was being written"
        assert not list(reports.glob("*.xlsx"))


def assert_reports_complete(reports: Path) -> None:
    """Every file named like a report opens as a whole workbook; anything else is a hidden temp file."""
    for path in reports.iterdir():
        if path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path)
            assert book.sheetnames == ["Attention", "Summary", "Users", "Errors"], path
        else:
            assert path.name.startswith("."), f"unexpected file {path.name}"
            assert path.name.endswith(".tmp"), f"unexpected file {path.name}"


def assert_final_report(report: Path, *, run_id: str) -> None:
    """Every input row, each with a final status: leavers terminated by this run (confirmed, or already confirmed
    by it before the kill), the filler rows duplicates."""
    records = report_records(report)
    assert len(records) == LEAVERS + FILLER_ROWS
    assert {record["status"] for record in records} <= {status.value for status in FINAL_STATUSES}
    leavers = [record for record in records if record["status"] != Status.DUPLICATE.value]
    assert len(leavers) == LEAVERS
    for record in leavers:
        confirmed = record["status"] == Status.CONFIRMED.value and record["event_id"]
        confirmed_before_kill = record["status"] == Status.SKIPPED.value and str(record["reason"]).startswith(
            f"already confirmed in run {run_id}"
        )
        assert confirmed or confirmed_before_kill, record


def leavers_file(sim: Served, folder: Path) -> Path:
    people = ordinary_people(sim.people, LEAVERS)
    filler = [f"{people[n % LEAVERS].login},Again {n},2026-11-01" for n in range(FILLER_ROWS)]
    return write_leavers_csv(folder / "leavers.csv", people, extra_lines=filler)


@pytest.mark.parametrize("trial", [*trials(range(1, 2), slow=False), *trials(range(2, 6), slow=True)])
def test_killed_run_reruns_to_a_sound_ledger_and_complete_report(trial: Trial, sim: Served, tmp_path: Path) -> None:
    """SIGKILL at a random point of a stage, then the same command again: sound ledger, nothing in flight, no batch
    sent twice, every row final in the report, no partial file passing for a report."""
    hr = leavers_file(sim, tmp_path)
    env = cli_environment(
        sim.address, tmp_path, BOX_MAX_IN_FLIGHT="4", OFFBOARD_BATCH_CONCURRENCY="1",
        OFFBOARD_RESOLVE_STRATEGY="lookup", OFFBOARD_CONFIRM_TIMEOUT_SECONDS="60",
    )  # fmt: skip
    args = [OFFBOARD, "run", str(hr), "--as-of", AS_OF.isoformat(), "--batch-size", str(BATCH_SIZE)]
    reports = tmp_path / "reports"
    process = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kill_when(process, kill_point(trial, sim, reports), trial=trial)
    assert_killed_in_stage(trial, sim, tmp_path)
    ledger = tmp_path / "ledger.sqlite"
    assert_ledger_sound(ledger)

    rerun = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "resumed run" in rerun.stdout
    assert_ledger_sound(ledger)
    assert ledger_query(ledger, "SELECT count(*) FROM requests WHERE attempts = 0") == [(0,)]
    ((run_id, status),) = ledger_query(ledger, "SELECT run_id, status FROM runs")
    assert status == "succeeded"
    per_user = sim.stats()["terminations_per_user"]
    assert len(per_user) == LEAVERS
    assert set(per_user.values()) == {1}
    assert_reports_complete(reports)
    assert_final_report(Path(rerun.stdout.split("report: ")[1].split()[0]), run_id=run_id)


# --- the same crashes, staged in-process where a subprocess cannot hit them on purpose -------------------------


class CrashBefore(BaseException):
    """Stands for the process dying: raised before a stage runs, after everything earlier was committed. A
    BaseException, as nothing in the product catches it: a killed process runs no handler either."""


def crashing_before(stage_to_crash: Callable[..., Any]) -> StageWrapper:
    """A stage wrapper that dies instead of running ``stage_to_crash``."""

    def wrap(stage: Callable[..., Any], /) -> Callable[..., Any]:
        if stage is not stage_to_crash:
            return stage

        def crash(*args: Any, **kwargs: Any) -> Any:
            raise CrashBefore(stage.__name__)

        return crash

    return wrap


def test_run_resumed_after_dying_before_its_report_reports_its_users_confirmed(
    simulator: RunningSimulator, tmp_path: Path
) -> None:
    """Killed after reconciliation, before the report: the resumed run's report says confirmed, not skipped."""
    hr = write_leavers_csv(tmp_path / "leavers.csv", ordinary_people(simulator.simulator.users, 5))
    settings = run_settings(simulator, tmp_path)
    with pytest.raises(CrashBefore):
        asyncio.run(run_offboarding([hr], settings=settings, as_of=AS_OF, stage=crashing_before(report_stage)))
    resumed = asyncio.run(run_offboarding([hr], settings=settings, as_of=AS_OF))
    assert any(note.startswith("resumed run") for note in resumed.notes)
    records = report_records(resumed.report)
    assert [record["status"] for record in records] == [Status.CONFIRMED.value] * 5
    assert all(record["event_id"] and record["requested_at"] for record in records)


async def box_accepts_then_dies(sim: Served, settings: Any, hr: Path, user_ids: list[str]) -> None:
    """What a kill between Box's 202 and the ledger's record of it leaves: an open run with an intent, and a job
    Box accepted."""
    with Ledger(settings.ledger_path) as ledger:
        context = RunContext(settings=settings, as_of=AS_OF, run_id="20261129-crashed0", started_at=datetime.now(UTC))
        ledger.start_run(
            run_id=context.run_id, run_key=run_key([hr], as_of=AS_OF, dry_run=False), as_of=AS_OF, dry_run=False,
            started_at=context.started_at, settings={},
        )  # fmt: skip
        ledger.record_intent(run_id=context.run_id, intent_id="intent-lost", user_ids=user_ids,
                             logins=[""] * len(user_ids), sent_at=datetime.now(UTC))  # fmt: skip
    async with BoxClient(box_settings(sim.address)) as client:
        answer = await client.terminate_sessions(user_ids=user_ids)
    assert answer.status == 202


def test_batch_accepted_before_a_crash_is_not_sent_again_while_its_event_is_late(tmp_path: Path) -> None:
    """The answer to an accepted batch was lost in a crash and Box's event is 1 s late: the rerun waits for the
    event (within confirm_timeout) instead of sending the batch again."""
    with serve(SimulatorConfig(users=200, seed=3, event_delay_seconds=1.0)) as sim:
        people = ordinary_people(sim.people, 4)
        hr = write_leavers_csv(tmp_path / "leavers.csv", people)
        settings = run_settings(sim.address, tmp_path, confirm_timeout_seconds=10)
        asyncio.run(box_accepts_then_dies(sim, settings, hr, [user.id for user in people]))
        resumed = asyncio.run(run_offboarding([hr], settings=settings, as_of=AS_OF))
        per_user = sim.stats()["terminations_per_user"]
    assert resumed.counts[Status.CONFIRMED.value] == 4
    assert per_user == {user.id: 1 for user in people}
