"""The Prefect flows on a real (test) Prefect server against the simulator; prefect.yaml; the demo command."""

from __future__ import annotations

import asyncio
import gc
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.flows import Flow, load_flow_from_entrypoint
from prefect.utilities.callables import parameter_schema
from pydantic import MISSING

from box_offboarding.ledger import Ledger
from box_offboarding.orchestration import (
    offboard,
    offboard_shard,
    offboard_sharded,
    reconcile_pending,
    settings_given,
)
from box_offboarding.settings import Settings
from box_offboarding.simulator import RunningSimulator, SimulatorConfig, run_simulator
from helpers import ordinary_people, write_leavers_csv

# Prefect (3.9.1) opens a sync API client to read the server's default result storage on every flow run
# (prefect.results._read_server_default_result_storage_block_id) and never closes it: its socket to the Prefect test
# server is reported unclosed. Not ours to fix; every other warning still fails these tests. The socket sits in a
# reference cycle, so collect_garbage below frees it before each test ends, where this ignore applies, not in
# whichever later test's garbage collection would free it.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:Exception ignored in. <socket\.socket .*raddr=\('127\.0\.0\.1', \d+\)>"
    ":pytest.PytestUnraisableExceptionWarning"
)

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 29)


@pytest.fixture(autouse=True)
def collect_garbage() -> Iterator[None]:
    """After each test, free its garbage, so what it left unclosed is reported by this test (see pytestmark)."""
    yield
    gc.collect()


def leavers_csv(sim: RunningSimulator, path: Path, count: int, *, skip: int = 0) -> Path:
    """A CSV of ``count`` ordinary active users of the simulated directory, after the first ``skip``."""
    return write_leavers_csv(path, ordinary_people(sim.simulator.users, skip + count)[skip:])


def use_simulator(monkeypatch: pytest.MonkeyPatch, sim: RunningSimulator, tmp_path: Path, **extra: str) -> None:
    """Point the flows' settings (read from the environment, as in production) at the simulator."""
    values = {
        **sim.environment,
        "BOX_BACKOFF_INITIAL_SECONDS": "0",
        "OFFBOARD_LEDGER_PATH": str(tmp_path / "ledger.sqlite"),
        "OFFBOARD_REPORT_DIR": str(tmp_path / "reports"),
        "OFFBOARD_CONFIRM_POLL_SECONDS": "0.05",
        "OFFBOARD_MAX_SHARE": "1",
        **extra,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)


async def run_flow(**parameters: Any) -> Any:
    """Run the offboard flow, returning its final state."""
    return await offboard(**parameters, return_state=True)


async def artifacts_of(flow_run_id: Any) -> dict[str, Any]:
    """The flow run's artifacts by key (the latest version of each)."""
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {artifact.key: artifact for artifact in found if artifact.key}


async def flow_run_of(state: Any) -> Any:
    """The flow run a final state belongs to."""
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    return runs[0]


