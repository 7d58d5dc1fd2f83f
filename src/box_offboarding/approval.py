"""A person's approval before a live run sends anything: what they are shown, what they answer, how it is kept.

The pipeline asks an :data:`Approver` once the plan is made (every row decided, the targets known, the blast-radius
guard applied) and before any termination call. Which runs ask is the ``OFFBOARD_APPROVAL`` setting: ``always``
(every live run waits: the manual deployment), ``on_guard`` (only a run the blast-radius guard stopped: the nightly
one), ``never`` (the command line: the guard stops the run, ``--allow-large-run`` lifts it). Only an approval sends;
a rejection, or no answer within ``OFFBOARD_APPROVAL_TIMEOUT_SECONDS``, sends nothing and the run ends stopped, saying
why. The decision is recorded in the ledger and in the run's notes (so on the report's Summary).

The Prefect side (:mod:`box_offboarding.prefect_approval`) publishes the plan as artifacts and suspends the flow run
with a typed input form (approve yes/no, name, comment) that the UI shows on "Resume"; the answer is bound to the
plan's fingerprint, so a plan that changed while the run waited is asked again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import polars as pl

#: How many would-be terminations the plan artifact lists (the plan report has them all).
PLAN_ROWS_SHOWN = 50


class ApprovalMode(StrEnum):
    """Which live runs wait for a person (``OFFBOARD_APPROVAL``)."""

    ALWAYS = "always"
    ON_GUARD = "on_guard"
    NEVER = "never"


@dataclass(frozen=True, kw_only=True)
class ApprovalRequest:
    """What the approver is shown: the plan of one run."""

    run_id: str
    as_of: str
    counts: dict[str, int]
    targets: pl.DataFrame  # login, name, file, sheet, row of each user the run would terminate
    plan_report: Path
    guard: str | None  # the blast-radius guard's verdict, when it tripped (approving lifts it)
    fingerprint: str  # of the target users: what was approved is what is sent


@dataclass(frozen=True, kw_only=True)
class ApprovalDecision:
    """The answer: approved or not, by whom, with their comment, when; ``why`` when nobody answered."""

    approved: bool
    approver: str
    comment: str
    decided_at: datetime
    why: str | None = None

    def describe(self) -> str:
        """``approved by Jane Doe at 2026-12-08 01:50 UTC: 'checked with HR'``, for notes and the stop reason."""
        if self.why:
            return f"not approved: {self.why}"
        verdict = "approved" if self.approved else "rejected"
        said = f": {self.comment!r}" if self.comment else ""
        return f"{verdict} by {self.approver} at {self.decided_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC{said}"


Approver = Callable[[ApprovalRequest], Awaitable[ApprovalDecision]]


def needs_approval(mode: ApprovalMode, *, dry_run: bool, guard_tripped: bool) -> bool:
    """Whether this run waits for a person before it sends anything (a dry run never does: it sends nothing)."""
    if dry_run or mode is ApprovalMode.NEVER:
        return False
    return mode is ApprovalMode.ALWAYS or guard_tripped


def plan_fingerprint(targets: pl.DataFrame) -> str:
    """A digest of the users a plan would terminate, order aside."""
    users = sorted(str(user) for user in targets.get_column("box_user_id").to_list())
    return hashlib.sha256("\n".join(users).encode()).hexdigest()[:16]


def no_answer(timeout_seconds: float) -> ApprovalDecision:
    """The decision when nobody answered in time."""
    return ApprovalDecision(approved=False, approver="", comment="", decided_at=datetime.now(UTC),
                            why=f"nobody answered within {timeout_seconds:g} s; nothing was sent")  # fmt: skip


def plan_markdown(request: ApprovalRequest) -> str:
    """The plan as the approver reads it on the flow run page."""
    lines = [f"# Waiting for approval: run {request.run_id}", "", f"As of {request.as_of}. Nothing is sent until a"
             " person resumes this run with **Approve** ticked.", ""]  # fmt: skip
    if request.guard:
        lines += [f"**The blast-radius guard stopped this run:** {request.guard}. Approving lifts it.", ""]
    lines += ["| status | rows |", "| --- | ---: |", *(f"| {name} | {n} |" for name, n in request.counts.items() if n)]
    lines += ["", f"## Would be terminated ({request.targets.height})", "", "| login | name | file | row |",
              "| --- | --- | --- | ---: |"]  # fmt: skip
    for row in request.targets.head(PLAN_ROWS_SHOWN).iter_rows(named=True):
        where = row["file"] if row["sheet"] is None else f"{row['file']} / {row['sheet']}"
        lines.append(f"| {row['login']} | {row['name'] or ''} | {where} | {row['row']} |")
    if request.targets.height > PLAN_ROWS_SHOWN:
        lines.append(f"| ... and {request.targets.height - PLAN_ROWS_SHOWN} more: see the plan report | | | |")
    lines += ["", f"Plan report: `{request.plan_report}`", "", f"Plan fingerprint: `{request.fingerprint}`"]
    return "\n".join(lines)
