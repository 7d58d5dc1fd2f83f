"""prefect.yaml on a real Prefect server with a process worker: the worker's settings hold unless a run sets them.

One server for the module (``prefect server start`` on a free loopback port), the project deployed with
``prefect --no-prompt deploy --all`` as an admin does, runs started with ``prefect deployment run`` and executed by
``prefect worker start --run-once`` whose environment points at a Box simulator served from this process.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from box_offboarding.settings import Settings
from box_offboarding.simulator import SimulatorConfig
from helpers import cli_environment, ordinary_people, serve, write_leavers_csv

ROOT = Path(__file__).resolve().parents[1]
PREFECT = str(Path(sys.executable).parent / "prefect")
#: How long the server may take to answer /api/health (6-24 s on these machines; generous for a loaded CI box).
SERVER_START_SECONDS = 120.0
POOLS = ("offboarding", "offboarding-shards")


@dataclass(frozen=True)
class PrefectServer:
    """A running ``prefect server start``: its address, the environment every Prefect command needs, and the ids of
    the deployments of prefect.yaml by name."""

    url: str
    environment: dict[str, str]
    deployments: dict[str, str]

    def api(self) -> httpx.Client:
        """A client of the server's REST API."""
        return httpx.Client(base_url=f"{self.url}/api", timeout=30)

    def prefect(self, *args: str, extra: dict[str, str] | None = None, timeout: float = 180) -> str:
        """Run a ``prefect`` command against this server from the project folder; its output, or a failure."""
        result = subprocess.run([PREFECT, *args], cwd=ROOT, env={**self.environment, **(extra or {})},
                                capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip
        assert result.returncode == 0, f"prefect {' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result.stdout


def free_port() -> int:
    """A TCP port nothing listens on right now, on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prefect_environment(home: Path, url: str) -> dict[str, str]:
    """This process's environment without product settings, with a private Prefect home pointed at ``url``, and
    this checkout's ``src`` first on the path (the deployments and the workers import the project)."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith(("BOX_", "OFFBOARD_"))}
    return {
        **inherited,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": f"{url}/api",
        "PREFECT_UI_API_URL": f"{url}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_TO_API_ENABLED": "true",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "PWD": str(ROOT),  # prefect.yaml's pull step sets the working directory to {{ $PWD }}
    }


def wait_until_healthy(server: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Block until the server answers /api/health; fail with its log if it exits or never answers."""
    for _ in range(int(SERVER_START_SECONDS / 0.5)):
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        try:  # the pause between polls, cut short if the server dies
            server.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"prefect server exited with {server.returncode}:\n{log.read_text()[-3000:]}")
    pytest.fail(f"prefect server not healthy after {SERVER_START_SECONDS} s:\n{log.read_text()[-3000:]}")


def quiet_schedules(api: httpx.Client) -> dict[str, str]:
    """Pause the scheduled deployments and delete their scheduled runs (a test worker must run only the test's
    runs); the deployments' ids by name."""
    deployments = api.post("/deployments/filter", json={}).raise_for_status().json()
    for deployment in deployments:
        if deployment["schedules"]:
            api.post(f"/deployments/{deployment['id']}/pause_deployment").raise_for_status()
    runs = api.post("/flow_runs/filter", json={}).raise_for_status().json()
    for run in runs:
        api.delete(f"/flow_runs/{run['id']}").raise_for_status()
    return {deployment["name"]: deployment["id"] for deployment in deployments}


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """A Prefect server with both work pools and every deployment of prefect.yaml, deployed as the README says."""
    folder = tmp_path_factory.mktemp("prefect-server")
    url = f"http://127.0.0.1:{free_port()}"
    environment = prefect_environment(folder / "home", url)
    log = folder / "server.log"
    server_environment = {key: value for key, value in environment.items() if key != "PREFECT_API_URL"}
    with log.open("wb") as output:
        server = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1]],
                                  env=server_environment, stdout=output, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_until_healthy(server, url, log)
        pools = [
            subprocess.Popen([PREFECT, "work-pool", "create", pool, "--type", "process"], env=environment,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for pool in POOLS
        ]  # fmt: skip
        for pool in pools:  # both at once: each command spends seconds importing Prefect
            printed, _ = pool.communicate(timeout=180)
            assert pool.returncode == 0, printed[-3000:]
        running = PrefectServer(url, environment, {})
        running.prefect("--no-prompt", "deploy", "--all")
        with running.api() as api:
            deployments = quiet_schedules(api)
        yield PrefectServer(url, environment, deployments)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)


