"""Client-side rate limiting: stay inside Box's request budget instead of tripping it and backing off.

Box counts requests in a sliding 60-second window (about 1000 per minute per user). The in-process limiter is
aiolimiter's leaky bucket of capacity ``burst`` draining at ``rate`` per second: in any window of ``w`` seconds it
lets through at most ``burst + rate * w`` requests. Choosing ``rate = (budget - burst) / 60`` keeps every 60-second
window at or under ``budget = rate_limit_per_minute * rate_limit_headroom``, and a small ``burst`` keeps shorter
windows close to their pro-rata share too (the leftover headroom absorbs latency jitter between our send and Box's
count).

Several workers sharing one budget use a Prefect global concurrency limit instead (:class:`PrefectRateLimiter`).
"""

from __future__ import annotations

import asyncio
import math
from typing import Protocol

from aiolimiter import AsyncLimiter

from box_offboarding.errors import ConfigurationError
from box_offboarding.settings import BoxSettings

#: Slots a Prefect-backed limiter takes per acquisition: one acquisition costs ~15 ms on a SQLite server.
DEFAULT_PREFECT_CHUNK = 10


class RateLimiter(Protocol):
    """Something that makes a caller wait until ``amount`` more requests may be sent."""

    async def acquire(self, amount: int = 1) -> None: ...


class LocalRateLimiter:
    """An in-process leaky bucket (aiolimiter) sized so that no 60-second window exceeds ``per_minute``."""

    def __init__(self, *, per_minute: float, burst: int) -> None:
        if burst < 1 or burst >= per_minute:
            raise ConfigurationError(
                f"rate limit burst must be between 1 and the budget ({per_minute:g}/min), got {burst}"
            )
        self.per_minute = per_minute
        self.burst = burst
        self.rate_per_second = (per_minute - burst) / 60.0
        self._bucket = AsyncLimiter(burst, burst / self.rate_per_second)

    async def acquire(self, amount: int = 1) -> None:
        """Wait for ``amount`` slots, taken at most ``burst`` at a time (aiolimiter refuses more than its capacity)."""
        while amount > 0:
            step = min(amount, self.burst)
            await self._bucket.acquire(step)
            amount -= step

    def __repr__(self) -> str:
        return f"LocalRateLimiter(per_minute={self.per_minute:g}, burst={self.burst})"


class PrefectRateLimiter:
    """Slots from a Prefect global concurrency limit with slot decay, shared by every worker using ``name``.

    Prefect acquisitions are slow (a server round trip), so slots are taken ``chunk`` at a time and handed out
    locally; the limit's burst (``--limit``) must be at least ``chunk``. ``strict=True``: a missing limit is an
    error, never a silent "no limit".
    """

    def __init__(self, name: str, *, chunk: int = DEFAULT_PREFECT_CHUNK) -> None:
        if chunk < 1:
            raise ValueError(f"chunk must be at least 1, got {chunk}")
        self.name = name
        self.chunk = chunk
        self._spare = 0
        self._refill_lock = asyncio.Lock()

    @property
    def spare(self) -> int:
        """Slots taken from Prefect and not used yet."""
        return self._spare

    async def acquire(self, amount: int = 1) -> None:
        # deferred: importing prefect takes seconds, and only this limiter needs it
        from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError, rate_limit

        async with self._refill_lock:
            if self._spare < amount:
                needed = max(self.chunk, amount - self._spare)
                try:
                    await rate_limit(self.name, occupy=needed, strict=True)
                except ConcurrencySlotAcquisitionError as error:
                    raise ConfigurationError(
                        f"Prefect rate limit {self.name!r} unusable ({error}); create it with "
                        f"`prefect gcl create {self.name} --limit N --slot-decay-per-second R` (N >= {needed})"
                    ) from error
                self._spare += needed
            self._spare -= amount

    def __repr__(self) -> str:
        return f"PrefectRateLimiter(name={self.name!r}, chunk={self.chunk})"


def default_burst(per_minute: float, *, max_in_flight: int) -> int:
    """At most one second's budget and no more than can be in flight at once: enough to start promptly."""
    return max(1, min(max_in_flight, math.floor(per_minute / 60.0)))


def limiter_from_settings(settings: BoxSettings) -> RateLimiter:
    """Prefect's global limit when ``global_rate_limit_name`` is set, otherwise an in-process limiter."""
    if settings.global_rate_limit_name:
        return PrefectRateLimiter(settings.global_rate_limit_name)
    per_minute = settings.rate_limit_per_minute * settings.rate_limit_headroom
    return LocalRateLimiter(
        per_minute=per_minute, burst=default_burst(per_minute, max_in_flight=settings.max_in_flight)
    )
