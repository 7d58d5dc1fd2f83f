"""Test-session environment: a private Prefect home, no analytics, generous server start-up, and paths to the
shared Box API description."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

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
