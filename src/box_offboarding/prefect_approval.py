"""The approval step on Prefect: the plan as a flow-run artifact, and a pause with a typed form the UI shows on
"Resume" (see :mod:`box_offboarding.approval`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from prefect.artifacts import acreate_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import apause_flow_run, asuspend_flow_run
from prefect.input import RunInput
from prefect.states import Running
from pydantic import Field

from box_offboarding.approval import ApprovalDecision, ApprovalRequest, Approver, no_answer, plan_markdown

#: Prefect's own pause deadline is this much later than ours: past its deadline the server fails the run with its
#: own words ("never resumed") and refuses any other state, so the run could not say why it stopped.
PREFECT_DEADLINE_MARGIN_SECONDS = 300


def prefect_approver(*, timeout_seconds: float, poll_seconds: float) -> Approver:
    """An approver that publishes the plan on the flow run page and waits for a person to resume the run with the
    approval form, or for ``timeout_seconds`` to pass.

    A deployment's run is **suspended**: its process exits (a worker may restart meanwhile) and Prefect runs the flow
    again once resumed. That run plans again and asks with the same key, the fingerprint of its targets: the same
    plan gets the answer already given; a plan that changed meanwhile (other HR files) is a new question, asked
    anew, so what is sent is always what a person approved. Past the timeout Prefect fails the suspended run itself
    ("never resumed"). A run without a deployment (the CLI's ``--prefect``, tests) waits in its process instead
    (``pause_flow_run``), and past the timeout ends saying so."""

    async def ask(request: ApprovalRequest) -> ApprovalDecision:
        await acreate_markdown_artifact(plan_markdown(request), key="offboarding-plan", description="Plan to approve")
        context = FlowRunContext.get()
        if context is not None and context.flow_run is not None and context.flow_run.deployment_id is not None:
            answer = await asuspend_flow_run(
                wait_for_input=ApprovalForm, timeout=int(timeout_seconds), key=f"approval-{request.fingerprint}"
            )
            assert answer is not None  # first asked: the process exits (Pause); asked again: the form's answer
            return _decision(answer)
        pause = apause_flow_run(
            wait_for_input=ApprovalForm,
            timeout=int(timeout_seconds) + PREFECT_DEADLINE_MARGIN_SECONDS,
            poll_interval=max(1, int(poll_seconds)),
        )
        try:
            form = await asyncio.wait_for(pause, timeout=timeout_seconds)
        except (TimeoutError, FlowPauseTimeout):
            await _running_again(f"no approval within {timeout_seconds:g} s")
            return no_answer(timeout_seconds)
        return _decision(form)

    return ask


def _decision(form: ApprovalForm) -> ApprovalDecision:
    return ApprovalDecision(approved=form.approve, approver=form.approver.strip(), comment=form.comment.strip(),
                            decided_at=datetime.now(UTC))  # fmt: skip


async def _running_again(message: str) -> None:
    """Take the paused run back to Running (forced: nobody resumed it), so that it can end in a state of its own."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    async with get_client() as client:
        await client.set_flow_run_state(context.flow_run.id, Running(message=message), force=True)


class ApprovalForm(RunInput):
    """Approve this offboarding run: only an approval sends the terminations listed in the plan."""

    approve: bool = Field(False, title="Approve: terminate the sessions listed in the plan")
    approver: str = Field(title="Your name", min_length=1, max_length=200)
    comment: str = Field("", title="Comment (why, ticket number)", max_length=2000)
