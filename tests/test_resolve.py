"""Login to Box user resolution: the cheaper strategy, exact matches only, both strategies against the simulator."""

from __future__ import annotations

import csv
from collections.abc import Iterator

import pytest

from box_offboarding.box.client import BoxClient
from box_offboarding.columns import RESOLVED_SCHEMA
from box_offboarding.resolve import choose_strategy, resolve_logins
from box_offboarding.simulator import RunningSimulator, SimulatorConfig, run_simulator
from helpers import box_settings

USERS = [
    ("1", "al@corp.example.com", "Al", "active", "user"),
    ("2", "al@corp.example.com.au", "Al Australia", "active", "user"),  # the first login is a prefix of this one
    ("3", "Bea.Upper@Corp.Example.com", "Bea", "inactive", "user"),
    ("4", "cy@corp.example.com", "al@corp.example.com", "active", "admin"),  # a name equal to another's login
    *[(str(100 + n), f"filler{n}@corp.example.com", f"Filler {n}", "active", "user") for n in range(2100)],
]


@pytest.mark.parametrize(
    ("logins", "directory", "expected"),
    [(1, 200_000, "lookup"), (150, 200_000, "lookup"), (201, 200_000, "scan"), (5, 5_000, "lookup"),
     (6, 5_000, "scan"), (10, 10_000, "lookup"), (0, 0, "lookup")],
)  # fmt: skip
def test_choose_strategy_by_call_count(logins: int, directory: int, expected: str) -> None:
    """Lookups cost one call per login, a scan one per 1000 users; ties go to lookups."""
    assert choose_strategy(logins=logins, directory_size=directory) == expected


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    """A directory of 2,104 users with prefix traps."""
    path = tmp_path_factory.mktemp("dir") / "users.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("id", "login", "name", "status", "role"), *USERS])
    with run_simulator(SimulatorConfig(directory_path=path)) as running:
        yield running


@pytest.mark.parametrize("strategy", ["lookup", "scan"])
async def test_exact_matches_only(simulator: RunningSimulator, strategy: str) -> None:
    """A prefix match or a matching name is not a match; login case does not matter."""
    settings = box_settings(simulator)
    logins = ["al@corp.example.com", "bea.upper@corp.example.com", "ghost@corp.example.com", "al@corp.example"]
    async with BoxClient(settings) as client:
        found, used = await resolve_logins(client, logins, directory_size=len(USERS), strategy=strategy)  # type: ignore[arg-type]
    assert used == strategy
    assert sorted(found.rows()) == [
        ("al@corp.example.com", "1", "active", "user"),
        ("bea.upper@corp.example.com", "3", "inactive", "user"),
    ]


async def test_scan_costs_one_call_per_thousand_users(simulator: RunningSimulator) -> None:
    """A scan of 2,104 users reads three pages, whatever the number of logins."""
    settings = box_settings(simulator)
    logins = [f"filler{n}@corp.example.com" for n in range(50)]
    async with BoxClient(settings) as client:
        found, used = await resolve_logins(client, logins, directory_size=len(USERS))
        calls = dict(client.calls)
    assert used == "scan"
    assert found.height == 50
    assert calls["GET /users"] == 3


async def test_no_logins_no_calls(simulator: RunningSimulator) -> None:
    """Nothing to resolve: an empty result of the usual columns, and no request to Box at all, not even a token."""
    before = simulator.simulator.stats()["requests_total"]
    async with BoxClient(simulator.box_settings()) as client:
        found, _ = await resolve_logins(client, [], directory_size=10)
        calls = dict(client.calls)
    assert found.is_empty()
    assert found.schema == RESOLVED_SCHEMA
    assert calls == {}
    assert simulator.simulator.stats()["requests_total"] == before
