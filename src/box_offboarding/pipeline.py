"""The offboarding run, stage by stage, callable without Prefect.

Each stage is a function over polars frames; :func:`run_offboarding` chains them for the CLI, and the Prefect flow
in ``flows/`` wraps the same functions as tasks. Every input row ends with exactly one status.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar
from uuid import uuid4

import polars as pl

from box_offboarding.box.client import BoxClient
from box_offboarding.columns import INPUT_SCHEMA, REPORT_COLUMNS, RESULT_SCHEMA
from box_offboarding.delivery import DeliveryResult, deliver_report
from box_offboarding.errors import BlastRadiusError
from box_offboarding.ingest import IngestResult, ingest
from box_offboarding.ledger import Ledger
from box_offboarding.reconcile import ReconcileResult, reconcile
from box_offboarding.report import RunSummary, report_path, status_counts, write_report
from box_offboarding.resolve import resolve_logins
from box_offboarding.settings import Settings
from box_offboarding.statuses import Status
from box_offboarding.terminate import BatchOutcome, TerminationRun, terminate_users
from box_offboarding.validate import check_rows, load_protected

ADMIN_ROLES = frozenset({"admin", "coadmin"})

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


@dataclass
class RunContext:
    """What every stage of one run shares."""

    settings: Settings
    as_of: date
    run_id: str
    started_at: datetime
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    progress: ProgressCallback = _no_progress

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start


@dataclass
class Plan:
    """Every row with a status decided, or null for the rows to terminate (listed in ``targets``)."""

    rows: pl.DataFrame
    targets: pl.DataFrame  # box_user_id, login: unique users to send
    blast_radius: BlastRadiusError | None


@dataclass
class RunOutcome:
    run_id: str
    as_of: date
    dry_run: bool
    rows: pl.DataFrame
    errors: pl.DataFrame
    report: Path
    counts: dict[str, int]
    exit_code: int
    aborted: str | None
    notes: list[str]
    api_calls: dict[str, int]
    deliveries: list[DeliveryResult] = field(default_factory=list)

    @property
    def relogins(self) -> int:
        """Users seen signing in after their termination."""
        flagged = self.rows.filter(pl.col("relogin_after_termination").is_not_null())
        return flagged.get_column("box_user_id").n_unique()

    @property
    def failed_deliveries(self) -> list[DeliveryResult]:
        return [result for result in self.deliveries if not result.ok]


def run_key(paths: Sequence[Path], *, as_of: date, dry_run: bool, shard: tuple[int, int] = (0, 1)) -> str:
    """Same inputs, as-of date, mode and shard: same key. Lets a rerun after a crash find the interrupted run."""
    digest = hashlib.sha256(f"{as_of.isoformat()}|{dry_run}|{shard[0]}/{shard[1]}".encode())
    for path in paths:
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest() if path.is_file() else b"missing")
    return digest.hexdigest()


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
    ledger.start_run(
        run_id=run_id,
        run_key=key,
        as_of=as_of,
        dry_run=settings.dry_run,
        started_at=now,
        settings=safe_settings(settings),
    )
    return RunContext(settings=settings, as_of=as_of, run_id=run_id, started_at=now)


def safe_settings(settings: Settings) -> dict[str, str]:
    """The settings worth showing in a report or ledger: no credentials."""
    return {
        "box_base_url": settings.box.base_url,
        "dry_run": str(settings.dry_run),
        "batch_size": str(settings.batch_size),
        "batch_concurrency": str(settings.batch_concurrency),
        "max_users": str(settings.max_users),
        "max_share": str(settings.max_share),
        "allow_large_run": str(settings.allow_large_run),
        "protect_admins": str(settings.protect_admins),
        "force": str(settings.force),
        "confirmation_event_types": ",".join(settings.confirmation_event_types),
        "confirm_timeout_seconds": str(settings.confirm_timeout_seconds),
        "rate_limit_per_minute": str(settings.box.rate_limit_per_minute),
        "resolve_strategy": settings.resolve_strategy,
        "shard": f"{settings.shard_index + 1} of {settings.shard_count}",
    }


# --- stage 1: ingest -------------------------------------------------------------------------------------------


def ingest_stage(paths: Sequence[Path], context: RunContext) -> IngestResult:
    with context.timed("ingest"):
        result = ingest(paths, settings=context.settings)
    context.notes.extend(result.notes)
    return result


# --- stage 2: validate and resolve ------------------------------------------------------------------------------


def _with_result_columns(rows: pl.DataFrame) -> pl.DataFrame:
    missing = [
        pl.lit(None, dtype=dtype).alias(name) for name, dtype in RESULT_SCHEMA.items() if name not in rows.columns
    ]
    return rows.with_columns(missing).select([*INPUT_SCHEMA, *RESULT_SCHEMA])


def _decide(rows: pl.DataFrame, condition: pl.Expr, status: Status, reason: pl.Expr) -> pl.DataFrame:
    """Give ``status`` and ``reason`` to undecided rows matching ``condition``."""
    hit = pl.col("status").is_null() & condition
    return rows.with_columns(
        pl.when(hit).then(pl.lit(status.value)).otherwise(pl.col("status")).alias("status"),
        pl.when(hit).then(reason).otherwise(pl.col("reason")).alias("reason"),
    )


async def plan_stage(
    rows: pl.DataFrame, context: RunContext, *, client: BoxClient, ledger: Ledger, protected: frozenset[str]
) -> Plan:
    """Decide every row that needs no termination call; the rest become targets (or ``planned`` in a dry run)."""
    settings = context.settings
    with context.timed("validate"):
        checked = check_rows(rows, as_of=context.as_of, protected=protected)
        if settings.shard_count > 1:
            checked = keep_shard(checked, index=settings.shard_index, count=settings.shard_count)
    with context.timed("resolve"):
        to_resolve = checked.filter(pl.col("status").is_null()).get_column("login").to_list()
        directory_size = settings.directory_size_hint
        if directory_size is None:
            directory_size = await client.count_users()
        resolved, strategy = await resolve_logins(
            client,
            to_resolve,
            directory_size=directory_size,
            strategy=settings.resolve_strategy,  # type: ignore[arg-type]
            concurrency=settings.box.max_in_flight,
        )
    context.notes.append(
        f"resolved {len(set(to_resolve))} logins by {strategy} against a directory of {directory_size} users"
    )
    planned = _with_result_columns(checked.join(resolved, on="login", how="left", maintain_order="left"))
    planned = _apply_box_facts(planned, ledger=ledger, settings=settings, run_id=context.run_id)
    targets = (
        planned.filter(pl.col("status").is_null()).select("box_user_id", "login").unique("box_user_id", keep="first")
    )
    guard = blast_radius_check(targets.height, directory_size=directory_size, settings=settings)
    if settings.dry_run or guard is not None:
        why = pl.lit("dry run" if guard is None else f"not sent: {guard}")
        planned = _decide(planned, pl.lit(value=True), Status.PLANNED, why)
    return Plan(planned, targets, guard)


def keep_shard(rows: pl.DataFrame, *, index: int, count: int) -> pl.DataFrame:
    """The rows of shard ``index`` of ``count``: by a stable hash of the normalised login, so every copy of a login
    (and so its duplicate status, decided over all rows first) lands in the same shard; rows without a login go to
    shard 0."""
    logins = rows.get_column("login").drop_nulls().unique().to_list()
    shard_of = pl.DataFrame(
        {"login": logins, "shard": [zlib.crc32(login.encode()) % count for login in logins]},
        schema={"login": pl.String, "shard": pl.Int64},
    )
    with_shard = rows.join(shard_of, on="login", how="left", maintain_order="left")
    return with_shard.filter(pl.col("shard").fill_null(0) == index).drop("shard")


def _apply_box_facts(rows: pl.DataFrame, *, ledger: Ledger, settings: Settings, run_id: str) -> pl.DataFrame:
    rows = _decide(rows, pl.col("box_user_id").is_null(), Status.NOT_FOUND, pl.lit("no Box user has this login"))
    if settings.protect_admins:
        rows = _decide(
            rows,
            pl.col("box_role").is_in(list(ADMIN_ROLES)),
            Status.PROTECTED,
            pl.lit("Box ") + pl.col("box_role") + pl.lit(" (admins are protected)"),
        )
    rows = _decide(rows, pl.col("box_status") == "inactive", Status.SKIPPED, pl.lit("inactive in Box"))
    user_ids = rows.filter(pl.col("status").is_null()).get_column("box_user_id").to_list()
    confirmed = ledger.confirmed(user_ids=user_ids)
    rows = _confirmed_by_this_run(rows, confirmed.filter(pl.col("run_id") == run_id), ledger=ledger, run_id=run_id)
    if settings.force:
        return rows
    earlier = confirmed.filter(pl.col("run_id") != run_id).select(
        pl.col("user_id").alias("box_user_id"),
        pl.col("run_id").alias("earlier_run"),
        pl.col("confirmed_at").alias("earlier_confirmed_at"),
    )
    rows = rows.join(earlier, on="box_user_id", how="left", maintain_order="left")
    reason = (
        pl.lit("already confirmed in run ")
        + pl.col("earlier_run")
        + pl.lit(" on ")
        + pl.col("earlier_confirmed_at").dt.strftime("%Y-%m-%d")
    )
    rows = _decide(rows, pl.col("earlier_run").is_not_null(), Status.SKIPPED, reason)
    return rows.drop("earlier_run", "earlier_confirmed_at")


def _confirmed_by_this_run(rows: pl.DataFrame, own: pl.DataFrame, *, ledger: Ledger, run_id: str) -> pl.DataFrame:
    """A resumed run's own confirmations (it died after reconciling): ``confirmed``, with the proof, as before."""
    if own.is_empty():
        return rows
    sent = ledger.requests(run_id).select("request_id", pl.col("sent_at").alias("requested_at"))
    proof = own.join(sent, on="request_id", how="left").select(
        pl.col("user_id").alias("box_user_id"),
        pl.lit(Status.CONFIRMED.value).alias("status"),
        "request_id",
        "event_id",
        "confirmed_at",
        "requested_at",
    )
    return overlay(rows, proof, where=pl.col("status").is_null(), found="event_id")


