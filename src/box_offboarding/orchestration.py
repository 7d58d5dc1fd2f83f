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
from pydantic import Field

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

#: How far each stage moves the progress artifact (percent at its start, at its end).
PROGRESS_SPANS = {"terminate": (0.0, 80.0), "reconcile": (80.0, 100.0)}


def as_task(stage: Callable[P, R], /) -> Callable[P, R]:
    """A pipeline stage as a Prefect task: its own run in the UI, no result persistence (frames stay in memory)."""
    name = stage.__name__.removesuffix("_stage")
    return task(name=name, cache_policy=NO_CACHE, persist_result=False)(stage)


def offboard_run_name() -> str:
    """``offboard-2026-11-29`` or ``offboard-2026-11-29-dry-run``, with the shard when split."""
    parameters = flow_run.parameters
    as_of = parameters.get("as_of") or "today"
    name = f"offboard-{as_of}" + ("-dry-run" if parameters.get("dry_run") else "")
    shard_count = parameters.get("shard_count") or 1
    return name + (f"-shard-{int(parameters.get('shard_index') or 0) + 1}-of-{shard_count}" if shard_count > 1 else "")


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


@flow(name="offboard", flow_run_name=offboard_run_name, log_prints=True)
async def offboard(
    inputs: list[str] | None = None,
    as_of: date | None = None,
    dry_run: bool = False,
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 100,
    max_users: Annotated[int, Field(ge=0, le=1_000_000)] = 500,
    allow_large_run: bool = False,
    confirm_timeout_seconds: Annotated[float, Field(ge=0, le=86_400)] = 120.0,
    protected_path: str | None = None,
    box_folder_id: str | None = None,
    email_to: list[str] | None = None,
    sheets: list[str] | None = None,
    shard_index: Annotated[int, Field(ge=0, le=63)] = 0,
    shard_count: Annotated[int, Field(ge=1, le=64)] = 1,
) -> State[Any]:
    """Offboard leavers: HR files in, Box sessions terminated and proven by admin events, an Excel report out.

    Args:
        inputs: HR files, folders or globs (.xlsx .xlsm .xls .csv .tsv). Empty: the inbox folder (OFFBOARD_INBOX_DIR).
        as_of: Terminate people whose termination date is on or before this day. Empty: today in OFFBOARD_TIMEZONE.
        dry_run: Do everything except the termination calls; rows to terminate are reported as planned.
        batch_size: Users per terminate_sessions call.
        max_users: Blast-radius guard: stop before terminating more users than this.
        allow_large_run: Lift the blast-radius guard (max_users and the share of the directory) for this run.
        confirm_timeout_seconds: How long to wait for Box's admin events to confirm terminations (0: don't wait).
        protected_path: File of logins never to terminate, one per line. Empty: OFFBOARD_PROTECTED_PATH.
        box_folder_id: Also upload the report to this Box folder. Empty: OFFBOARD_BOX_FOLDER_ID.
        email_to: Also email the report to these addresses (SMTP settings from the environment).
        sheets: Read only these workbook sheets as leavers (names, any case). Empty: every sheet that looks like a
            leaver list (a login and a termination-date column, a name that does not say rehires, new hires...).
        shard_index: This run's part when one offboarding is split across runs (0-based).
        shard_count: How many parts the offboarding is split into (1: not split).
    """
    overrides: dict[str, Any] = {
        "dry_run": dry_run, "batch_size": batch_size, "max_users": max_users, "allow_large_run": allow_large_run,
        "confirm_timeout_seconds": confirm_timeout_seconds, "shard_index": shard_index, "shard_count": shard_count,
        "protected_path": Path(protected_path) if protected_path else None, "box_folder_id": box_folder_id,
        "mail_to": tuple(email_to) if email_to else None, "sheets": tuple(sheets) if sheets else None,
    }  # fmt: skip
    overrides["box"] = await box_settings_from_blocks()
    settings = load_settings(**{key: value for key, value in overrides.items() if value is not None})
    return await offboard_with(settings, inputs=inputs, as_of=as_of)


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
    inputs: list[str] | None = None,
    as_of: date | None = None,
    shards: Annotated[int, Field(ge=1, le=64)] = 2,
    deployment: str = "offboard/shard-offboarding",
    dry_run: bool = True,
    allow_large_run: bool = False,
) -> State[Any]:
    """Split one large offboarding across several runs of a deployment (several workers), sharing Box's budget.

    Args:
        inputs: HR files, folders or globs, as every shard reads them (each keeps the logins that hash to it).
        as_of: As-of date for every shard. Empty: today.
        shards: How many child runs.
        deployment: The deployment each shard runs (FLOW/DEPLOYMENT), in a pool without a limit of 1.
        dry_run: Passed to every shard.
        allow_large_run: Passed to every shard: each shard's blast-radius guard counts only its own users.
    """
    parameters: dict[str, Any] = {"inputs": inputs, "dry_run": dry_run, "allow_large_run": allow_large_run,
                                  "shard_count": shards}  # fmt: skip
    if as_of is not None:
        parameters["as_of"] = as_of.isoformat()
    runs = await asyncio.gather(
        *(
            arun_deployment(deployment, parameters={**parameters, "shard_index": index}, timeout=None, as_subflow=True)
            for index in range(shards)
        )
    )
    failed = [run.name for run in runs if run.state is None or not run.state.is_completed()]
    message = f"{shards} shards, {len(failed)} not completed" + (f": {', '.join(failed)}" if failed else "")
    return Failed(message=message) if failed else Completed(message=message)
