"""The approval step as an IT admin meets it in the Prefect UI: a live run of manual-offboarding (prefect.yaml makes
it wait, OFFBOARD_APPROVAL=always) started with ``prefect deployment run``, executed by a process worker against a
Box simulator, seen Paused with its plan in headless Chromium, and answered through the UI's Resume form.

Screenshots of the paused run, the filled-in form and the finished run go to reports/screenshots/."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from box_offboarding.simulator import SimulatorConfig
from helpers import Served, cli_environment, ordinary_people, serve, write_leavers_csv
from test_deployments import PREFECT, ROOT, PrefectServer, flow_run, prefect_server
from test_prefect_ui import SCREENSHOTS, browser

__all__ = ["browser", "prefect_server"]  # module-scoped fixtures shared with the other server and browser tests

pytestmark = pytest.mark.browser

TERMINATE = "POST /2.0/users/terminate_sessions"
#: How long a run may take to reach a state (worker start-up and the flow's imports dominate: ~20 s here).
STATE_TIMEOUT_SECONDS = 120.0
LEAVERS = 3
RESULT_ARTIFACTS = ("offboarding-summary", "offboarding-attention", "offboarding-report")


@pytest.fixture(scope="module")
def box() -> Iterator[Served]:
    """One Box simulator for the module; each case takes other leavers and compares counts before and after."""
    with serve(SimulatorConfig(users=60, event_delay_seconds=0)) as sim:
        yield sim


def start_live_run(server: PrefectServer, hr: Path) -> str:
    """``prefect deployment run`` of manual-offboarding with Dry run off, as an admin would; the new run's id."""
    printed = server.prefect("deployment", "run", "offboard/manual-offboarding", "--param", "dry_run=false",
                             "--param", f'inputs=["{hr}"]')  # fmt: skip
    found = re.search(r"UUID: ([0-9a-f-]{36})", printed)
    assert found, printed[-3000:]
    return found.group(1)


