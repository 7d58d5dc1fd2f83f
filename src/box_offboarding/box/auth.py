"""Bearer tokens: one token shared by every concurrent request, renewed before it expires and after a 401.

Tokens are kept as :class:`~pydantic.SecretStr` so no repr, log line or exception message can show them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from pydantic import SecretStr


@dataclass(frozen=True)
class IssuedToken:
    """A token endpoint's answer: the token and its lifetime in seconds."""

    value: SecretStr
    expires_in: float


TokenFetcher = Callable[[], Awaitable[IssuedToken]]


class Authenticator(Protocol):
    """Hands out the current bearer token; ``renewable`` says whether :meth:`renew` can get a new one."""

    renewable: bool

    async def token(self) -> SecretStr: ...

    async def renew(self, stale: SecretStr) -> SecretStr: ...


class DeveloperTokenAuth:
    """A bare developer token: used as is; when Box refuses it there is nothing to renew it with."""

    renewable = False

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    async def token(self) -> SecretStr:
        return self._token

    async def renew(self, stale: SecretStr) -> SecretStr:
        raise RuntimeError("a developer token cannot be renewed")

    def __repr__(self) -> str:
        return "DeveloperTokenAuth(token=**********)"


class ClientCredentialsAuth:
    """Client-credentials tokens fetched with ``fetch``: one fetch at a time, shared by everyone waiting.

    A token is renewed ``refresh_margin_seconds`` before it expires; the margin is capped at half the token's
    lifetime, so a short-lived token is not renewed on every request.
    """

    renewable = True

    def __init__(
        self,
        fetch: TokenFetcher,
        *,
        refresh_margin_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._margin = refresh_margin_seconds
        self._clock = clock
        self._lock = asyncio.Lock()
        self._current: SecretStr | None = None
        self._renew_at = 0.0

    async def token(self) -> SecretStr:
        current = self._current
        if current is not None and self._clock() < self._renew_at:
            return current
        async with self._lock:
            if self._current is None or self._clock() >= self._renew_at:
                await self._fetch_now()
            assert self._current is not None
            return self._current

    async def renew(self, stale: SecretStr) -> SecretStr:
        """A new token after Box refused ``stale``, unless a concurrent request already replaced it."""
        async with self._lock:
            if self._current is None or self._current.get_secret_value() == stale.get_secret_value():
                await self._fetch_now()
            assert self._current is not None
            return self._current

    async def _fetch_now(self) -> None:
        requested_at = self._clock()  # the lifetime runs from about when Box issued the token
        issued = await self._fetch()
        margin = min(self._margin, issued.expires_in / 2)
        self._current = issued.value
        self._renew_at = requested_at + issued.expires_in - margin

    def __repr__(self) -> str:
        return f"ClientCredentialsAuth(has_token={self._current is not None})"