#: These runs test which settings win, not the approval step (tests/test_approval.py): a run-level job variable
#: takes the manual deployment's OFFBOARD_APPROVAL=always away, as an operator could for an API-started run.
NO_APPROVAL = 'env={"OFFBOARD_APPROVAL": "never"}'


def start_run(server: PrefectServer, deployment: str, parameters: Sequence[str]) -> subprocess.Popen[str]:
    """``prefect deployment run DEPLOYMENT --param ...`` started (several can start at once), without the approval
    step."""
    args = [PREFECT, "deployment", "run", deployment, "--job-variable", NO_APPROVAL,
            *(part for param in parameters for part in ("--param", param))]  # fmt: skip
    return subprocess.Popen(args, cwd=ROOT, env=server.environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # fmt: skip


def run_id_of(started: subprocess.Popen[str]) -> str:
    """The flow run id a finished ``prefect deployment run`` printed."""
    output, _ = started.communicate(timeout=180)
    assert started.returncode == 0, output[-3000:]
    found = re.search(r"UUID: ([0-9a-f-]{36})", output)
    assert found, output[-3000:]
    return found.group(1)


def flow_run(server: PrefectServer, run_id: str) -> dict[str, Any]:
    """The flow run as the API reports it."""
    with server.api() as api:
        found: dict[str, Any] = api.get(f"/flow_runs/{run_id}").raise_for_status().json()
    return found


def test_worker_settings_hold_unless_the_run_sets_them(prefect_server: PrefectServer, tmp_path: Path) -> None:
    """A worker with OFFBOARD_MAX_USERS=1: a deployment run that does not set max_users stops on the guard (the old
    default of 500 would have let it through); a run given max_users=5 terminates all three leavers."""
    with serve(SimulatorConfig(users=60, event_delay_seconds=0)) as sim:
        people = ordinary_people(sim.people, 6)  # other leavers for each run: they run at once on one ledger
        first = write_leavers_csv(tmp_path / "first.csv", people[:3])
        second = write_leavers_csv(tmp_path / "second.csv", people[3:])
        held = start_run(prefect_server, "offboard/manual-offboarding", ["dry_run=false", f'inputs=["{first}"]'])
        chosen = start_run(prefect_server, "offboard/manual-offboarding",
                           ["dry_run=false", f'inputs=["{second}"]', "max_users=5", "as_of=2026-11-29"])  # fmt: skip
        held_id, chosen_id = run_id_of(held), run_id_of(chosen)
        settings = {"OFFBOARD_MAX_USERS": "1", "OFFBOARD_ALLOW_LARGE_RUN": "false", "OFFBOARD_MAX_SHARE": "1"}
        worker_environment = {
            **cli_environment(sim.address, tmp_path, **settings),
            **{key: prefect_server.environment[key] for key in ("PYTHONPATH", "PREFECT_HOME", "PREFECT_API_URL")},
        }
        worker = subprocess.run([PREFECT, "worker", "start", "--pool", "offboarding", "--run-once"], cwd=ROOT,
                                env=worker_environment, capture_output=True, text=True, timeout=300,
                                check=False)  # fmt: skip
        stats = sim.stats()
    held_run, chosen_run = flow_run(prefect_server, held_id), flow_run(prefect_server, chosen_id)
    worker_output = worker.stdout[-3000:] + worker.stderr[-3000:]
    assert held_run["state_type"] == "FAILED", worker_output
    assert "exceeds max_users=1" in held_run["state"]["message"]
    assert "max_users" not in held_run["parameters"]
    assert chosen_run["state_type"] == "COMPLETED", chosen_run["state"]["message"] + worker_output
    assert stats["users_terminated"] == 3
    today = Settings(_env_file=None).today().isoformat()
    assert held_run["name"] == f"offboard-{today}-live-{held_id[:6]}"
    assert chosen_run["name"] == f"offboard-2026-11-29-live-{chosen_id[:6]}"
