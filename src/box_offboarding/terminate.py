"""Terminate Box sessions in batches, several in flight, isolating the users Box refuses: the stage that decides
``failed`` and ``pending`` (accepted by Box, not yet proven).

- Users go in batches of ``batch_size`` user ids. The first batch is sent alone: if Box answers ``403`` (the app
  lacks the admin permission) nothing else has been sent, and the run stops.
- A batch refused with ``400``/``404`` is split in halves until the offending users are isolated; only they
  become ``failed``, with Box's message.
- Every request's outcome goes to ``record`` (the ledger, which commits) *before* the batch counts as done.
- After a crash, :func:`settle_in_flight` turns the requests whose answer was lost into outcomes, by what Box's
  admin events showed; users Box accepted in an earlier run are not sent again (:func:`accepted_earlier`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import uuid4

import polars as pl

from box_offboarding.box.models import TerminationResult
from box_offboarding.columns import OUTCOME_SCHEMA
from box_offboarding.errors import BoxAPIError, BoxError, BoxPermissionError
from box_offboarding.frames import overlay
from box_offboarding.statuses import Status

SPLITTABLE_STATUSES = frozenset({400, 404})


class SessionTerminator(Protocol):
    """The part of :class:`~box_offboarding.box.client.BoxClient` termination needs."""

    async def terminate_sessions(
        self, *, user_ids: Sequence[str] = ..., user_logins: Sequence[str] = ...
    ) -> TerminationResult: ...


@dataclass(frozen=True, kw_only=True)
class BatchOutcome:
    """What happened to one terminate_sessions request: what the ledger records of it."""

    user_ids: tuple[str, ...]
    logins: tuple[str, ...]
    request_id: str
    http_status: int | None
    attempts: int
    sent_at: datetime
    finished_at: datetime
    message: str | None
    settles: str | None = None  # the intent this answer replaces

    @property
    def in_flight(self) -> bool:
        """An intent: recorded just before sending, no answer yet."""
        return self.attempts == 0

    @property
    def accepted(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


@dataclass(kw_only=True)
class TerminationRun:
    """Per-user outcomes (:data:`~box_offboarding.columns.OUTCOME_SCHEMA`), plus the permission error that stopped
    the run, if one did."""

    outcomes: pl.DataFrame
    stopped_by: BoxPermissionError | None = None


Batch = tuple[tuple[str, str], ...]  # (user id, login) pairs
Recorder = Callable[[BatchOutcome], None]
Progress = Callable[[int], None]


def make_batches(targets: pl.DataFrame, *, batch_size: int) -> list[Batch]:
    """Split ``targets`` (columns ``box_user_id``, ``login``) into batches of at most ``batch_size`` users."""
    pairs = list(zip(targets.get_column("box_user_id").to_list(), targets.get_column("login").to_list(), strict=True))
    return [tuple(pairs[start : start + batch_size]) for start in range(0, len(pairs), batch_size)]


@dataclass(frozen=True)
class _Attempt:
    """One batch on its way: its users, when it left, and the intent recorded before sending it."""

    ids: tuple[str, ...]
    logins: tuple[str, ...]
    sent_at: datetime
    intent: str


class _BatchSender:
    def __init__(self, client: SessionTerminator, *, record: Recorder, progress: Progress | None) -> None:
        self.client = client
        self.record = record
        self.progress = progress
        self.rows: list[dict[str, object]] = []
        self.stopped_by: BoxPermissionError | None = None

    async def send(self, batch: Batch) -> list[Batch]:
        """Send one batch; return the halves to send next when Box refused it as a whole."""
        ids, logins = (tuple(column) for column in zip(*batch, strict=True))
        attempt = _Attempt(ids, logins, datetime.now(UTC), f"intent-{uuid4()}")
        self.record(
            BatchOutcome(user_ids=ids, logins=logins, request_id=attempt.intent, http_status=None, attempts=0,
                         sent_at=attempt.sent_at, finished_at=attempt.sent_at, message=None)
        )  # fmt: skip
        try:
            result = await self.client.terminate_sessions(user_ids=ids)
        except BoxPermissionError as error:
            self._finish(attempt, error.status, 1, error.request_id, error.message or str(error), Status.FAILED)
            self.stopped_by = error
            return []
        except BoxAPIError as error:
            if error.status in SPLITTABLE_STATUSES and len(batch) > 1:
                self._record(attempt, error.status, 1, error.request_id, error.message)
                middle = len(batch) // 2
                return [batch[:middle], batch[middle:]]
            reason = f"Box refused ({error.status} {error.code or ''}): {error.message or ''}".replace(" )", ")")
            self._finish(attempt, error.status, 1, error.request_id, reason, Status.FAILED)
            return []
        except BoxError as error:
            self._finish(attempt, None, 1, None, f"the call never succeeded: {error}", Status.FAILED)
            return []
        status = Status.PENDING if 200 <= result.status < 300 else Status.FAILED
        self._finish(attempt, result.status, result.attempts, result.request_id, result.message, status)
        return []

    def _record(
        self, attempt: _Attempt, http_status: int | None, attempts: int, request_id: str | None, message: str | None
    ) -> str:
        request_id = request_id or f"local-{uuid4()}"
        self.record(
            BatchOutcome(user_ids=attempt.ids, logins=attempt.logins, request_id=request_id, http_status=http_status,
                         attempts=attempts, sent_at=attempt.sent_at, finished_at=datetime.now(UTC), message=message,
                         settles=attempt.intent)
        )  # fmt: skip
        return request_id

    def _finish(
        self,
        attempt: _Attempt,
        http_status: int | None,
        attempts: int,
        request_id: str | None,
        message: str | None,
        status: Status,
    ) -> None:
        request_id = self._record(attempt, http_status, attempts, request_id, message)
        reason = None if status is Status.PENDING else message
        self.rows.extend(
            {"box_user_id": user_id, "status": status.value, "reason": reason, "request_id": request_id,
             "requested_at": attempt.sent_at}
            for user_id in attempt.ids
        )  # fmt: skip
        if self.progress is not None:
            self.progress(len(attempt.ids))

    def fail_unsent(self, batch: Batch) -> None:
        reason = "not sent: the run stopped after Box refused permission (403)"
        self.rows.extend(
            {"box_user_id": user_id, "status": Status.FAILED.value, "reason": reason, "request_id": None,
             "requested_at": None}
            for user_id, _login in batch
        )  # fmt: skip


async def terminate_users(
    client: SessionTerminator,
    targets: pl.DataFrame,
    *,
    batch_size: int,
    concurrency: int,
    record: Recorder,
    progress: Progress | None = None,
) -> TerminationRun:
    """Terminate the sessions of ``targets`` (``box_user_id``, ``login``); one outcome row per user.

    Users left unsent because a ``403`` stopped the run are ``failed`` with a reason saying so.
    """
    sender = _BatchSender(client, record=record, progress=progress)
    batches = make_batches(targets, batch_size=batch_size)
    if not batches:
        return TerminationRun(outcomes=pl.DataFrame(schema=OUTCOME_SCHEMA))
    queue: asyncio.Queue[Batch] = asyncio.Queue()
    for batch in [*await sender.send(batches[0]), *batches[1:]]:
        queue.put_nowait(batch)
    async with asyncio.TaskGroup() as group:
        workers = [group.create_task(_worker(sender, queue)) for _ in range(concurrency)]
        await queue.join()
        for worker in workers:
            worker.cancel()
    return TerminationRun(outcomes=pl.DataFrame(sender.rows, schema=OUTCOME_SCHEMA), stopped_by=sender.stopped_by)


async def _worker(sender: _BatchSender, queue: asyncio.Queue[Batch]) -> None:
    """Send batches as they come (split halves are queued again); after a 403, only mark them unsent."""
    while True:
        batch = await queue.get()
        try:
            if sender.stopped_by is None:
                for half in await sender.send(batch):
                    queue.put_nowait(half)
            else:
                sender.fail_unsent(batch)
        finally:
            queue.task_done()


def apply_outcomes(rows: pl.DataFrame, outcomes: pl.DataFrame) -> pl.DataFrame:
    """Give every undecided row of a user with an outcome that outcome (duplicates keep their own status)."""
    return overlay(rows, outcomes, where=pl.col("status").is_null(), found="status")


def accepted_earlier(accepted: pl.DataFrame) -> pl.DataFrame:
    """Outcomes of users Box accepted in an earlier or interrupted run (the ledger's pending users): ``pending``,
    not sent again."""
    return accepted.select(
        "box_user_id",
        pl.lit(Status.PENDING.value).alias("status"),
        pl.lit("accepted in run ").add(pl.col("run_id")).alias("reason"),
        "request_id",
        "requested_at",
    )


#: What settling a lost answer records: by whether Box's admin events show the job ran.
_SETTLED = {
    True: (202, "answer lost in a crash; Box's admin events show the job ran"),
    False: (None, "answer lost in a crash; no admin event yet, so sent again"),
}


def settle_in_flight(in_flight: pl.DataFrame, *, proven: pl.DataFrame, now: datetime) -> list[BatchOutcome]:
    """The answers to record for requests sent before a crash whose answer never came (the ledger's in-flight
    users, :data:`~box_offboarding.columns.ACCEPTED_SCHEMA`), one per request and verdict: users Box's events
    prove terminated (``proven``: their ``box_user_id``) count as accepted; the others stay unanswered, so they are
    sent again. Each replaces (settles) its intent."""
    taken = pl.col("box_user_id").is_in(proven.get_column("box_user_id").implode())
    outcomes = []
    for (intent, was_taken), users in in_flight.with_columns(taken.alias("taken")).group_by(
        "request_id", "taken", maintain_order=True
    ):
        http_status, message = _SETTLED[bool(was_taken)]
        sent_at = users.get_column("requested_at").min()
        assert isinstance(sent_at, datetime)
        outcomes.append(
            BatchOutcome(
                user_ids=tuple(users.get_column("box_user_id").to_list()),
                logins=tuple(users.get_column("login").fill_null("").to_list()),
                request_id=f"recovered-{uuid4()}",
                http_status=http_status,
                attempts=1,
                sent_at=sent_at,
                finished_at=now,
                message=message,
                settles=str(intent),
            )
        )
    return outcomes