def blast_radius_check(count: int, *, directory_size: int, settings: Settings) -> BlastRadiusError | None:
    """The guard against a wrong file terminating half the company: an error to report, or None."""
    if settings.allow_large_run or count == 0:
        return None
    share = count / directory_size if directory_size else 1.0
    if count > settings.max_users:
        return BlastRadiusError(
            f"blast-radius guard: {count} users to terminate exceeds max_users={settings.max_users}; "
            "nothing was sent (rerun with --allow-large-run if this is intended)"
        )
    if share > settings.max_share:
        return BlastRadiusError(
            f"blast-radius guard: {count} users to terminate is {share:.1%} of the {directory_size}-user directory, "
            f"over max_share={settings.max_share:.1%}; nothing was sent (rerun with --allow-large-run if intended)"
        )
    return None


# --- stage 3: terminate --------------------------------------------------------------------------------------------


async def reconcile_with(
    client: BoxClient, pending: pl.DataFrame, *, settings: Settings, **overrides: Any
) -> ReconcileResult:
    """:func:`~box_offboarding.reconcile.reconcile` with its options from the settings; ``overrides`` replace some."""
    options: dict[str, Any] = {
        "confirmation_types": settings.confirmation_event_types,
        "relogin_types": settings.relogin_event_types,
        "skew": timedelta(seconds=settings.event_skew_seconds),
        "lag": timedelta(seconds=settings.event_lag_seconds),
        "timeout_seconds": settings.confirm_timeout_seconds,
        "poll_seconds": settings.confirm_poll_seconds,
    }
    return await reconcile(client, pending, **{**options, **overrides})


