"""The ``offboard`` command as a user runs it: a real process, real HTTP to the simulator, exit codes, resume."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from box_offboarding.simulator import RunningSimulator, SimulatorConfig, run_simulator
from helpers import ordinary_people, write_leavers_csv

OFFBOARD = str(Path(sys.executable).parent / "offboard")


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    """3,000 generated users, a little latency so a run takes long enough to be interrupted."""
    with run_simulator(SimulatorConfig(users=3000, latency_ms=15, event_delay_seconds=0)) as running:
        yield running


def environment(sim: RunningSimulator, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The process environment a user would set: Box connection and where the ledger and reports go."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BOX_", "OFFBOARD_"))}
    env.update(
        sim.environment,
        BOX_BACKOFF_INITIAL_SECONDS="0",
        OFFBOARD_LEDGER_PATH=str(tmp_path / "ledger.sqlite"),
        OFFBOARD_REPORT_DIR=str(tmp_path / "reports"),
        OFFBOARD_CONFIRM_POLL_SECONDS="0.05",
        OFFBOARD_CONFIRM_TIMEOUT_SECONDS="5",  # events come at once here; also bounds the wait after a crash
    )
    env.update(extra)
    return env


def leavers_csv(sim: RunningSimulator, path: Path, count: int) -> Path:
    """A CSV of ``count`` leavers who are ordinary active users of the simulated directory."""
    return write_leavers_csv(path, ordinary_people(sim.simulator.users, count))


def offboard(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the console script to completion."""
    return subprocess.run([OFFBOARD, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("command", ["run", "plan", "simulate", "reconcile", "events", "demo"])
def test_help_describes_each_command(command: str) -> None:
    """--help works for every command and names its key options."""
    result = subprocess.run([OFFBOARD, command, "--help"], capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0
    expected = {
        "run": "--allow-large-run",
        "plan": "--protected",
        "simulate": "--rate-limit",
        "reconcile": "pending",
        "events": "--login",
        "demo": "--one-night",
    }[command]
    assert expected in result.stdout


def test_run_prints_summary_and_exits_zero(simulator: RunningSimulator, tmp_path: Path) -> None:
    """A clean run: exit 0, the summary table, the report path, and the report exists."""
    hr = leavers_csv(simulator, tmp_path / "leavers.csv", 5)
    result = offboard("run", str(hr), "--as-of", "2026-11-29", env=environment(simulator, tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "confirmed" in result.stdout
    report = Path(result.stdout.split("report: ")[1].split()[0])
    assert report.exists()


@pytest.mark.parametrize(
    ("args", "extra_env", "message"),
    [
        (["--as-of", "29/11/2026"], {}, "--as-of must be YYYY-MM-DD"),
        ([], {"OFFBOARD_BATCH_SIZE": "0"}, "batch_size"),
        ([], {"BOX_BASE_URL": "api.box.com"}, "must start with http"),
        ([], {"BOX_CLIENT_SECRET": ""}, "BOX_CLIENT_SECRET"),
        ([], {"OFFBOARD_TIMEZONE": "Mars/Olympus_Mons"}, "unknown timezone"),
        (["--protected", "/nonexistent/protected.txt"], {}, "protected list"),
    ],
)
def test_usage_and_configuration_errors_exit_two(
    simulator: RunningSimulator, tmp_path: Path, args: list[str], extra_env: dict[str, str], message: str
) -> None:
    """Bad flags or settings: exit 2 with a clear message, nothing sent to Box."""
    hr = leavers_csv(simulator, tmp_path / "leavers.csv", 3)
    env = environment(simulator, tmp_path, **extra_env)
    result = offboard("run", str(hr), *args, env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert simulator.simulator.stats()["batches_accepted"] == 0


def test_missing_input_file_exits_two(simulator: RunningSimulator, tmp_path: Path) -> None:
    """A file that does not exist is a usage error, not an empty run."""
    result = offboard("run", str(tmp_path / "nope.xlsx"), env=environment(simulator, tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.xlsx" in result.stderr


def test_killed_run_resumes_without_resending(simulator: RunningSimulator, tmp_path: Path) -> None:
    """SIGKILL during termination, then the same command again: no batch accepted twice, every row final."""
    hr = leavers_csv(simulator, tmp_path / "leavers.csv", 120)
    env = environment(simulator, tmp_path, OFFBOARD_BATCH_CONCURRENCY="1")
    args = ["run", str(hr), "--as-of", "2026-11-29", "--batch-size", "2", "--allow-large-run"]
    process = subprocess.Popen([OFFBOARD, *args], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while simulator.simulator.stats()["batches_accepted"] < 10 and process.poll() is None:
        assert time.monotonic() < deadline, "the run never reached the termination stage"
        time.sleep(0.02)  # waiting for the run to get there, not for time to pass
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    accepted_before_kill = simulator.simulator.stats()["batches_accepted"]
    assert accepted_before_kill < 60, "the run finished before it could be killed"

    rerun = offboard(*args, env=env, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "resumed run" in rerun.stdout
    per_user = simulator.simulator.stats()["terminations_per_user"]
    assert len(per_user) == 120
    assert set(per_user.values()) == {1}
    report = Path(rerun.stdout.split("report: ")[1].split()[0])
    book = openpyxl.load_workbook(report, read_only=True)  # holds the file open until closed
    try:
        sheet = book["Users"]
        header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
        statuses = [row[header.index("status")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    finally:
        book.close()
    assert len(statuses) == 120
    assert set(statuses) == {"confirmed"}


def test_events_lists_the_confirmation_type_after_a_termination(simulator: RunningSimulator, tmp_path: Path) -> None:
    """After one termination, `offboard events --login` shows the event type to put in the settings."""
    hr = leavers_csv(simulator, tmp_path / "one.csv", 1)
    env = environment(simulator, tmp_path)
    assert offboard("run", str(hr), "--as-of", "2026-11-29", env=env, cwd=tmp_path).returncode == 0
    login = hr.read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    result = offboard("events", "--hours", "1", "--login", login, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"TERMINATE_USER_SESSIONS\s*│\s*1\s*│", result.stdout), result.stdout


def test_reconcile_command_reports_pending(simulator: RunningSimulator, tmp_path: Path) -> None:
    """Users left pending (events not yet visible to the run) are confirmed by `offboard reconcile`, exit 0."""
    hr = leavers_csv(simulator, tmp_path / "l.csv", 3)
    lagging = environment(simulator, tmp_path, OFFBOARD_EVENT_LAG_SECONDS="3600")
    first = offboard("run", str(hr), "--as-of", "2026-11-29", "--confirm-timeout", "0", env=lagging, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    result = offboard("reconcile", env=environment(simulator, tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "pending before: 3; confirmed now: 3; still pending: 0" in result.stdout
