"""The whole offboarding run against the simulator over real HTTP: HR files in, statuses and report out."""

from __future__ import annotations

import asyncio
import csv
import socket
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from box_offboarding.errors import BoxAuthError
from box_offboarding.ledger import Ledger
from box_offboarding.outcome import RunOutcome
from box_offboarding.pipeline import run_offboarding
from box_offboarding.settings import Settings
from box_offboarding.simulator import RunningSimulator, SimulatorConfig, run_simulator
from helpers import box_settings, formula_cells, report_records, run_settings

AS_OF = date(2026, 11, 29)
DIRECTORY = [
    # id, login, name, status, role
    ("101", "ann.lee@corp.example.com", "Ann Lee", "active", "user"),
    ("102", "bob.ray@corp.example.com", "Bob Ray", "active", "user"),
    ("103", "cat.fox@corp.example.com", "Cat Fox", "active", "user"),
    ("104", "dan.oak@corp.example.com", "Dan Oak", "inactive", "user"),
    ("105", "eve.admin@corp.example.com", "Eve Admin", "active", "admin"),
    ("106", "fay.co@corp.example.com", "Fay Co", "active", "coadmin"),
    ("107", "gus.vip@corp.example.com", "Gus Vip", "active", "user"),
    ("108", "hal.later@corp.example.com", "Hal Later", "active", "user"),
    ("109", "ivy.twice@corp.example.com", "Ivy Twice", "active", "user"),
    ("110", "jon.csv@corp.example.com", "Jon Csv", "cannot_delete_edit", "user"),
    ("111", "ann.lee@corp.example.com.au", "Ann Lee AU", "active", "user"),
    *[(str(200 + n), f"staff{n}@corp.example.com", f"Staff {n}", "active", "user") for n in range(40)],
]


