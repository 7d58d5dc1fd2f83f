"""Test-session environment: a private Prefect home, no analytics, generous server start-up, paths to the shared Box
API description, and the Box simulator the tests share."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from box_offboarding.simulator import RunningSimulator

_PREFECT_HOME = tempfile.mkdtemp(prefix="offboard-prefect-home-")
os.environ.setdefault("PREFECT_HOME", _PREFECT_HOME)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
# Settings must come from the tests, never from a developer's shell or .env.
for _name in list(os.environ):
    if _name.startswith(("BOX_", "OFFBOARD_")):
        del os.environ[_name]

SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def openapi_path() -> Path:
    """Box's OpenAPI description from ../shared, or a skip saying why."""
    path = SHARED_DIR / "box-openapi.json"
    if not path.exists():
        pytest.skip(f"Box's OpenAPI description not found at {path} (../shared is absent)")
    return path


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test server for the whole session (it takes ~20 s to start on these machines)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=None):
        yield


@pytest.fixture(scope="session")
def session_simulator() -> Iterator[RunningSimulator]:
    """One Box simulator served from a thread for the whole session; tests take :func:`simulator`, which resets it."""
    from box_offboarding.simulator import SimulatorConfig, run_simulator

    config = SimulatorConfig(users=500, event_delay_seconds=0, external_users=2, groups=2, group_size=4)
    with run_simulator(config) as running:
        yield running


@pytest.fixture
def simulator(session_simulator: RunningSimulator) -> RunningSimulator:
    """The session's simulator as new (:meth:`Simulator.reset`): 500 generated users (seed 7), 2 external users, 2
    groups of 4, termination events visible at once, batches naming an unknown user refused (404), no faults, no
    latency. A test that needs another config (faults, latency, its own directory or process, a moved clock) starts
    its own simulator instead."""
    session_simulator.simulator.reset()
    return session_simulator