async def settle_in_flight(context: RunContext, *, client: BoxClient, ledger: Ledger) -> None:
    """After a crash: requests that left but whose answer was never recorded. Box's admin events tell which users
    Box terminated; those count as accepted (not sent again), the others are sent again."""
    in_flight = ledger.in_flight()
    if in_flight.is_empty():
        return
    settings = context.settings
    evidence = await reconcile_with(  # returns as soon as every user is proven
        client,
        in_flight.select(pl.col("user_id").alias("box_user_id"), "requested_at"),
        settings=settings,
        relogin_types=(),
        lag=timedelta(0),
    )
    proven = pl.col("user_id").is_in(evidence.confirmations.get_column("box_user_id").to_list())
    outcomes = {
        True: (202, "answer lost in a crash; Box's admin events show the job ran"),
        False: (None, "answer lost in a crash; no admin event yet, so sent again"),
    }
    for (intent, taken), users in in_flight.with_columns(proven.alias("taken")).group_by("request_id", "taken"):
        http_status, message = outcomes[bool(taken)]
        sent_at = users.get_column("requested_at").min()
        assert isinstance(sent_at, datetime)
        ledger.record_request(
            run_id=context.run_id, request_id=f"recovered-{uuid4()}", user_ids=users.get_column("user_id").to_list(),
            logins=users.get_column("login").fill_null("").to_list(), http_status=http_status, attempts=1,
            sent_at=sent_at, finished_at=datetime.now(UTC), message=message,
            settles=str(intent),
        )  # fmt: skip
    context.notes.append(f"{in_flight.height} users were in flight when an earlier run stopped: checked against events")