def write_directory(path: Path) -> Path:
    """The simulator's users as a CSV (id,login,name,status,role)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "login", "name", "status", "role"])
        writer.writerows(DIRECTORY)
    return path


def write_workday(path: Path) -> Path:
    """A Workday-style export: README sheet, title rows above the header, a footer, injection text."""
    book = openpyxl.Workbook()
    readme = book.active
    assert readme is not None
    readme.title = "README"
    readme.append(["This report lists terminated workers."])
    sheet = book.create_sheet("Leavers")
    sheet.append(["Terminations report"])  # row 1
    sheet.merge_cells("A1:D1")
    sheet.append(["Generated 2026-11-28 by Workday"])  # row 2
    sheet.append([])  # row 3
    sheet.append(["Worker", "Employee ID", "Primary Work Email", "Last Day of Work"])  # row 4
    sheet.append(["Ann Lee", "E1", "  Ann.Lee@corp.example.com ", date(2026, 11, 20)])  # row 5 -> confirmed
    sheet.append(['=HYPERLINK("http://evil","x")', "E2", "bob.ray@corp.example.com", date(2026, 11, 21)])  # 6
    sheet.append(["Nobody", "E3", "nobody@corp.example.com", date(2026, 11, 21)])  # row 7 -> not_found
    sheet.append(["Dan Oak", "E4", "dan.oak@corp.example.com", date(2026, 11, 21)])  # row 8 -> skipped
    sheet.append(["Eve Admin", "E5", "eve.admin@corp.example.com", date(2026, 11, 21)])  # row 9 -> protected
    sheet.append(["Hal Later", "E6", "hal.later@corp.example.com", date(2026, 12, 31)])  # row 10 -> deferred
    sheet.append(["+1", "-2", "ivy.twice@corp.example.com", date(2026, 11, 1)])  # row 11 -> confirmed
    sheet.append(["@SUM(A1)", "E8", "not-an-email", date(2026, 11, 1)])  # row 12 -> invalid
    sheet.append(["Total 8"])  # row 13: footer, not data
    for cell in ("A6", "A11", "B11", "A12"):
        sheet[cell].data_type = "s"  # HR's text, not a formula openpyxl would otherwise write
    book.save(path)
    return path


def write_bamboo_csv(path: Path) -> Path:
    """A BambooHR-style CSV: UTF-8 BOM, US dates, a duplicate of a workbook row."""
    lines = [
        "Employee #,Name,Work Email,Termination Date",
        "E9,Ivy Twice,IVY.TWICE@corp.example.com,11/02/2026",  # line 2 -> duplicate
        "E10,Fay Co,fay.co@corp.example.com,11/02/2026",  # line 3 -> protected (coadmin)
        "E11,Gus Vip,gus.vip@corp.example.com,11/02/2026",  # line 4 -> protected (list)
        "E12,Jon Csv,jon.csv@corp.example.com,11/28/2026",  # line 5 -> confirmed
        "E13,Cat Fox,cat.fox@corp.example.com,12/01/2026",  # line 6 -> deferred
        "E14,Cat Fox,cat.fox@corp.example.com,11/01/2026",  # line 7 -> duplicate (first one deferred)
    ]
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


EXPECTED = {
    ("workday.xlsx", 5): "confirmed",
    ("workday.xlsx", 6): "confirmed",
    ("workday.xlsx", 7): "not_found",
    ("workday.xlsx", 8): "skipped",
    ("workday.xlsx", 9): "protected",
    ("workday.xlsx", 10): "deferred",
    ("workday.xlsx", 11): "confirmed",
    ("workday.xlsx", 12): "invalid",
    ("bamboo.csv", 2): "duplicate",
    ("bamboo.csv", 3): "protected",
    ("bamboo.csv", 4): "protected",
    ("bamboo.csv", 5): "confirmed",
    ("bamboo.csv", 6): "deferred",
    ("bamboo.csv", 7): "duplicate",
}
PROTECTED = ("gus.vip@corp.example.com",)  # the protected list: Gus Vip is never terminated


@pytest.fixture(scope="module")
def directory_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    """A simulator with the test directory and termination events visible at once, for this module."""
    config = SimulatorConfig(
        directory_path=write_directory(tmp_path_factory.mktemp("directory") / "directory.csv"),
        event_delay_seconds=0,
    )
    with run_simulator(config) as running:
        yield running


@pytest.fixture
def simulator(directory_simulator: RunningSimulator) -> RunningSimulator:
    """The module's simulator as new (:meth:`Simulator.reset`), instead of the session's: the test directory."""
    directory_simulator.simulator.reset()
    return directory_simulator


def hr_files(tmp_path: Path) -> list[Path]:
    """The workbook, the CSV and a corrupt file, in that order."""
    corrupt = tmp_path / "corrupt.xlsx"
    corrupt.write_bytes(b"PK\x03\x04 this is not really a workbook")
    return [write_workday(tmp_path / "workday.xlsx"), write_bamboo_csv(tmp_path / "bamboo.csv"), corrupt]


def run(paths: list[Path], settings: Settings) -> RunOutcome:
    """One offboarding run, as the CLI does it."""
    return asyncio.run(run_offboarding(paths, settings=settings, as_of=AS_OF))


def report_rows(path: Path) -> dict[tuple[str, int], dict[str, object]]:
    """The report's Users sheet keyed by (file, row)."""
    return {(str(record["file"]), int(str(record["row"]))): record for record in report_records(path)}


def test_every_row_gets_its_status_in_the_report(simulator: RunningSimulator, tmp_path: Path) -> None:
    """Each HR row ends with the status its case calls for; the corrupt file is listed; no formula anywhere."""
    outcome = run(hr_files(tmp_path), run_settings(simulator, tmp_path, protected_logins=PROTECTED))
    rows = report_rows(outcome.report)
    assert {key: record["status"] for key, record in rows.items()} == EXPECTED
    assert outcome.exit_code == 1  # the corrupt file could not be read
    assert "corrupt.xlsx" in outcome.errors.get_column("file").to_list()
    assert formula_cells(outcome.report) == []
    assert rows[("workday.xlsx", 6)]["name"] == '=HYPERLINK("http://evil","x")'
    assert str(rows[("bamboo.csv", 2)]["reason"]) == "duplicate of workday.xlsx sheet 'Leavers' row 11"
    confirmed = rows[("workday.xlsx", 5)]
    assert confirmed["event_id"]
    assert confirmed["confirmed_at"]
    assert confirmed["request_id"]