async def test_offboard_flow_end_to_end(
    prefect_harness: None, simulator: RunningSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Completed; a task per stage; summary, attention table, report link and a finished progress artifact."""
    use_simulator(monkeypatch, simulator, tmp_path)
    hr = leavers_csv(simulator, tmp_path / "leavers.csv", 12)
    state = await run_flow(inputs=[str(hr)], as_of=AS_OF, batch_size=5)
    assert state.is_completed(), state.message
    result = await state.result()
    assert result["confirmed"] == 12
    assert Path(result["report"]).exists()
    flow_run = await flow_run_of(state)
    assert flow_run.name == f"offboard-2026-11-29-live-{str(flow_run.id)[:6]}"
    async with get_client() as client:
        tasks = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
    assert {task.name.rsplit("-", 1)[0] for task in tasks} == {
        "ingest", "plan", "terminate", "reconcile", "report", "deliver",
    }  # fmt: skip
    artifacts = await artifacts_of(flow_run.id)
    assert {"offboarding-summary", "offboarding-attention", "offboarding-report", "offboarding-progress"} <= set(
        artifacts
    )
    assert "| confirmed | 12 |" in artifacts["offboarding-summary"].data
    assert artifacts["offboarding-progress"].data == 100.0
    note = artifacts["offboarding-report"].data
    assert f"`{Path(result['report']).resolve()}`" in note
    assert "file://" not in note


async def test_flow_fails_when_rows_fail(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Box refuses permission: rows fail, so the flow run is Failed (Prefect's notifications fire), report kept."""
    with run_simulator(SimulatorConfig(users=100, service_account_role="user")) as sim:
        use_simulator(monkeypatch, sim, tmp_path)
        state = await run_flow(inputs=[str(leavers_csv(sim, tmp_path / "l.csv", 3))], as_of=AS_OF)
    assert state.is_failed()
    assert "3 rows failed" in state.message
    result = await state.result(raise_on_failure=False)
    assert result["failed"] == 3
    assert Path(result["report"]).exists()


async def test_attention_table_lists_rows_needing_a_person(
    prefect_harness: None, simulator: RunningSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown logins show in the attention table; a dry run is named so."""
    use_simulator(monkeypatch, simulator, tmp_path)
    hr = tmp_path / "l.csv"
    hr.write_text("Email,Last Day\nghost1@example.com,2026-11-01\nghost2@example.com,2026-11-01\n", encoding="utf-8")
    state = await run_flow(inputs=[str(hr)], as_of=AS_OF, dry_run=True)
    flow_run = await flow_run_of(state)
    assert flow_run.name == f"offboard-2026-11-29-dry-run-{str(flow_run.id)[:6]}"
    table = (await artifacts_of(flow_run.id))["offboarding-attention"].data
    assert '"not_found"' in table
    assert "ghost1@example.com" in table
    assert "ghost2@example.com" in table


async def test_shard_flow_takes_its_part_and_names_it(
    prefect_harness: None, simulator: RunningSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """offboard_shard with shard 2 of 2: only the leavers of its part, the shard in the run name; both parts add up."""
    use_simulator(monkeypatch, simulator, tmp_path)
    hr = leavers_csv(simulator, tmp_path / "l.csv", 12)
    parameters: dict[str, Any] = {"inputs": [str(hr)], "as_of": AS_OF, "shard_count": 2, "return_state": True}
    states = [await offboard_shard(**parameters, shard_index=index) for index in (1, 0)]
    confirmed = [(await state.result())["confirmed"] for state in states]
    assert sum(confirmed) == 12
    assert 0 < confirmed[0] < 12
    flow_run = await flow_run_of(states[0])
    assert flow_run.name == f"offboard-2026-11-29-live-{str(flow_run.id)[:6]}-shard-2-of-2"


async def test_reconcile_flow_confirms_late_events(
    prefect_harness: None, simulator: RunningSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that cannot see the events yet leaves users pending; the reconcile flow confirms them later."""
    use_simulator(monkeypatch, simulator, tmp_path, OFFBOARD_EVENT_LAG_SECONDS="3600")
    state = await run_flow(inputs=[str(leavers_csv(simulator, tmp_path / "l.csv", 4))], as_of=AS_OF,
                           confirm_timeout_seconds=0)  # fmt: skip
    assert (await state.result())["pending"] == 4
    monkeypatch.setenv("OFFBOARD_EVENT_LAG_SECONDS", "0")
    found = await reconcile_pending()
    assert found == {"pending_before": 4, "confirmed": 4, "still_pending": 0, "relogins": 0}
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        assert ledger.accepted().is_empty()
        assert ledger.confirmed().height == 4


async def test_two_flow_runs_share_one_global_rate_limit(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two concurrent runs draw on one Prefect global limit: Box never answers 429 and they are paced together."""
    budget, window = 30, 2.0  # Box allows 30 requests per sliding 2 s window: 15/s
    limit_name = "box-api-two-runs"
    async with get_client() as client:
        await client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=limit_name, limit=10, slot_decay_per_second=budget / window * 0.8)
        )
    config = SimulatorConfig(users=300, event_delay_seconds=0, rate_limit=budget, rate_window_seconds=window)
    with run_simulator(config) as sim:
        use_simulator(monkeypatch, sim, tmp_path, BOX_GLOBAL_RATE_LIMIT_NAME=limit_name)
        first = leavers_csv(sim, tmp_path / "a.csv", 30)
        second = leavers_csv(sim, tmp_path / "b.csv", 30, skip=30)
        started = time.monotonic()
        states = await asyncio.gather(
            run_flow(inputs=[str(first)], as_of=AS_OF, batch_size=1),
            run_flow(inputs=[str(second)], as_of=AS_OF, batch_size=1),
        )
        elapsed = time.monotonic() - started
        stats = sim.simulator.stats()
    assert all(state.is_completed() for state in states), [state.message for state in states]
    assert stats["rate_limited"] == 0
    assert stats["batches_accepted"] == 60
    api_requests = stats["requests_total"] - stats["tokens_issued"]
    assert api_requests > budget * 2  # enough traffic that an unpaced pair would have tripped Box's window
    assert api_requests / elapsed <= budget / window  # together, at most the budget


def load_deployments() -> list[dict[str, Any]]:
    """The deployments of prefect.yaml."""
    loaded = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    return list(loaded["deployments"])


@pytest.mark.parametrize("deployment", load_deployments(), ids=lambda d: d["name"])
def test_deployment_parameters_fit_the_flow_schema(deployment: dict[str, Any]) -> None:
    """Every entrypoint imports, and every deployment parameter is one the flow takes, of a valid value."""
    flow: Flow[..., Any] = load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"]))
    schema = parameter_schema(flow.fn).model_dump_for_openapi()
    parameters = deployment.get("parameters", {})
    assert set(parameters) <= set(schema["properties"])
    jsonschema.validate(parameters, schema)
    for schedule in deployment.get("schedules", []):
        assert len({"cron", "interval", "rrule"} & set(schedule)) == 1
        assert schedule["timezone"]
    assert "secret" not in yaml.safe_dump(deployment).lower()


def test_deployments_say_what_the_product_promises() -> None:
    """Nightly at 02:00 and live, waiting for a person only when its guard trips; manual a dry run by default whose
    live runs always wait for approval; reconcile hourly; credentials not in the file."""
    deployments = {deployment["name"]: deployment for deployment in load_deployments()}
    assert deployments["nightly-offboarding"]["schedules"][0]["cron"] == "0 2 * * *"
    assert deployments["nightly-offboarding"]["parameters"]["dry_run"] is False
    assert deployments["manual-offboarding"]["parameters"]["dry_run"] is True
    assert "schedules" not in deployments["manual-offboarding"]
    assert deployments["reconcile-pending"]["schedules"][0]["interval"] == 3600
    nightly, manual = deployments["nightly-offboarding"]["work_pool"], deployments["manual-offboarding"]["work_pool"]
    assert nightly["name"] == manual["name"]
    assert nightly["job_variables"]["env"]["OFFBOARD_APPROVAL"] == "on_guard"
    assert manual["job_variables"]["env"]["OFFBOARD_APPROVAL"] == "always"
    assert [Settings(approval=mode).approval for mode in ("on_guard", "always")] == ["on_guard", "always"]
    text = (ROOT / "prefect.yaml").read_text(encoding="utf-8")
    assert "BOX_CLIENT_SECRET=" not in text
    assert "client_secret:" not in text


def form_properties(flow: Flow[..., Any]) -> dict[str, dict[str, Any]]:
    """The flow's parameters as the custom-run form gets them (the schema ``prefect deploy`` publishes)."""
    return dict(parameter_schema(flow.fn).model_dump_for_openapi()["properties"])


@pytest.mark.parametrize("flow", [offboard, offboard_shard, offboard_sharded], ids=lambda flow: flow.fn.__name__)
def test_every_form_field_has_a_title_one_type_and_no_null(flow: Flow[..., Any]) -> None:
    """Each field: a human title (not its identifier), a description, one type (no anyOf switch), no null default."""
    properties = form_properties(flow)
    for name, prop in properties.items():
        assert prop["title"] != name, name
        assert prop["title"][0].isupper(), prop["title"]
        assert prop.get("description"), name
        assert isinstance(prop.get("type"), str), (name, prop)
        assert "anyOf" not in prop, (name, prop)
        assert prop.get("default", "absent") is not None, name
        assert "None" not in prop["title"] + prop["description"], name
    assert len({prop["title"] for prop in properties.values()}) == len(properties)


def test_everyday_form_has_no_shard_fields_and_keeps_bounds() -> None:
    """The nightly/manual form: no shard fields; bounds kept; a date picker; everyday fields before Advanced ones."""
    everyday, shard = form_properties(offboard), form_properties(offboard_shard)
    assert not {"shard_index", "shard_count"} & set(everyday)
    assert set(shard) == set(everyday) | {"shard_index", "shard_count"}
    assert (everyday["batch_size"]["minimum"], everyday["batch_size"]["maximum"]) == (1, 1000)
    assert everyday["confirm_timeout_seconds"]["minimum"] == 0
    assert everyday["as_of"] == everyday["as_of"] | {"type": "string", "format": "date"}
    order = sorted(everyday, key=lambda name: everyday[name]["position"])
    advanced = [name for name in order if everyday[name]["title"].startswith("Advanced")]
    assert order[: len(order) - len(advanced)] == [name for name in order if name not in advanced]
    assert order[:3] == ["inputs", "as_of", "dry_run"]


def test_shard_deployment_runs_the_shard_flow() -> None:
    """Only shard-offboarding shows shard fields, and the sharded parent starts that deployment by default."""
    deployments = {deployment["name"]: deployment for deployment in load_deployments()}
    assert deployments["shard-offboarding"]["entrypoint"].endswith(":offboard_shard")
    assert all(
        deployments[name]["entrypoint"].endswith(":offboard") for name in ("nightly-offboarding", "manual-offboarding")
    )
    assert offboard_shard.name == offboard.name
    assert form_properties(offboard_sharded)["deployment"]["default"] == f"{offboard_shard.name}/shard-offboarding"


@pytest.mark.parametrize(
    ("environment", "parameters", "expected"),
    [
        ({}, {}, {"max_users": 500, "batch_size": 100, "dry_run": False, "confirm_timeout_seconds": 120.0}),
        ({"OFFBOARD_MAX_USERS": "50", "OFFBOARD_DRY_RUN": "true"}, {}, {"max_users": 50, "dry_run": True}),
        ({"OFFBOARD_MAX_USERS": "50"}, {"max_users": MISSING, "email_to": [], "box_folder_id": ""}, {"max_users": 50}),
        ({"OFFBOARD_MAX_USERS": "50"}, {"max_users": None, "batch_size": None}, {"max_users": 50, "batch_size": 100}),
        ({"OFFBOARD_MAX_USERS": "50", "OFFBOARD_DRY_RUN": "true"}, {"max_users": 7, "dry_run": False},
         {"max_users": 7, "dry_run": False}),
        ({"OFFBOARD_ALLOW_LARGE_RUN": "true"}, {"allow_large_run": False}, {"allow_large_run": False}),
        ({}, {"email_to": ["a@example.com"], "sheets": ["Leavers"], "protected_path": "p.txt"},
         {"mail_to": ("a@example.com",), "sheets": ("Leavers",), "protected_path": Path("p.txt")}),
    ],
)  # fmt: skip
async def test_settings_given_lets_only_set_parameters_override_the_worker(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], parameters: dict[str, Any], expected: dict[str, Any]
) -> None:
    """A parameter the run was given > the worker's environment > the built-in default; empty ones are not given."""
    for name in ("CLIENT_ID", "CLIENT_SECRET", "ENTERPRISE_ID", "DEVELOPER_TOKEN"):
        monkeypatch.setenv(f"BOX_{name}", "x")  # every credential from the environment: no Secret block is read
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = await settings_given(**parameters)
    assert {name: getattr(settings, name) for name in expected} == expected


def test_demo_command_runs_end_to_end(tmp_path: Path) -> None:
    """`offboard demo` in a fresh folder: exit 0, sample files written, a report produced."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BOX_", "OFFBOARD_"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    env.pop("PREFECT_API_URL", None)
    offboard_script = Path(sys.executable).parent / "offboard"
    result = subprocess.run([str(offboard_script), "demo", "--one-night"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert len(list((tmp_path / "data" / "samples").glob("*.xlsx"))) == 2
    reports = list((tmp_path / "reports").glob("offboarding-*.xlsx"))
    assert len(reports) == 1
    assert "confirmed" in result.stdout


async def test_credentials_from_prefect_secret_blocks(
    prefect_harness: None, simulator: RunningSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With BOX_CLIENT_SECRET unset, the flow takes it from the box-client-secret Secret block."""
    from prefect.blocks.system import Secret

    await Secret(value=simulator.config.client_secret).asave("box-client-secret", overwrite=True)
    use_simulator(monkeypatch, simulator, tmp_path)
    monkeypatch.delenv("BOX_CLIENT_SECRET")
    state = await run_flow(inputs=[str(leavers_csv(simulator, tmp_path / "l.csv", 2))], as_of=AS_OF)
    assert state.is_completed(), state.message
    assert (await state.result())["confirmed"] == 2


def test_cli_run_with_prefect_runs_the_flow(
    prefect_harness: None, simulator: RunningSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`offboard run --prefect` goes through the offboard flow: a flow run named for the day, the report written."""
    from typer.testing import CliRunner

    from box_offboarding.cli import app

    use_simulator(monkeypatch, simulator, tmp_path)
    monkeypatch.setenv("OFFBOARD_FORCE", "false")  # the command exports it: restored after the test
    hr = leavers_csv(simulator, tmp_path / "l.csv", 3)
    result = CliRunner().invoke(
        app, ["run", str(hr), "--as-of", "2026-11-29", "--prefect", "--report-dir", str(tmp_path / "cli-reports")]
    )
    assert result.exit_code == 0, result.output
    assert "the offboard flow run ended Completed" in result.output
    assert len(list((tmp_path / "cli-reports").glob("offboarding-*.xlsx"))) == 1

    async def latest_flow_run_name() -> str:
        async with get_client() as client:
            runs = await client.read_flow_runs(sort="START_TIME_DESC", limit=1)  # type: ignore[arg-type]
        return str(runs[0].name)

    assert re.fullmatch(r"offboard-2026-11-29-live-[0-9a-f]{6}", asyncio.run(latest_flow_run_name()))