def _ledger_recorder(context: RunContext, ledger: Ledger) -> Callable[[BatchOutcome], None]:
    """Write each intent and each answer to the ledger (committed) before the batch counts as done."""

    def record(outcome: BatchOutcome) -> None:
        if outcome.in_flight:
            ledger.record_intent(run_id=context.run_id, intent_id=outcome.request_id, user_ids=outcome.user_ids,
                                 logins=outcome.logins, sent_at=outcome.sent_at)  # fmt: skip
            return
        ledger.record_request(
            run_id=context.run_id,
            request_id=outcome.request_id,
            user_ids=outcome.user_ids,
            logins=outcome.logins,
            http_status=outcome.http_status,
            attempts=outcome.attempts,
            sent_at=outcome.sent_at,
            finished_at=outcome.finished_at,
            message=outcome.message,
            settles=outcome.settles,
        )

    return record


async def terminate_stage(plan: Plan, context: RunContext, *, client: BoxClient, ledger: Ledger) -> TerminationRun:
    """Send the plan's targets, except users Box already accepted in an earlier or interrupted run."""
    settings = context.settings
    await settle_in_flight(context, client=client, ledger=ledger)
    earlier = ledger.accepted(plan.targets.get_column("box_user_id").to_list()) if not settings.force else None
    already = set() if earlier is None else set(earlier.get_column("user_id").to_list())
    to_send = plan.targets.filter(~pl.col("box_user_id").is_in(list(already)))
    total, done = to_send.height, 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        context.progress("terminate", done, total)

    with context.timed("terminate"):
        run = await terminate_users(
            client,
            to_send,
            batch_size=settings.batch_size,
            concurrency=settings.batch_concurrency,
            record=_ledger_recorder(context, ledger),
            progress=advance,
        )
    if earlier is not None and earlier.height:
        context.notes.append(f"{earlier.height} users already accepted by Box in an earlier run: not sent again")
        resumed = earlier.select(
            pl.col("user_id").alias("box_user_id"),
            pl.lit(Status.PENDING.value).alias("status"),
            pl.lit("accepted in run ").add(pl.col("run_id")).alias("reason"),
            "request_id",
            "requested_at",
        )
        run.outcomes = pl.concat([run.outcomes, resumed], how="vertical_relaxed")
    return run


def apply_outcomes(rows: pl.DataFrame, outcomes: pl.DataFrame) -> pl.DataFrame:
    """Give every row of a terminated user its user's outcome (duplicates keep their own status)."""
    return overlay(rows, outcomes, where=pl.col("status").is_null(), found="status")


