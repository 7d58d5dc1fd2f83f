"""Prefect flows around the pipeline: each stage a thin task, artifacts for people, a Failed state when it matters.

``flows/offboarding.py`` and ``flows/reconcile.py`` expose these flows to ``prefect.yaml``. HTTP retries stay in
the Box client; no task retries, since a stage that sent terminations must not be rerun blindly (the ledger makes a
rerun of the whole flow safe instead).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar, cast
from uuid import UUID

from prefect import State, flow, get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact, acreate_progress_artifact, aupdate_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.deployments.flow_runs import arun_deployment
from prefect.runtime import flow_run
from prefect.states import Completed, Failed
from pydantic import MISSING, Field, WithJsonSchema

from box_offboarding.artifacts import publish_artifacts
from box_offboarding.ingest import expand_inputs
from box_offboarding.outcome import RecheckOutcome, RunOutcome
from box_offboarding.pipeline import run_offboarding
from box_offboarding.prefect_approval import prefect_approver
from box_offboarding.recheck import recheck_pending
from box_offboarding.settings import BoxSettings, Settings, load_settings
from box_offboarding.statuses import Status

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

#: How far each stage moves the progress artifact (percent at its start, at its end).
PROGRESS_SPANS = {"terminate": (0.0, 80.0), "reconcile": (80.0, 100.0)}


def as_task(stage: Callable[P, R], /) -> Callable[P, R]:
    """A pipeline stage as a Prefect task: its own run in the UI, no result persistence (frames stay in memory)."""
    name = stage.__name__.removesuffix("_stage")
    return task(name=name, cache_policy=NO_CACHE, persist_result=False)(stage)


def offboard_run_name() -> str:
    """``offboard-2026-12-02-live-1a2b3c`` or ``...-dry-run-1a2b3c``: the as-of date the run resolves (today in the
    worker's time zone when empty), its mode, the start of the run id (unique in the history), the shard when split."""
    parameters = {name: value for name, value in flow_run.parameters.items() if given(value)}
    settings = load_settings(**{name: parameters[name] for name in ("dry_run", "shard_count") if name in parameters})
    as_of = parameters.get("as_of") or settings.today().isoformat()
    mode = "dry-run" if settings.dry_run else "live"
    name = f"offboard-{as_of}-{mode}-{str(flow_run.id or '')[:6]}"
    shard = f"-shard-{int(parameters.get('shard_index', 0)) + 1}-of-{settings.shard_count}"
    return name + (shard if settings.shard_count > 1 else "")


class ProgressArtifact:
    """Moves one Prefect progress artifact as termination and reconciliation advance (whole percents only)."""

    def __init__(self, artifact_id: UUID) -> None:
        self.artifact_id = artifact_id
        self.shown = 0.0
        self.updates: set[asyncio.Task[Any]] = set()

    def __call__(self, stage: str, done: int, total: int) -> None:
        start, end = PROGRESS_SPANS.get(stage, (0.0, 100.0))
        percent = float(int(start + (end - start) * (done / total if total else 1.0)))
        if percent > self.shown:
            self.shown = percent
            update: Coroutine[Any, Any, UUID] = aupdate_progress_artifact(self.artifact_id, percent)
            self.updates.add(asyncio.ensure_future(update))

    async def finish(self) -> None:
        await asyncio.gather(*self.updates)
        await aupdate_progress_artifact(self.artifact_id, 100.0)


def final_state(outcome: RunOutcome) -> State[Any]:
    """Failed (so Prefect's notifications fire) when rows failed, a file was unread, the run stopped or delivery
    failed; Completed otherwise. The counts are the state's result either way."""
    result = {"run_id": outcome.run_id, "report": str(outcome.report), "relogins": outcome.relogins, **outcome.counts}
    if outcome.exit_code == 0:
        return Completed(message=f"run {outcome.run_id}: {outcome.counts}", data=result)
    reasons = [f"{outcome.counts[Status.FAILED.value]} rows failed"] if outcome.counts[Status.FAILED.value] else []
    reasons += [f"{outcome.errors.height} files not read"] if outcome.errors.height else []
    reasons += [f"stopped: {outcome.aborted}"] if outcome.aborted else []
    reasons += [f"delivery failed ({d.channel})" for d in outcome.failed_deliveries]
    return Failed(message=f"run {outcome.run_id}: " + "; ".join(reasons), data=result)


#: Prefect Secret blocks read when the matching BOX_* variable is not set (README "Going live").
SECRET_BLOCKS = {
    "client_id": "box-client-id",
    "client_secret": "box-client-secret",
    "enterprise_id": "box-enterprise-id",
    "developer_token": "box-developer-token",
}


async def box_settings_from_blocks() -> BoxSettings:
    """Box settings from the environment, with credentials the environment lacks taken from Secret blocks."""
    from prefect.blocks.system import Secret

    values: dict[str, Any] = {}
    for field_name, block_name in SECRET_BLOCKS.items():
        if os.environ.get(f"BOX_{field_name.upper()}"):
            continue
        try:
            secret = cast("Secret[Any]", await Secret.aload(block_name))
        except ValueError:  # no such block: the environment is the only source
            continue
        values[field_name] = secret.get()
    return BoxSettings(**values)


def form_field(title: str, description: str, **constraints: Any) -> Any:
    """A flow parameter as the custom-run form shows it: a human title and a description that says, in words, what
    an empty field does. Prefect titles fields with their identifiers and merges ``json_schema_extra`` last."""
    return Field(json_schema_extra={"title": title, "description": description}, **constraints)


def one_type(schema: dict[str, Any]) -> WithJsonSchema:
    """Publish a single type for an optional parameter, so the form shows a plain field (no type switch, no
    ``Property is type "None"``) while Python still takes None.

    Such parameters default to pydantic's ``MISSING``, which leaves ``default`` out of the published schema: with
    ``"default": null`` the form sends null, which the server refuses for a single type ("None is not of type
    'integer'"). Without it the field starts empty and an empty field is not sent: the worker's setting holds.
    """
    return WithJsonSchema(schema)


_TEXT_LIST = {"type": "array", "items": {"type": "string"}}

# fmt: off
# The parameters in the order of the form: the everyday ones first, then the "Advanced" ones, then the shard ones.
HrFiles = Annotated[list[str] | MISSING | None, one_type(_TEXT_LIST), form_field(
    "HR files",
    "Files, folders or patterns such as /srv/hr/*.xlsx (Excel or CSV), one per line. Empty: every file in the "
    "worker's inbox folder (OFFBOARD_INBOX_DIR on the worker).")]
AsOf = Annotated[date | MISSING | None, one_type({"type": "string", "format": "date"}), form_field(
    "As-of date",
    "Offboard the people whose last day is on or before this date. Empty: today, in the worker's time zone.")]
DryRun = Annotated[bool | MISSING | None, one_type({"type": "boolean"}), form_field(
    "Dry run (terminate no one)",
    "On: read, check and report everything, but end no one's Box sessions; the report lists who would be offboarded. "
    "Off: a live run that ends their sessions (from manual-offboarding, only after a person approves its plan: the "
    "run waits, Paused, for Resume). A run started without it (by the API or a schedule) follows the worker's "
    "setting.")]
MaxUsers = Annotated[int | MISSING | None, one_type({"type": "integer", "minimum": 0, "maximum": 1_000_000}),
                     form_field(
    "Most people to offboard",
    "Safety stop: the run halts before ending the sessions of more people than this. Empty: the worker's limit "
    "(500 unless OFFBOARD_MAX_USERS on the worker says otherwise).", ge=0, le=1_000_000)]
AllowLargeRun = Annotated[bool | MISSING | None, one_type({"type": "boolean"}), form_field(
    "Allow a large run",
    "On: lift the safety stop (most people, and the share of the whole Box directory) for this run only. Off: the "
    "stop holds.")]
EmailTo = Annotated[list[str] | MISSING | None, one_type(_TEXT_LIST), form_field(
    "Email the report to",
    "Addresses that get the Excel report, one per line; the worker's mail server sends it. Empty: the worker's "
    "recipients, if it has any.")]
BoxFolderId = Annotated[str | MISSING | None, one_type({"type": "string"}), form_field(
    "Upload the report to Box folder",
    "The id of a Box folder (the number at the end of its web address) to upload the report to. Empty: the "
    "worker's folder, if it has one.")]
ProtectedPath = Annotated[str | MISSING | None, one_type({"type": "string"}), form_field(
    "Advanced: never-offboard list",
    "Path, on the worker, of a text file of logins never to offboard, one per line. Empty: the worker's list, if it "
    "has one (admins and co-admins are always spared).")]
Sheets = Annotated[list[str] | MISSING | None, one_type(_TEXT_LIST), form_field(
    "Advanced: read only these sheets",
    "Workbook sheet names to read as leavers (any case), one per line. Empty: every sheet that looks like a leaver "
    "list (a login and a last-day column, a name that does not say rehires, new hires...).")]
BatchSize = Annotated[int | MISSING | None, one_type({"type": "integer", "minimum": 1, "maximum": 1000}), form_field(
    "Advanced: people per Box request",
    "How many people one Box request offboards (1 to 1000). Empty: the worker's setting (100 unless it says "
    "otherwise).", ge=1, le=1000)]
ConfirmTimeout = Annotated[float | MISSING | None, one_type({"type": "number", "minimum": 0, "maximum": 86_400}),
                           form_field(
    "Advanced: wait for Box's confirmation (seconds)",
    "How long to wait for Box's admin events that prove the sessions ended; 0: don't wait (the hourly re-check "
    "picks them up). Empty: the worker's setting (120 unless it says otherwise).", ge=0, le=86_400)]
ShardIndex = Annotated[int | MISSING | None, one_type({"type": "integer", "minimum": 0, "maximum": 63}), form_field(
    "Shard number (from 0)",
    "Which part of a split offboarding this run takes. Set by sharded-offboarding. Empty: 0.", ge=0, le=63)]
ShardCount = Annotated[int | MISSING | None, one_type({"type": "integer", "minimum": 1, "maximum": 64}), form_field(
    "Number of shards",
    "How many parts the offboarding is split into; this run takes only the leavers of its part. Set by "
    "sharded-offboarding. Empty: 1 (not split).", ge=1, le=64)]
Shards = Annotated[int, form_field(
    "Number of shards", "How many runs of the shard deployment to start; each takes its share of the leavers.",
    ge=1, le=64)]
ShardDeployment = Annotated[str, form_field(
    "Advanced: shard deployment", "The deployment each shard runs (FLOW/DEPLOYMENT), in a pool without a limit of 1.")]
# fmt: on


def given(value: object) -> bool:
    """Whether a run was given this parameter: not left out (MISSING), None, or an empty text or list from the form."""
    return value is not MISSING and value is not None and value != "" and value != []


def given_or_none(value: T | MISSING | None) -> T | None:
    """The parameter's value when the run was given one, else None."""
    return None if value is MISSING or not given(value) else value


async def settings_given(**parameters: object) -> Settings:
    """The worker's settings (environment, ``.env``, Secret blocks) under only the parameters this run was given.

    A parameter left out or empty keeps the worker's setting, which keeps the built-in default when the worker has
    none: a worker started with OFFBOARD_MAX_USERS=50 holds every run that does not set max_users itself.
    """
    overrides: dict[str, object] = {name: value for name, value in parameters.items() if given(value)}
    if "email_to" in overrides:
        overrides["mail_to"] = tuple(cast("list[str]", overrides.pop("email_to")))
    if "sheets" in overrides:
        overrides["sheets"] = tuple(cast("list[str]", overrides["sheets"]))
    if "protected_path" in overrides:
        overrides["protected_path"] = Path(cast("str", overrides["protected_path"]))
    return load_settings(**overrides, box=await box_settings_from_blocks())


@flow(name="offboard", flow_run_name=offboard_run_name, log_prints=True)
async def offboard(
    inputs: HrFiles = MISSING,
    as_of: AsOf = MISSING,
    dry_run: DryRun = MISSING,
    max_users: MaxUsers = MISSING,
    allow_large_run: AllowLargeRun = MISSING,
    email_to: EmailTo = MISSING,
    box_folder_id: BoxFolderId = MISSING,
    protected_path: ProtectedPath = MISSING,
    sheets: Sheets = MISSING,
    batch_size: BatchSize = MISSING,
    confirm_timeout_seconds: ConfirmTimeout = MISSING,
) -> State[Any]:
    """Offboard leavers: HR files in, Box sessions terminated and proven by admin events, an Excel report out.

    Every parameter left empty keeps the worker's setting (its environment, ``.env`` or Secret blocks), and the
    built-in default when the worker has none; the form's titles and descriptions are the aliases' above.
    """
    settings = await settings_given(
        dry_run=dry_run, max_users=max_users, allow_large_run=allow_large_run, email_to=email_to,
        box_folder_id=box_folder_id, protected_path=protected_path, sheets=sheets, batch_size=batch_size,
        confirm_timeout_seconds=confirm_timeout_seconds,
    )  # fmt: skip
    return await offboard_with(settings, inputs=given_or_none(inputs), as_of=given_or_none(as_of))


@flow(name="offboard", flow_run_name=offboard_run_name, log_prints=True)
async def offboard_shard(
    inputs: HrFiles = MISSING,
    as_of: AsOf = MISSING,
    dry_run: DryRun = MISSING,
    max_users: MaxUsers = MISSING,
    allow_large_run: AllowLargeRun = MISSING,
    email_to: EmailTo = MISSING,
    box_folder_id: BoxFolderId = MISSING,
    protected_path: ProtectedPath = MISSING,
    sheets: Sheets = MISSING,
    batch_size: BatchSize = MISSING,
    confirm_timeout_seconds: ConfirmTimeout = MISSING,
    shard_index: ShardIndex = MISSING,
    shard_count: ShardCount = MISSING,
) -> State[Any]:
    """One shard of a split offboarding: the ``offboard`` flow (same name, same history) on the leavers whose login
    hashes to ``shard_index``. Only the shard deployment uses it, so the everyday form has no shard fields."""
    settings = await settings_given(
        dry_run=dry_run, max_users=max_users, allow_large_run=allow_large_run, email_to=email_to,
        box_folder_id=box_folder_id, protected_path=protected_path, sheets=sheets, batch_size=batch_size,
        confirm_timeout_seconds=confirm_timeout_seconds, shard_index=shard_index, shard_count=shard_count,
    )  # fmt: skip
    return await offboard_with(settings, inputs=given_or_none(inputs), as_of=given_or_none(as_of))


async def offboard_with(settings: Settings, *, inputs: list[str] | None, as_of: date | None) -> State[Any]:
    """The flow's body, for callers that already hold settings (the demo, tests)."""
    paths = expand_inputs(inputs or [settings.inbox_dir])
    artifact_id = await acreate_progress_artifact(0.0, key="offboarding-progress", description="Termination")
    progress = ProgressArtifact(artifact_id)
    approver = prefect_approver(timeout_seconds=settings.approval_timeout_seconds,
                                poll_seconds=settings.approval_poll_seconds)  # fmt: skip
    outcome = await run_offboarding(
        paths, settings=settings, as_of=as_of or settings.today(), progress=progress, stage=as_task, approver=approver
    )
    await progress.finish()
    await publish_artifacts(outcome, box_web_url=settings.box.web_url)
    get_run_logger().info("report written to %s", outcome.report)
    return final_state(outcome)


@flow(name="reconcile-pending", log_prints=True)
async def reconcile_pending() -> dict[str, int]:
    """Re-check the users earlier runs left pending (accepted by Box, no admin event yet) and record what is found."""
    recheck = task(name="recheck", cache_policy=NO_CACHE, persist_result=False)(recheck_pending)
    outcome: RecheckOutcome = await recheck(settings=load_settings(box=await box_settings_from_blocks()))
    lines = [
        "# Pending terminations re-checked",
        "",
        f"- pending before: {outcome.pending_before}",
        f"- confirmed now: {outcome.confirmed.height}",
        f"- still pending: {outcome.still_pending}",
        f"- re-logins after termination: {outcome.relogins}",
    ]
    confirmed = outcome.confirmed.head(100).to_dicts()
    lines += [f"  - {row['login']} confirmed at {row['confirmed_at']}" for row in confirmed]
    await acreate_markdown_artifact("\n".join(lines), key="reconcile-pending", description="Late confirmations")
    return {
        "pending_before": outcome.pending_before,
        "confirmed": outcome.confirmed.height,
        "still_pending": outcome.still_pending,
        "relogins": outcome.relogins,
    }


@flow(name="offboard-sharded", log_prints=True)
async def offboard_sharded(
    inputs: HrFiles = MISSING,
    as_of: AsOf = MISSING,
    shards: Shards = 2,
    dry_run: DryRun = MISSING,
    allow_large_run: AllowLargeRun = MISSING,
    deployment: ShardDeployment = "offboard/shard-offboarding",
) -> State[Any]:
    """Split one large offboarding across several runs of a deployment (several workers), sharing Box's budget.

    Each shard reads every input and keeps the logins that hash to it; a parameter left empty is not passed on, so
    every shard keeps its worker's setting. Allow a large run counts per shard: each guard sees only its own users.
    """
    chosen = {"inputs": inputs, "dry_run": dry_run, "allow_large_run": allow_large_run}
    parameters: dict[str, Any] = {name: value for name, value in chosen.items() if given(value)}
    parameters["shard_count"] = shards
    if (day := given_or_none(as_of)) is not None:
        parameters["as_of"] = day.isoformat()
    runs = await asyncio.gather(
        *(
            arun_deployment(deployment, parameters={**parameters, "shard_index": index}, timeout=None, as_subflow=True)
            for index in range(shards)
        )
    )
    failed = [run.name for run in runs if run.state is None or not run.state.is_completed()]
    message = f"{shards} shards, {len(failed)} not completed" + (f": {', '.join(failed)}" if failed else "")
    return Failed(message=message) if failed else Completed(message=message)
