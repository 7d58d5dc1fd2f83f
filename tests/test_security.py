"""Secrets stay secret, reports stay private, and a refused permission stops the run.

Each run sets recognisable secrets (the client secret, a developer token, the SMTP password) and then searches
everything it left for them: every log record at DEBUG (and a subprocess's stdout and stderr), every XML part of the
report, the ledger's bytes (WAL files included), and every exception of a failing run with its whole chain. The
bearer tokens the simulator issued during the run are searched for too.
"""

from __future__ import annotations

import asyncio
import logging
import stat
import subprocess
import traceback
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from box_offboarding.errors import BoxAuthError
from box_offboarding.outcome import RunOutcome
from box_offboarding.pipeline import run_offboarding
from box_offboarding.settings import Settings
from box_offboarding.simulator import RunningSimulator, SimulatorConfig, run_simulator
from box_offboarding.statuses import Status
from helpers import (
    AS_OF,
    OFFBOARD,
    box_settings,
    cli_environment,
    ordinary_people,
    run_settings,
    write_leavers_csv,
)

CLIENT_SECRET = "cs-CANARY-client-secret-7f3a9c2e"
WRONG_SECRET = "cs-CANARY-wrong-secret-0d5e8b1a"
SMTP_PASSWORD = "smtp-CANARY-password-4b1e6d90"
UNKNOWN_DEVELOPER_TOKEN = "dev-CANARY-never-issued-9c7d3e"
LEAVERS = 12

Haystacks = dict[str, bytes]


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    """A simulator that accepts :data:`CLIENT_SECRET`, fails some requests (so retries get logged) and hands out
    short tokens (so several are issued)."""
    config = SimulatorConfig(users=300, seed=9, client_secret=CLIENT_SECRET, event_delay_seconds=0, fault_rate=0.2,
                             drop_rate=0.05, token_lifetime_seconds=2)  # fmt: skip
    with run_simulator(config) as running:
        yield running


def issued_tokens(sim: RunningSimulator) -> list[str]:
    """Every bearer token the simulator issued (its private table: no public call lists them)."""
    return list(sim.simulator._tokens)


def leavers(sim: RunningSimulator, folder: Path) -> Path:
    return write_leavers_csv(folder / "leavers.csv", ordinary_people(sim.simulator.users, LEAVERS))


def secret_settings(
    sim: RunningSimulator, folder: Path, *, client_secret: str = CLIENT_SECRET, developer_token: str | None = None
) -> Settings:
    """Run settings carrying every secret: the client secret (or a developer token) and an SMTP login."""
    box = box_settings(sim, client_secret=client_secret, developer_token=developer_token, max_attempts=10)
    return run_settings(sim, folder, box=box, smtp_username="mailer", smtp_password=SMTP_PASSWORD,
                        confirm_timeout_seconds=10)  # fmt: skip


def log_haystacks(caplog: pytest.LogCaptureFixture) -> Haystacks:
    """Every captured record: its formatted text, its raw arguments and any exception it carries."""
    records = "\n".join(
        f"{record.getMessage()}|{record.args!r}|{record.exc_text or ''}|{record.__dict__!r}"
        for record in caplog.records
    )
    return {"log records": records.encode(), "log text": caplog.text.encode()}


def report_haystacks(report: Path) -> Haystacks:
    with zipfile.ZipFile(report) as archive:
        return {f"report {name}": archive.read(name) for name in archive.namelist()}


def ledger_haystacks(folder: Path) -> Haystacks:
    return {f"ledger file {path.name}": path.read_bytes() for path in folder.glob("ledger.sqlite*")}


def exception_haystacks(error: BaseException) -> Haystacks:
    """The exception as a person or a log would see it: message, repr, arguments, and the whole traceback chain."""
    chain = "".join(traceback.format_exception(error))
    return {"exception": f"{error}|{error!r}|{error.args!r}|{vars(error)!r}".encode(), "traceback": chain.encode()}