def overlay(rows: pl.DataFrame, updates: pl.DataFrame, *, where: pl.Expr, found: str) -> pl.DataFrame:
    """Rows matching ``where`` whose user has a row in ``updates`` (one per ``box_user_id``, ``found`` not null)
    take that row's other columns; every other row keeps its values."""
    columns = [name for name in updates.columns if name != "box_user_id"]
    incoming = updates.rename({name: f"new_{name}" for name in columns})
    joined = rows.join(incoming, on="box_user_id", how="left", maintain_order="left")
    take = where & pl.col(f"new_{found}").is_not_null()
    return joined.with_columns(
        pl.when(take).then(pl.col(f"new_{name}")).otherwise(pl.col(name)).alias(name) for name in columns
    ).drop(f"new_{name}" for name in columns)


# --- stage 4: reconcile ----------------------------------------------------------------------------------------------


async def reconcile_stage(
    rows: pl.DataFrame, context: RunContext, *, client: BoxClient, ledger: Ledger
) -> pl.DataFrame:
    """Confirm this run's pending users (and earlier runs' late ones); flag re-logins."""
    settings = context.settings
    earlier_pending = ledger.accepted()
    this_run = rows.filter(pl.col("status") == Status.PENDING.value).select("box_user_id", "requested_at")
    pending = pl.concat(
        [this_run, earlier_pending.select(pl.col("user_id").alias("box_user_id"), "requested_at")],
        how="vertical_relaxed",
    ).unique("box_user_id", keep="first")
    skipped = rows.filter(pl.col("status") == Status.SKIPPED.value).get_column("box_user_id").drop_nulls().to_list()
    terminated_earlier = ledger.confirmed(user_ids=skipped).select(
        pl.col("user_id").alias("box_user_id"), pl.col("confirmed_at").alias("terminated_at")
    )
    with context.timed("reconcile"):
        result = await reconcile_with(
            client,
            pending,
            settings=settings,
            terminated_earlier=terminated_earlier,
            on_poll=lambda confirmed, total: context.progress("reconcile", confirmed, total),
        )
    _record_reconciliation(result, ledger, tolerance=timedelta(seconds=settings.event_skew_seconds))
    late = result.confirmations.join(this_run, on="box_user_id", how="anti").height
    if late:
        context.notes.append(f"{late} users pending from earlier runs were confirmed late by this run")
    return apply_reconciliation(rows, result)


def _record_reconciliation(result: ReconcileResult, ledger: Ledger, *, tolerance: timedelta) -> None:
    ledger.record_confirmations(result.confirmations.rename({"box_user_id": "user_id"}), tolerance=tolerance)
    ledger.record_relogins(
        result.relogins.select(
            pl.col("box_user_id").alias("user_id"),
            pl.col("relogin_event_id").alias("event_id"),
            pl.col("relogin_after_termination").alias("login_at"),
        )
    )


def apply_reconciliation(rows: pl.DataFrame, result: ReconcileResult) -> pl.DataFrame:
    """``pending`` rows with an event become ``confirmed``; re-logins are flagged on the user's terminated rows
    (pending, confirmed, or skipped as confirmed by an earlier run)."""
    proven = result.confirmations.with_columns(
        pl.lit(Status.CONFIRMED.value).alias("status"), pl.lit(None, dtype=pl.String).alias("reason")
    )
    rows = overlay(rows, proven, where=pl.col("status") == Status.PENDING.value, found="event_id")
    terminated = pl.col("status").is_in([Status.PENDING.value, Status.CONFIRMED.value, Status.SKIPPED.value])
    relogins = result.relogins.select("box_user_id", "relogin_after_termination")
    return overlay(rows, relogins, where=terminated, found="relogin_after_termination")


# --- stage 5: report -----------------------------------------------------------------------------------------------


def pending_reason(rows: pl.DataFrame) -> pl.DataFrame:
    """Say why a row is still pending, so a reader knows it is not an error."""
    return _decide_reason(rows, Status.PENDING, "accepted by Box (202); no admin event confirmed it yet")