def test_each_user_terminated_once_in_one_batch(simulator: RunningSimulator, tmp_path: Path) -> None:
    """Duplicates are not sent twice; the four users to terminate go in one request."""
    run(hr_files(tmp_path), run_settings(simulator, tmp_path, protected_logins=PROTECTED))
    stats = simulator.simulator.stats()
    assert stats["terminations_per_user"] == {"101": 1, "102": 1, "109": 1, "110": 1}
    assert stats["batches_accepted"] == 1


def test_second_run_skips_users_already_confirmed(simulator: RunningSimulator, tmp_path: Path) -> None:
    """Idempotent: a rerun sends nothing and says when each user was confirmed."""
    settings = run_settings(simulator, tmp_path, protected_logins=PROTECTED)
    first = run(hr_files(tmp_path), settings)
    second = run(hr_files(tmp_path), settings)
    rows = report_rows(second.report)
    assert rows[("workday.xlsx", 5)]["status"] == "skipped"
    assert str(rows[("workday.xlsx", 5)]["reason"]).startswith(f"already confirmed in run {first.run_id} on ")
    assert simulator.simulator.stats()["batches_accepted"] == 1


def test_dry_run_plans_and_sends_nothing(simulator: RunningSimulator, tmp_path: Path) -> None:
    """A dry run resolves everyone but never calls terminate_sessions."""
    outcome = run(hr_files(tmp_path)[:2], run_settings(simulator, tmp_path, protected_logins=PROTECTED, dry_run=True))
    statuses = {key: record["status"] for key, record in report_rows(outcome.report).items()}
    assert statuses == {key: "planned" if value == "confirmed" else value for key, value in EXPECTED.items()}
    assert simulator.simulator.stats()["batches_accepted"] == 0
    assert outcome.exit_code == 0


def test_blast_radius_guard_stops_before_sending(simulator: RunningSimulator, tmp_path: Path) -> None:
    """More users than max_users: nothing sent, the plan is reported, the run says why and exits 1."""
    outcome = run(hr_files(tmp_path)[:2], run_settings(simulator, tmp_path, protected_logins=PROTECTED, max_users=3))
    assert simulator.simulator.stats()["batches_accepted"] == 0
    assert outcome.aborted is not None
    assert "max_users=3" in outcome.aborted
    planned = [record for record in report_rows(outcome.report).values() if record["status"] == "planned"]
    assert len(planned) == 4
    assert all("not sent" in str(record["reason"]) for record in planned)
    assert outcome.exit_code == 1


def test_blast_radius_share_of_directory(simulator: RunningSimulator, tmp_path: Path) -> None:
    """Four of 51 users is over a 5% share; allow_large_run lifts the guard."""
    stopped = run(hr_files(tmp_path)[:2], run_settings(simulator, tmp_path, protected_logins=PROTECTED, max_share=0.05))
    assert stopped.aborted is not None
    assert "of the 51-user directory" in stopped.aborted
    allowed = run(
        hr_files(tmp_path)[:2],
        run_settings(simulator, tmp_path, protected_logins=PROTECTED, max_share=0.05, allow_large_run=True),
    )
    assert allowed.aborted is None
    assert allowed.counts["confirmed"] == 4


