"""The offboarding run, stage by stage, callable without Prefect: wiring only.

Each stage below calls the rules of one stage module, which decide the statuses (see each module's docstring):
:mod:`~box_offboarding.ingest` reads the rows; :mod:`~box_offboarding.validate` decides ``invalid``, ``duplicate``,
``protected``, ``deferred``, ``not_found`` and ``skipped``; :mod:`~box_offboarding.plan` ``planned``;
:mod:`~box_offboarding.terminate` ``failed`` and ``pending``; :mod:`~box_offboarding.reconcile` ``confirmed``.
:func:`run_offboarding` chains them for the CLI, and the Prefect flow wraps the same functions as tasks. Every input
row ends with exactly one status.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import ParamSpec, Protocol, TypeVar
from uuid import uuid4

import polars as pl

from box_offboarding.approval import ApprovalMode, ApprovalRequest, Approver, needs_approval, plan_fingerprint
from box_offboarding.box.client import BoxClient
from box_offboarding.columns import ACCEPTED_SCHEMA, REPORT_COLUMNS
from box_offboarding.delivery import DeliveryResult, deliver_report
from box_offboarding.frames import with_result_columns
from box_offboarding.ingest import IngestResult, ingest
from box_offboarding.ledger import Ledger, run_key
from box_offboarding.outcome import RunOutcome
from box_offboarding.plan import Plan, blast_radius_check, eligible_targets, keep_shard, mark_planned
from box_offboarding.reconcile import (
    ReconcileOptions,
    apply_reconciliation,
    explain_pending,
    reconcile,
    restore_confirmed,
    terminated_earlier,
)
from box_offboarding.report import RunSummary, report_path, status_counts, summary_subject, summary_text, write_report
from box_offboarding.resolve import resolve_logins
from box_offboarding.settings import Settings
from box_offboarding.statuses import RunStatus, Status
from box_offboarding.terminate import (
    BatchOutcome,
    TerminationRun,
    accepted_earlier,
    apply_outcomes,
    settle_in_flight,
    terminate_users,
)
from box_offboarding.validate import check_box_users, check_rows, load_protected, skip_confirmed_earlier

#: ``progress(stage, done, total)``: called as long stages advance.
ProgressCallback = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    """Default progress sink: report nothing."""


P = ParamSpec("P")
R = TypeVar("R")


class StageWrapper(Protocol):
    """Wraps each stage function before it is called: identity here, a Prefect task in the flow."""

    def __call__(self, stage: Callable[P, R], /) -> Callable[P, R]: ...


def run_directly(stage: Callable[P, R], /) -> Callable[P, R]:
    """Call stages as plain functions (the CLI without Prefect, and the stage tests)."""
    return stage


@dataclass(kw_only=True)
class RunContext:
    """What every stage of one run shares."""

    settings: Settings
    as_of: date
    run_id: str
    started_at: datetime
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    progress: ProgressCallback = _no_progress
    approval: str | None = None  # the approver's decision, for the report's Summary

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start


def start_run(ledger: Ledger, paths: Sequence[Path], *, settings: Settings, as_of: date) -> RunContext:
    """Open a run in the ledger, or resume the unfinished run with the same inputs."""
    key = run_key(paths, as_of=as_of, dry_run=settings.dry_run, shard=(settings.shard_index, settings.shard_count))
    now = datetime.now(UTC)
    previous = ledger.find_unfinished_run(key)
    if previous is not None:
        context = RunContext(settings=settings, as_of=as_of, run_id=previous, started_at=now)
        context.notes.append(f"resumed run {previous}, which had stopped before finishing")
        return context
    run_id = f"{now:%Y%m%d}-{uuid4().hex[:8]}"
    ledger.start_run(run_id=run_id, run_key=key, as_of=as_of, dry_run=settings.dry_run, started_at=now,
                     settings=settings.safe_summary())  # fmt: skip
    return RunContext(settings=settings, as_of=as_of, run_id=run_id, started_at=now)


# --- stage 1: ingest -------------------------------------------------------------------------------------------


def ingest_stage(paths: Sequence[Path], context: RunContext) -> IngestResult:
    with context.timed("ingest"):
        result = ingest(paths, settings=context.settings)
    context.notes.extend(result.notes)
    return result


# --- stage 2: validate, resolve, plan ---------------------------------------------------------------------------


async def plan_stage(
    ingested: IngestResult, context: RunContext, *, client: BoxClient, ledger: Ledger, protected: frozenset[str]
) -> Plan:
    """Decide every row that needs no termination call; the rest become targets (or ``planned`` in a dry run)."""
    settings = context.settings
    with context.timed("validate"):
        checked = check_rows(ingested.rows, as_of=context.as_of, protected=protected, holds=ingested.holds)
        if settings.shard_count > 1:
            checked = keep_shard(checked, index=settings.shard_index, count=settings.shard_count)
    with context.timed("resolve"):
        to_resolve = checked.filter(pl.col("status").is_null()).get_column("login").to_list()
        directory_size = settings.directory_size_hint
        if directory_size is None:
            directory_size = await client.count_users()
        resolved, strategy = await resolve_logins(client, to_resolve, directory_size=directory_size,
                                                  strategy=settings.resolve_strategy,
                                                  concurrency=settings.box.max_in_flight)  # fmt: skip
    context.notes.append(
        f"resolved {len(set(to_resolve))} logins by {strategy} against a directory of {directory_size} users"
    )
    planned = with_result_columns(checked.join(resolved, on="login", how="left", maintain_order="left"))
    planned = check_box_users(planned, protect_admins=settings.protect_admins)
    undecided = planned.filter(pl.col("status").is_null()).get_column("box_user_id").to_list()
    confirmed = ledger.confirmed(user_ids=undecided)
    own = confirmed.filter(pl.col("run_id") == context.run_id)
    if not own.is_empty():  # only a resumed run has confirmations of its own
        planned = restore_confirmed(planned, own, ledger.requests(context.run_id))
    if not settings.force:
        planned = skip_confirmed_earlier(planned, confirmed.filter(pl.col("run_id") != context.run_id))
    targets = eligible_targets(planned)
    guard = blast_radius_check(targets.height, directory_size=directory_size, max_users=settings.max_users,
                               max_share=settings.max_share, allow_large_run=settings.allow_large_run)  # fmt: skip
    if settings.dry_run or guard is not None:
        planned = mark_planned(planned, guard=guard)
    return Plan(rows=planned, targets=targets, blast_radius=guard)


# --- stage 2b: a person's approval (Prefect runs) -----------------------------------------------------------------


async def approval_stage(
    plan: Plan, ingested: IngestResult, context: RunContext, *, ledger: Ledger, approver: Approver
) -> tuple[Plan, str | None]:
    """Show the plan (a plan report and the approver's view) and wait for the decision; record it. Approved: the
    plan to send (the guard lifted if it had tripped). Not approved: the plan's targets stay ``planned`` and the
    stop reason says why."""
    awaiting = "waiting for a person's approval"
    shown = plan.rows if plan.blast_radius is not None else mark_planned(plan.rows, guard=None, why=awaiting)
    plan_report = report_stage(shown, ingested, context, api_calls={}, aborted="waiting for approval: plan only",
                               finished_at=datetime.now(UTC))  # fmt: skip
    targets = plan.targets.join(
        plan.rows.select("box_user_id", "login", "name", "file", "sheet", "row").unique("box_user_id", keep="first"),
        on=["box_user_id", "login"], how="left", maintain_order="left",
    )  # fmt: skip
    request = ApprovalRequest(
        run_id=context.run_id, as_of=str(context.as_of), counts=status_counts(shown), targets=targets,
        plan_report=plan_report, guard=None if plan.blast_radius is None else str(plan.blast_radius),
        fingerprint=plan_fingerprint(plan.targets),
    )  # fmt: skip
    decision = await approver(request)
    ledger.record_approval(context.run_id, approved=decision.approved, approver=decision.approver,
                           comment=decision.comment, why=decision.why, fingerprint=request.fingerprint,
                           decided_at=decision.decided_at)  # fmt: skip
    context.approval = f"{decision.describe()} (plan {request.fingerprint})"
    context.notes.append(f"plan {request.fingerprint}: {decision.describe()}")
    if not decision.approved:
        stopped = f"not sent: {decision.describe()}"
        return Plan(rows=mark_planned(plan.rows, guard=None, why=stopped), targets=plan.targets,
                    blast_radius=plan.blast_radius), stopped  # fmt: skip
    if plan.blast_radius is None:
        return plan, None
    lifted = plan.rows.with_columns(
        pl.when(pl.col("status") == Status.PLANNED.value).then(None).otherwise(pl.col(name)).alias(name)
        for name in ("status", "reason")
    )
    context.notes.append(f"the blast-radius guard ({plan.blast_radius}) was lifted by the approval")
    return Plan(rows=lifted, targets=plan.targets, blast_radius=None), None


# --- stage 3: terminate ------------------------------------------------------------------------------------------


def _ledger_recorder(run_id: str, ledger: Ledger) -> Callable[[BatchOutcome], None]:
    """Write each intent and each answer to the ledger (committed) before the batch counts as done."""

    def record(outcome: BatchOutcome) -> None:
        if outcome.in_flight:
            ledger.record_intent(run_id=run_id, intent_id=outcome.request_id, user_ids=outcome.user_ids,
                                 logins=outcome.logins, sent_at=outcome.sent_at)  # fmt: skip
            return
        ledger.record_request(
            run_id=run_id, request_id=outcome.request_id, user_ids=outcome.user_ids, logins=outcome.logins,
            http_status=outcome.http_status, attempts=outcome.attempts, sent_at=outcome.sent_at,
            finished_at=outcome.finished_at, message=outcome.message, settles=outcome.settles,
        )  # fmt: skip

    return record


async def _settle_after_crash(
    context: RunContext, *, client: BoxClient, ledger: Ledger, record: Callable[[BatchOutcome], None]
) -> None:
    """Requests that left before a crash but whose answer was never recorded: settled by Box's admin events."""
    in_flight = ledger.in_flight()
    if in_flight.is_empty():
        return
    options = replace(ReconcileOptions.from_settings(context.settings), relogin_types=(), lag=timedelta(0))
    evidence = await reconcile(client, in_flight.select("box_user_id", "requested_at"), options=options)
    for outcome in settle_in_flight(in_flight, proven=evidence.confirmations, now=datetime.now(UTC)):
        record(outcome)
    context.notes.append(f"{in_flight.height} users were in flight when an earlier run stopped: checked against events")


async def terminate_stage(plan: Plan, context: RunContext, *, client: BoxClient, ledger: Ledger) -> TerminationRun:
    """Send the plan's targets, except users Box already accepted in an earlier or interrupted run."""
    settings = context.settings
    record = _ledger_recorder(context.run_id, ledger)
    await _settle_after_crash(context, client=client, ledger=ledger, record=record)
    target_ids = plan.targets.get_column("box_user_id")
    earlier = pl.DataFrame(schema=ACCEPTED_SCHEMA) if settings.force else ledger.accepted(target_ids.to_list())
    to_send = plan.targets.filter(~pl.col("box_user_id").is_in(earlier.get_column("box_user_id").implode()))
    total, done = to_send.height, 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        context.progress("terminate", done, total)

    with context.timed("terminate"):
        run = await terminate_users(
            client, to_send, batch_size=settings.batch_size, concurrency=settings.batch_concurrency, record=record,
            progress=advance,
        )  # fmt: skip
    if earlier.height:
        context.notes.append(f"{earlier.height} users already accepted by Box in an earlier run: not sent again")
        run.outcomes = pl.concat([run.outcomes, accepted_earlier(earlier)], how="vertical_relaxed")
    return run


# --- stage 4: reconcile ----------------------------------------------------------------------------------------------


async def reconcile_stage(
    rows: pl.DataFrame, context: RunContext, *, client: BoxClient, ledger: Ledger
) -> pl.DataFrame:
    """Confirm this run's pending users (and earlier runs' late ones); flag re-logins."""
    this_run = rows.filter(pl.col("status") == Status.PENDING.value).select("box_user_id", "requested_at")
    pending = pl.concat(
        [this_run, ledger.accepted().select("box_user_id", "requested_at")], how="vertical_relaxed"
    ).unique("box_user_id", keep="first")
    skipped = rows.filter(pl.col("status") == Status.SKIPPED.value).get_column("box_user_id").drop_nulls().to_list()
    with context.timed("reconcile"):
        result = await reconcile(
            client,
            pending,
            options=ReconcileOptions.from_settings(context.settings),
            terminated_earlier=terminated_earlier(ledger.confirmed(user_ids=skipped)),
            on_poll=lambda confirmed, total: context.progress("reconcile", confirmed, total),
        )
    ledger.record_confirmations(result.confirmations)
    ledger.record_relogins(result.relogins)
    late = result.confirmations.join(this_run, on="box_user_id", how="anti").height
    if late:
        context.notes.append(f"{late} users pending from earlier runs were confirmed late by this run")
    return apply_reconciliation(rows, result)


# --- stage 5: report -----------------------------------------------------------------------------------------------


def report_stage(
    rows: pl.DataFrame,
    ingested: IngestResult,
    context: RunContext,
    *,
    api_calls: Mapping[str, int],
    aborted: str | None,
    finished_at: datetime,
) -> Path:
    with context.timed("report"):
        summary = RunSummary(
            run_id=context.run_id,
            as_of=context.as_of,
            dry_run=context.settings.dry_run,
            started_at=context.started_at,
            finished_at=finished_at,
            inputs=ingested.inputs,
            api_calls=dict(api_calls),
            timings=dict(context.timings),
            settings=context.settings.safe_summary(),
            notes=list(context.notes),
            aborted=aborted,
            approval=context.approval,
        )
        path = report_path(context.settings.report_dir, run_id=context.run_id, now=finished_at)
        return write_report(path, users=rows.select(REPORT_COLUMNS), errors=ingested.errors, summary=summary)


# --- stage 6: deliver -----------------------------------------------------------------------------------------------


async def deliver_stage(outcome: RunOutcome, *, settings: Settings) -> list[DeliveryResult]:
    """Send the report to the configured Box folder and mail recipients (none configured: nothing to do)."""
    return await deliver_report(
        outcome.report, settings=settings, subject=summary_subject(outcome), body=summary_text(outcome)
    )


# --- the whole run ---------------------------------------------------------------------------------------------------


async def run_offboarding(
    paths: Sequence[Path],
    *,
    settings: Settings,
    as_of: date,
    progress: ProgressCallback = _no_progress,
    stage: StageWrapper = run_directly,
    approver: Approver | None = None,
) -> RunOutcome:
    """Ingest, validate and resolve, terminate, reconcile, report, deliver. Every input row ends with one status.

    The report and the ledger are written in every case (see :attr:`RunOutcome.exit_code`). A run that raises is
    marked failed in the ledger (one killed outright stays "running", and the next run with its inputs resumes it).
    """
    protected = load_protected(settings.protected_path)
    with Ledger(settings.ledger_path) as ledger:
        context = start_run(ledger, paths, settings=settings, as_of=as_of)
        context.progress = progress
        try:
            outcome = await _run_stages(
                paths, context, ledger=ledger, protected=protected, stage=stage, approver=approver
            )
        except Exception as error:
            ledger.finish_run(context.run_id, status=RunStatus.FAILED, finished_at=datetime.now(UTC),
                              report_path=None, summary={"error": f"{type(error).__name__}: {error}"})  # fmt: skip
            raise
        ledger.finish_run(
            context.run_id,
            status=outcome.run_status,
            finished_at=datetime.now(UTC),
            report_path=str(outcome.report),
            summary={"counts": outcome.counts, "aborted": outcome.aborted, "relogins": outcome.relogins},
        )
    return outcome


async def _run_stages(
    paths: Sequence[Path],
    context: RunContext,
    *,
    ledger: Ledger,
    protected: frozenset[str],
    stage: StageWrapper,
    approver: Approver | None,
) -> RunOutcome:
    settings = context.settings
    ingested = stage(ingest_stage)(paths, context)
    aborted: str | None = None
    async with BoxClient(settings.box) as client:
        plan = await stage(plan_stage)(ingested, context, client=client, ledger=ledger, protected=protected)
        if approver and needs_approval(ApprovalMode(settings.approval), dry_run=settings.dry_run,
                                       guard_tripped=plan.blast_radius is not None):  # fmt: skip
            ledger.record_rows(context.run_id, plan.rows)  # durable while a person decides
            plan, aborted = await approval_stage(plan, ingested, context, ledger=ledger, approver=approver)
        rows = plan.rows
        ledger.record_rows(context.run_id, rows)
        if aborted is None and plan.blast_radius is not None:
            aborted = str(plan.blast_radius)
        if aborted is None and not settings.dry_run:
            termination = await stage(terminate_stage)(plan, context, client=client, ledger=ledger)
            rows = apply_outcomes(rows, termination.outcomes)
            ledger.record_rows(context.run_id, rows)
            if termination.stopped_by is not None:
                aborted = f"Box refused permission (403): {termination.stopped_by.message}; nothing further was sent"
            else:
                rows = await stage(reconcile_stage)(rows, context, client=client, ledger=ledger)
        api_calls = dict(client.calls)
    rows = explain_pending(rows)
    ledger.record_rows(context.run_id, rows)
    report = stage(report_stage)(rows, ingested, context, api_calls=api_calls, aborted=aborted,
                                 finished_at=datetime.now(UTC))  # fmt: skip
    outcome = RunOutcome(
        run_id=context.run_id, as_of=context.as_of, dry_run=settings.dry_run, rows=rows, errors=ingested.errors,
        report=report, counts=status_counts(rows), aborted=aborted, notes=context.notes, api_calls=api_calls,
    )  # fmt: skip
    outcome.deliveries = await stage(deliver_stage)(outcome, settings=settings)
    outcome.notes.extend(f"delivery by {d.channel} failed: {d.detail}" for d in outcome.failed_deliveries)
    return outcome