def _decide_reason(rows: pl.DataFrame, status: Status, reason: str) -> pl.DataFrame:
    fill = (pl.col("status") == status.value) & pl.col("reason").is_null()
    return rows.with_columns(pl.when(fill).then(pl.lit(reason)).otherwise(pl.col("reason")).alias("reason"))


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
            settings=safe_settings(context.settings),
            notes=list(context.notes),
            aborted=aborted,
        )
        path = report_path(context.settings.report_dir, run_id=context.run_id, now=finished_at)
        return write_report(path, users=rows.select(REPORT_COLUMNS), errors=ingested.errors, summary=summary)


def exit_code_for(rows: pl.DataFrame, ingested: IngestResult, *, aborted: str | None) -> int:
    """0 when every file was read and no row failed; 1 otherwise (the report is written either way)."""
    failed = rows.filter(pl.col("status") == Status.FAILED.value).height
    return 1 if failed or ingested.errors.height or aborted else 0


# --- stage 6: deliver -----------------------------------------------------------------------------------------------


def summary_text(outcome: RunOutcome) -> str:
    """The run in markdown: counts per status, re-logins, failures with reasons (the email body and the artifact)."""
    mode = "dry run" if outcome.dry_run else "live run"
    lines = [f"# Box offboarding {outcome.run_id}", "", f"As of {outcome.as_of} ({mode}).", ""]
    if outcome.aborted:
        lines += [f"**Stopped:** {outcome.aborted}", ""]
    lines += [
        "| status | rows |",
        "| --- | ---: |",
        *(f"| {name} | {count} |" for name, count in outcome.counts.items()),
    ]
    lines += ["", f"Re-logins after termination: **{outcome.relogins}**", ""]
    failed = outcome.rows.filter(pl.col("status") == Status.FAILED.value)
    if failed.height:
        lines += [f"## Failed ({failed.height})", ""]
        lines += [f"- {row['login'] or row['login_as_written']} ({row['file']} row {row['row']}): {row['reason']}"
                  for row in failed.head(50).iter_rows(named=True)]  # fmt: skip
        lines += [f"- ... and {failed.height - 50} more (see the report)"] if failed.height > 50 else []
        lines.append("")
    if outcome.errors.height:
        lines += ["## Files not read", "", *(f"- {error}" for error in outcome.errors.get_column("error")), ""]
    lines += [*(f"- note: {note}" for note in outcome.notes), "", f"Report: `{outcome.report}`"]
    return "\n".join(lines)


async def deliver_stage(outcome: RunOutcome, *, settings: Settings) -> list[DeliveryResult]:
    """Send the report to the configured Box folder and mail recipients (none configured: nothing to do)."""
    subject = f"Box offboarding {outcome.as_of}: " + ", ".join(
        f"{count} {name}" for name, count in outcome.counts.items() if count
    )
    return await deliver_report(outcome.report, settings=settings, subject=subject, body=summary_text(outcome))


# --- the whole run ---------------------------------------------------------------------------------------------------


async def run_offboarding(
    paths: Sequence[Path],
    *,
    settings: Settings,
    as_of: date,
    progress: ProgressCallback = _no_progress,
    stage: StageWrapper = run_directly,
) -> RunOutcome:
    """Ingest, validate and resolve, terminate, reconcile, report, deliver. Every input row ends with one status.

    The exit code is 0 when every file was read, no row failed, the run was not stopped and every configured
    delivery succeeded; 1 otherwise. The report and the ledger are written in every case. A run that raises is
    marked failed in the ledger (one killed outright stays "running", and the next run with its inputs resumes it).
    """
    protected = load_protected(settings.protected_path)
    with Ledger(settings.ledger_path) as ledger:
        context = start_run(ledger, paths, settings=settings, as_of=as_of)
        context.progress = progress
        try:
            outcome = await _run_stages(paths, context, ledger=ledger, protected=protected, stage=stage)
        except Exception as error:
            ledger.finish_run(context.run_id, status="failed", finished_at=datetime.now(UTC), report_path=None,
                              summary={"error": f"{type(error).__name__}: {error}"})  # fmt: skip
            raise
        ledger.finish_run(
            context.run_id,
            status="succeeded" if outcome.exit_code == 0 else ("aborted" if outcome.aborted else "failed"),
            finished_at=datetime.now(UTC),
            report_path=str(outcome.report),
            summary={"counts": outcome.counts, "aborted": outcome.aborted, "relogins": outcome.relogins},
        )
    return outcome