@pytest.mark.parametrize("strategy", ["lookup", "scan"])
def test_both_resolution_strategies_agree(simulator: RunningSimulator, tmp_path: Path, strategy: str) -> None:
    """Exact-match lookups and a directory scan give the same statuses (prefix matches are not matches)."""
    outcome = run(
        hr_files(tmp_path)[:2], run_settings(simulator, tmp_path, protected_logins=PROTECTED, resolve_strategy=strategy)
    )
    statuses = {key: record["status"] for key, record in report_rows(outcome.report).items()}
    assert statuses == EXPECTED
    calls = simulator.simulator.stats()["endpoints"]["GET /2.0/users"]["200"]
    assert calls == (1 + 8 if strategy == "lookup" else 1 + 1)  # the size probe, then 8 lookups or one page


def test_permission_refused_stops_after_the_first_batch(tmp_path: Path) -> None:
    """A 403 on the first batch: nothing else is sent, every user to terminate is failed, exit 1."""
    config = SimulatorConfig(directory_path=write_directory(tmp_path / "d.csv"), service_account_role="user")
    with run_simulator(config) as sim:
        outcome = run(hr_files(tmp_path)[:2], run_settings(sim, tmp_path, protected_logins=PROTECTED, batch_size=1))
        posts = sim.simulator.stats()["endpoints"]["POST /2.0/users/terminate_sessions"]
    assert posts == {"403": 1}
    assert outcome.counts["failed"] == 4
    assert outcome.aborted is not None
    assert "403" in outcome.aborted
    assert outcome.exit_code == 1


class ShiftedClock:
    """Wall-clock time plus an offset the test moves, so the simulator's events can be made to lie in the past."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def __call__(self) -> float:
        return time.time() + self.offset


def test_relogin_after_termination_is_flagged(tmp_path: Path) -> None:
    """Everyone signs in again a second after being cut off: the next run flags it on their (skipped) rows."""
    clock = ShiftedClock(-3.0)
    config = SimulatorConfig(
        directory_path=write_directory(tmp_path / "d.csv"), event_delay_seconds=0, relogin_share=1.0,
        relogin_after_seconds=1,
    )  # fmt: skip
    with run_simulator(config, clock=clock) as sim:
        settings = run_settings(sim, tmp_path, protected_logins=PROTECTED)
        first = run(hr_files(tmp_path)[:2], settings)
        clock.offset = 0.0  # three seconds pass for Box: the sign-ins have happened
        second = run(hr_files(tmp_path)[:2], settings)
    assert first.counts["confirmed"] == 4
    rows = report_rows(second.report)
    flagged = {key for key, record in rows.items() if record["relogin_after_termination"] is not None}
    assert flagged == {key for key, status in EXPECTED.items() if status == "confirmed"}
    assert isinstance(rows[("workday.xlsx", 5)]["relogin_after_termination"], datetime)


def test_delivery_failure_is_reported_and_keeps_report_and_ledger(simulator: RunningSimulator, tmp_path: Path) -> None:
    """Email to a server that is not there: the run says so and exits 1, the report and ledger are intact."""
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = run_settings(
        simulator, tmp_path, protected_logins=PROTECTED, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
        mail_from="offboarding@corp.example.com", mail_to=("security@corp.example.com",),
    )  # fmt: skip
    outcome = run(hr_files(tmp_path)[:2], settings)
    assert [result.channel for result in outcome.failed_deliveries] == ["email"]
    assert outcome.exit_code == 1
    assert any(note.startswith("delivery by email failed") for note in outcome.notes)
    assert outcome.report.exists()
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        assert ledger.runs().get_column("status").to_list() == ["failed"]
        assert ledger.confirmed().height == 4


def test_a_run_that_raises_is_marked_failed_in_the_ledger(simulator: RunningSimulator, tmp_path: Path) -> None:
    """Refused credentials raise a clear error, and the ledger says the run failed (not forever "running")."""
    refused = box_settings(simulator, client_secret="not-the-secret")
    wrong = run_settings(simulator, tmp_path, box=refused, protected_logins=PROTECTED)
    with pytest.raises(BoxAuthError):
        run(hr_files(tmp_path)[:2], wrong)
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        runs = ledger.runs()
    assert runs.get_column("status").to_list() == ["failed"]
    assert "BoxAuthError" in str(runs.get_column("summary")[0])
