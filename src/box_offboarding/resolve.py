"""Resolve logins to Box users, by whichever of two strategies costs fewer API calls.

- ``lookup``: one ``GET /users?filter_term=<login>`` per login. Box matches a *prefix* of login or name, so only a
  user whose login equals the term (case-insensitively) counts.
- ``scan``: one pass over the whole directory with marker pagination, about one call per 1000 users.

With ``n`` logins and ``m`` directory users, lookup costs ``n`` calls and scan ``ceil(m / 1000)``. The directory
size comes from a setting when known, else from one probe call (``total_count`` of a one-user page); the
blast-radius guard needs it anyway.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Literal, Protocol

import polars as pl

from box_offboarding.box.models import BoxUser
from box_offboarding.columns import RESOLVED_SCHEMA
from box_offboarding.settings import ResolveStrategy

Strategy = Literal["lookup", "scan"]
SCAN_PAGE_SIZE = 1000


class UserDirectory(Protocol):
    """The part of :class:`~box_offboarding.box.client.BoxClient` resolution needs."""

    async def find_users(self, filter_term: str, *, limit: int = ...) -> list[BoxUser]: ...

    def iter_users(self, *, page_size: int = ..., user_type: str = ...) -> AsyncIterator[BoxUser]: ...

    async def count_users(self) -> int: ...


def lookup_cost(logins: int) -> int:
    return logins


def scan_cost(directory_size: int) -> int:
    return max(1, math.ceil(directory_size / SCAN_PAGE_SIZE))


def choose_strategy(*, logins: int, directory_size: int) -> Strategy:
    """The strategy with fewer calls; ties go to lookup, which reads less personal data."""
    return "scan" if scan_cost(directory_size) < lookup_cost(logins) else "lookup"


def _frame(users: Iterable[tuple[str, BoxUser]]) -> pl.DataFrame:
    records = [
        {"login": login, "box_user_id": user.id, "box_status": user.status, "box_role": user.role}
        for login, user in users
    ]
    return pl.DataFrame(records, schema=RESOLVED_SCHEMA)


async def resolve_by_lookup(directory: UserDirectory, logins: Sequence[str], *, concurrency: int = 8) -> pl.DataFrame:
    """One exact-match lookup per login; prefix matches are discarded."""
    gate = asyncio.Semaphore(concurrency)

    async def one(login: str) -> tuple[str, BoxUser] | None:
        async with gate:
            candidates = await directory.find_users(login, limit=SCAN_PAGE_SIZE)
        exact = [user for user in candidates if (user.login or "").lower() == login]
        return (login, exact[0]) if exact else None

    found = await asyncio.gather(*(one(login) for login in logins))
    return _frame(match for match in found if match is not None)


async def resolve_by_scan(directory: UserDirectory, logins: Sequence[str]) -> pl.DataFrame:
    """One pass over the directory, keeping the users whose login is wanted."""
    wanted = set(logins)
    matches: list[tuple[str, BoxUser]] = []
    async for user in directory.iter_users(page_size=SCAN_PAGE_SIZE):
        login = (user.login or "").lower()
        if login in wanted:
            matches.append((login, user))
            wanted.discard(login)
    return _frame(matches)


async def resolve_logins(
    directory: UserDirectory,
    logins: Sequence[str],
    *,
    directory_size: int,
    strategy: ResolveStrategy = "auto",
    concurrency: int = 8,
) -> tuple[pl.DataFrame, Strategy]:
    """Resolve normalised ``logins`` to Box users; returns the matches and the strategy used."""
    unique = sorted(set(logins))
    chosen = choose_strategy(logins=len(unique), directory_size=directory_size) if strategy == "auto" else strategy
    if not unique:
        return pl.DataFrame(schema=RESOLVED_SCHEMA), chosen
    if chosen == "scan":
        return await resolve_by_scan(directory, unique), chosen
    return await resolve_by_lookup(directory, unique, concurrency=concurrency), chosen