def start_worker(server: PrefectServer, sim: Served, folder: Path) -> subprocess.Popen[str]:
    """``prefect worker start --run-once`` on the offboarding pool, its runs pointed at ``sim`` and uploading the
    report to Box folder 0; it blocks while the run waits for approval."""
    environment = {
        **cli_environment(sim.address, folder, OFFBOARD_MAX_SHARE="1", OFFBOARD_APPROVAL_POLL_SECONDS="1",
                          OFFBOARD_BOX_FOLDER_ID="0"),
        **{key: server.environment[key] for key in ("PYTHONPATH", "PREFECT_HOME", "PREFECT_API_URL")},
    }  # fmt: skip
    return subprocess.Popen([PREFECT, "worker", "start", "--pool", "offboarding", "--run-once"], cwd=ROOT,
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip


def wait_for_state(server: PrefectServer, run_id: str, worker: subprocess.Popen[str], wanted: str) -> dict[str, Any]:
    """The flow run once its state type is ``wanted``; a failure with the worker's output if it ends elsewhere or
    the worker exits first."""
    deadline = time.monotonic() + STATE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        run = flow_run(server, run_id)
        if run["state_type"] == wanted:
            return run
        if run["state_type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} or worker.poll() is not None:
            break
        try:  # the pause between polls, cut short if the worker exits
            worker.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            continue
    worker.kill()
    output, _ = worker.communicate(timeout=30)
    pytest.fail(f"run {run_id} is {run['state_type']} ({run['state']['message']}), not {wanted}:\n{output[-4000:]}")


def artifacts_of(server: PrefectServer, run_id: str) -> dict[str, dict[str, Any]]:
    """The run's artifacts by key, the latest version of each (a resumed run publishes its plan again)."""
    with server.api() as api:
        found = api.post(
            "/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [run_id]}}, "sort": "CREATED_DESC"}
        )
    newest_first = found.raise_for_status().json()
    return {artifact["key"]: artifact for artifact in reversed(newest_first) if artifact["key"]}


def terminate_calls(sim: Served) -> int:
    """terminate_sessions requests Box received so far, whatever it answered."""
    return sum(sim.stats()["endpoints"].get(TERMINATE, {}).values())


def screenshot(page: Any, name: str) -> None:
    """Save the page for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"approval-{name}.png"), full_page=True)


def open_paused_run(browser: Any, server: PrefectServer, run_id: str, case: str) -> Any:
    """The flow run page, showing Paused and the plan artifact in its Artifacts tab; screenshot saved."""
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(f"{server.url}/runs/flow-run/{run_id}")
    page.get_by_text("Suspended", exact=True).first.wait_for(timeout=60_000)
    page.locator("li.p-tab#artifacts").click()
    page.get_by_text("offboarding-plan").first.wait_for(timeout=30_000)
    screenshot(page, f"{case}-paused")
    return page


def form_field(dialog: Any, title: str) -> Any:
    """The schema form's property whose label starts with ``title`` (the UI adds " (Optional)")."""
    return dialog.locator(".schema-form-property").filter(has_text=title)


def answer_through_resume_form(page: Any, *, approve: bool, case: str) -> None:
    """Click Resume, fill in the approval form (the switch turned on only when approving), submit it."""
    page.get_by_role("button", name="Resume").click()
    dialog = page.locator(".p-modal__card").filter(has_text="Resume Flow Run")
    switch = form_field(dialog, "Approve: terminate the sessions listed in the plan").get_by_role("switch")
    switch.wait_for(timeout=30_000)
    if approve:
        switch.click()
    assert switch.get_attribute("aria-checked") == str(approve).lower()
    form_field(dialog, "Your name").locator("textarea").fill("Jane Admin")
    form_field(dialog, "Comment (why, ticket number)").locator("textarea").fill("ticket 42")
    screenshot(page, f"{case}-resume-form")
    dialog.get_by_role("button", name="Submit").click()
    dialog.wait_for(state="hidden", timeout=30_000)


@pytest.mark.parametrize("approve", [True, False], ids=["approved", "rejected"])
def test_a_live_run_waits_and_the_resume_form_decides(
    browser: Any, prefect_server: PrefectServer, box: Served, tmp_path: Path, approve: bool
) -> None:
    """Paused with the plan until a person answers in the UI; approved: Completed with summary, attention table and a
    report link that opens, the leavers terminated; rejected: Failed naming who, and no terminate call at all."""
    case = "approved" if approve else "rejected"
    people = ordinary_people(box.people, 2 * LEAVERS)[(0 if approve else LEAVERS) :][:LEAVERS]
    hr = write_leavers_csv(tmp_path / "leavers.csv", people)
    calls_before, terminated_before = terminate_calls(box), box.stats()["users_terminated"]
    run_id = start_live_run(prefect_server, hr)
    worker = start_worker(prefect_server, box, tmp_path)
    try:
        suspended = wait_for_state(prefect_server, run_id, worker, "PAUSED")
        assert suspended["state"]["name"] == "Suspended"  # its process exits: a worker restart loses nothing
        worker.communicate(timeout=STATE_TIMEOUT_SECONDS)
        plan = artifacts_of(prefect_server, run_id)["offboarding-plan"]["data"]
        assert all(person.login in plan for person in people), plan
        page = open_paused_run(browser, prefect_server, run_id, case)
        answer_through_resume_form(page, approve=approve, case=case)
        worker = start_worker(prefect_server, box, tmp_path)  # another worker takes the resumed run
        finished = wait_for_state(prefect_server, run_id, worker, "COMPLETED" if approve else "FAILED")
        page.reload()
        page.get_by_text("Completed" if approve else "Failed", exact=True).first.wait_for(timeout=60_000)
        page.locator("li.p-tab#artifacts").click()
        for key in RESULT_ARTIFACTS if approve else ("offboarding-plan",):
            page.get_by_text(key).first.wait_for(timeout=30_000)
        screenshot(page, f"{case}-finished")
        page.close()
        worker.communicate(timeout=STATE_TIMEOUT_SECONDS)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate(timeout=30)
    stats = box.stats()
    if approve:
        assert stats["users_terminated"] - terminated_before == LEAVERS
        artifacts = artifacts_of(prefect_server, run_id)
        assert set(RESULT_ARTIFACTS) <= set(artifacts)
        link = artifacts["offboarding-report"]
        target = re.fullmatch(r"\[[^]]+\]\((http[^)]+)\)", link["data"])  # a link artifact: "[text](url)" markdown
        assert target, link["data"]
        opened = httpx.get(target.group(1), timeout=10)
        assert opened.status_code == 200, opened.text[:300]
        assert opened.content.startswith(b"PK"), "an .xlsx file is a zip archive"
    else:
        assert "not sent: rejected by Jane Admin" in finished["state"]["message"]
        assert "'ticket 42'" in finished["state"]["message"]
        assert terminate_calls(box) == calls_before
        assert stats["users_terminated"] == terminated_before


def resume_through_api(server: PrefectServer, run_id: str, run_input: dict[str, Any]) -> None:
    """Resume a suspended run with ``run_input``, as the UI's form does."""
    with server.api() as api:
        api.post(f"/flow_runs/{run_id}/resume", json={"run_input": run_input}).raise_for_status()


def test_an_approval_is_for_the_plan_shown_a_changed_plan_is_asked_again(
    prefect_server: PrefectServer, box: Served, tmp_path: Path
) -> None:
    """Suspended, approved, then the HR file changes before the run resumes: the resumed run plans a different set
    of people, so it does not use the approval given for the first plan; it suspends again with the new plan, and
    nothing has been sent."""
    people = ordinary_people(box.people, 3 * LEAVERS)[2 * LEAVERS :]
    hr = write_leavers_csv(tmp_path / "leavers.csv", people[:2])
    calls_before = terminate_calls(box)
    run_id = start_live_run(prefect_server, hr)
    worker = start_worker(prefect_server, box, tmp_path)
    try:
        wait_for_state(prefect_server, run_id, worker, "PAUSED")
        worker.communicate(timeout=STATE_TIMEOUT_SECONDS)
        first_plan = artifacts_of(prefect_server, run_id)["offboarding-plan"]["data"]
        write_leavers_csv(hr, people)  # HR adds a leaver while the run waits
        resume_through_api(prefect_server, run_id, {"approve": True, "approver": "Jane Admin", "comment": "ok"})
        worker = start_worker(prefect_server, box, tmp_path)
        asked_again = wait_for_state(prefect_server, run_id, worker, "PAUSED")
        worker.communicate(timeout=STATE_TIMEOUT_SECONDS)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate(timeout=30)
    second_plan = artifacts_of(prefect_server, run_id)["offboarding-plan"]["data"]
    assert asked_again["state"]["name"] == "Suspended"
    assert people[2].login not in first_plan
    assert people[2].login in second_plan
    assert terminate_calls(box) == calls_before