async def _run_stages(
    paths: Sequence[Path], context: RunContext, *, ledger: Ledger, protected: frozenset[str], stage: StageWrapper
) -> RunOutcome:
    settings = context.settings
    ingested = stage(ingest_stage)(paths, context)
    aborted: str | None = None
    async with BoxClient(settings.box) as client:
        plan = await stage(plan_stage)(ingested.rows, context, client=client, ledger=ledger, protected=protected)
        rows = plan.rows
        ledger.record_rows(context.run_id, rows)
        if plan.blast_radius is not None:
            aborted = str(plan.blast_radius)
        elif not settings.dry_run:
            termination = await stage(terminate_stage)(plan, context, client=client, ledger=ledger)
            rows = apply_outcomes(rows, termination.outcomes)
            ledger.record_rows(context.run_id, rows)
            if termination.stopped_by is not None:
                aborted = f"Box refused permission (403): {termination.stopped_by.message}; nothing further was sent"
            else:
                rows = await stage(reconcile_stage)(rows, context, client=client, ledger=ledger)
        api_calls = dict(client.calls)
    rows = pending_reason(rows)
    ledger.record_rows(context.run_id, rows)
    report = stage(report_stage)(rows, ingested, context, api_calls=api_calls, aborted=aborted,
                                 finished_at=datetime.now(UTC))  # fmt: skip
    outcome = RunOutcome(
        context.run_id, context.as_of, settings.dry_run, rows, ingested.errors, report, status_counts(rows),
        exit_code_for(rows, ingested, aborted=aborted), aborted, context.notes, api_calls,
    )  # fmt: skip
    outcome.deliveries = await stage(deliver_stage)(outcome, settings=settings)
    if outcome.failed_deliveries:
        outcome.exit_code = 1
        outcome.notes.extend(f"delivery by {d.channel} failed: {d.detail}" for d in outcome.failed_deliveries)
    return outcome


# --- late confirmations ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecheckOutcome:
    """What a re-check of earlier runs' pending users found."""

    pending_before: int
    confirmed: pl.DataFrame  # user_id, login, event_id, confirmed_at
    relogins: int
    api_calls: dict[str, int]

    @property
    def still_pending(self) -> int:
        return self.pending_before - self.confirmed.height


async def recheck_pending(*, settings: Settings) -> RecheckOutcome:
    """Look for the admin events of every user still pending from earlier runs, and record what is found."""
    with Ledger(settings.ledger_path) as ledger:
        pending = ledger.accepted()
        if pending.is_empty():
            return RecheckOutcome(0, pl.DataFrame(schema=_CONFIRMED_SCHEMA), 0, {})
        async with BoxClient(settings.box) as client:
            result = await reconcile_with(
                client,
                pending.select(pl.col("user_id").alias("box_user_id"), "requested_at"),
                settings=settings,
                timeout_seconds=0,
            )
            api_calls = dict(client.calls)
        _record_reconciliation(result, ledger, tolerance=timedelta(seconds=settings.event_skew_seconds))
        confirmed = result.confirmations.join(
            pending.select(pl.col("user_id").alias("box_user_id"), "login"), on="box_user_id", how="left"
        ).select(pl.col("box_user_id").alias("user_id"), "login", "event_id", "confirmed_at")
    return RecheckOutcome(pending.height, confirmed, result.relogins.height, api_calls)


_CONFIRMED_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.String(),
    "login": pl.String(),
    "event_id": pl.String(),
    "confirmed_at": RESULT_SCHEMA["confirmed_at"],
}