def leaks(secrets: list[str], haystacks: Mapping[str, bytes]) -> list[str]:
    """``secret in place`` for every secret found anywhere."""
    return [f"{secret} in {name}" for secret in secrets for name, blob in haystacks.items() if secret.encode() in blob]


def assert_owner_only(report: Path) -> None:
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert stat.S_IMODE(report.parent.stat().st_mode) & 0o077 == 0


def run(hr: Path, settings: Settings) -> RunOutcome:
    return asyncio.run(run_offboarding([hr], settings=settings, as_of=AS_OF))


# --- in-process runs --------------------------------------------------------------------------------------------


def test_client_credentials_run_leaks_no_secret_and_writes_a_private_report(
    sim: RunningSimulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A whole run through retries and token renewals: no secret or bearer token in logs, report, ledger, or the
    settings' and outcome's reprs; the report is owner-only."""
    caplog.set_level(logging.DEBUG)
    settings = secret_settings(sim, tmp_path)
    outcome = run(leavers(sim, tmp_path), settings)

    assert outcome.counts[Status.CONFIRMED.value] == LEAVERS
    assert sim.simulator.stats()["tokens_issued"] >= 1
    assert any("retrying" in record.getMessage() for record in caplog.records)  # the faults were logged
    haystacks = {
        **log_haystacks(caplog), **report_haystacks(outcome.report), **ledger_haystacks(tmp_path),
        "settings": f"{settings!r}|{settings}|{settings.model_dump()!r}|{settings.box!r}".encode(),
        "outcome": repr(outcome).encode(),
    }  # fmt: skip
    assert leaks([CLIENT_SECRET, SMTP_PASSWORD, *issued_tokens(sim)], haystacks) == []
    assert_owner_only(outcome.report)


def test_developer_token_run_leaks_no_token(
    sim: RunningSimulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A run on a developer token (a bearer token Box issued): it works, and the token appears nowhere."""
    caplog.set_level(logging.DEBUG)
    token = httpx.post(sim.token_url, data=sim.token_form).json()["access_token"]
    outcome = run(leavers(sim, tmp_path), secret_settings(sim, tmp_path, client_secret="", developer_token=token))

    assert outcome.counts[Status.CONFIRMED.value] == LEAVERS
    assert sim.simulator.stats()["tokens_issued"] == 1  # the one fetched above: the run used the developer token
    haystacks = {**log_haystacks(caplog), **report_haystacks(outcome.report), **ledger_haystacks(tmp_path)}
    assert leaks([token, SMTP_PASSWORD], haystacks) == []


@pytest.mark.parametrize(
    ("box", "secrets"),
    [
        pytest.param({"client_secret": WRONG_SECRET}, [WRONG_SECRET, CLIENT_SECRET], id="wrong-client-secret"),
        pytest.param({"developer_token": UNKNOWN_DEVELOPER_TOKEN}, [UNKNOWN_DEVELOPER_TOKEN], id="unknown-dev-token"),
    ],
)
def test_refused_credentials_fail_without_revealing_them(
    sim: RunningSimulator, tmp_path: Path, caplog: pytest.LogCaptureFixture, box: dict[str, str], secrets: list[str]
) -> None:
    """Box refuses the credentials: an auth error saying so, and neither the error (with its chain), the logs nor
    the ledger show any credential."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(BoxAuthError) as refused:
        run(leavers(sim, tmp_path), secret_settings(sim, tmp_path, **box))

    assert refused.value.status in (400, 401)
    haystacks = {**log_haystacks(caplog), **ledger_haystacks(tmp_path), **exception_haystacks(refused.value)}
    assert leaks([*secrets, SMTP_PASSWORD], haystacks) == []


# --- the command line ---------------------------------------------------------------------------------------------


def offboard(hr: Path, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """``offboard run`` under a umask that would let anyone read what it writes, unless it says otherwise."""
    args = [OFFBOARD, "run", str(hr), "--as-of", AS_OF.isoformat()]
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, timeout=300, check=False, umask=0)


@pytest.mark.parametrize(
    ("secret", "exit_code"),
    [pytest.param(CLIENT_SECRET, 0, id="accepted"), pytest.param(WRONG_SECRET, 1, id="refused")],
)
def test_command_line_prints_no_secret(sim: RunningSimulator, tmp_path: Path, secret: str, exit_code: int) -> None:
    """``offboard run`` with secrets in its environment, through retries or refused: stdout and stderr, the report and
    the ledger hold none of them; the report is owner-only even under umask 0."""
    env = cli_environment(sim, tmp_path, BOX_CLIENT_SECRET=secret, BOX_MAX_ATTEMPTS="10",
                          OFFBOARD_SMTP_USERNAME="mailer", OFFBOARD_SMTP_PASSWORD=SMTP_PASSWORD)  # fmt: skip
    result = offboard(leavers(sim, tmp_path), env, tmp_path)

    assert result.returncode == exit_code, result.stderr.decode()
    haystacks = {"stdout": result.stdout, "stderr": result.stderr, **ledger_haystacks(tmp_path)}
    if exit_code == 0:
        assert b"retrying" in result.stderr  # the faults were logged
        report = Path(result.stdout.decode().split("report: ")[1].split()[0])
        haystacks |= report_haystacks(report)
        assert_owner_only(report)
    else:
        assert b"invalid_client" in result.stderr
    assert leaks([CLIENT_SECRET, WRONG_SECRET, SMTP_PASSWORD, *issued_tokens(sim)], haystacks) == []


# --- a refused permission -----------------------------------------------------------------------------------------


def test_refused_permission_stops_before_anything_else_is_sent(tmp_path: Path) -> None:
    """The service account is no admin: the first batch gets 403 and nothing else is sent, not even an event read."""
    config = SimulatorConfig(users=300, seed=9, service_account_role="user", event_delay_seconds=0)
    with run_simulator(config) as sim:
        outcome = run(leavers(sim, tmp_path), run_settings(sim, tmp_path, batch_size=2, resolve_strategy="scan"))
        endpoints = sim.simulator.stats()["endpoints"]

    assert endpoints.pop("POST /2.0/users/terminate_sessions") == {"403": 1}
    assert set(endpoints) == {"POST /oauth2/token", "GET /2.0/users"}  # resolution, before the refusal
    assert outcome.aborted is not None
    assert "403" in outcome.aborted
    assert outcome.counts[Status.FAILED.value] == LEAVERS


def test_refused_permission_stops_before_reading_events_for_earlier_pending_users(tmp_path: Path) -> None:
    """An earlier run left users pending; the account has since lost admin: the 403 on the first batch stops the
    run with a report, and no admin-event read is sent after it."""
    directory = tmp_path / "directory.csv"
    people = "".join(f"{100 + n},person{n}@corp.example.com,Person {n},active,user\n" for n in range(20))
    directory.write_text("id,login,name,status,role\n" + people, encoding="utf-8")
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("Email\n" + "".join(f"person{n}@corp.example.com\n" for n in range(5)), encoding="utf-8")
    second.write_text("Email\n" + "".join(f"person{n}@corp.example.com\n" for n in range(10, 15)), encoding="utf-8")
    with run_simulator(SimulatorConfig(directory_path=directory, event_delay_seconds=3600)) as admin_sim:
        earlier = run(first, run_settings(admin_sim, tmp_path, confirm_timeout_seconds=0))
    assert earlier.counts[Status.PENDING.value] == 5

    demoted = SimulatorConfig(directory_path=directory, service_account_role="user")
    with run_simulator(demoted) as sim:
        outcome = run(second, run_settings(sim, tmp_path))
        endpoints = sim.simulator.stats()["endpoints"]
    assert "GET /2.0/events" not in endpoints
    assert outcome.aborted is not None
    assert "403" in outcome.aborted
