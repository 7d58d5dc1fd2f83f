"""The approval step on Prefect: the plan as a flow-run artifact, and a pause with a typed form the UI shows on
"Resume" (see :mod:`box_offboarding.approval`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from prefect.artifacts import acreate_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import apause_flow_run
from prefect.input import RunInput
from prefect.states import Running
from pydantic import Field

from box_offboarding.approval import ApprovalDecision, ApprovalRequest, Approver, no_answer, plan_markdown

#: Prefect's own pause deadline is this much later than ours: past its deadline the server fails the run with its
#: own words ("never resumed") and refuses any other state, so the run could not say why it stopped.
PREFECT_DEADLINE_MARGIN_SECONDS = 300


def prefect_approver(*, timeout_seconds: float, poll_seconds: float) -> Approver:
    """An approver that publishes the plan on the flow run page and pauses the run until a person resumes it with
    the approval form, or ``timeout_seconds`` pass (then the run is set running again, to end saying why)."""

    async def ask(request: ApprovalRequest) -> ApprovalDecision:
        await acreate_markdown_artifact(plan_markdown(request), key="offboarding-plan", description="Plan to approve")
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
        return ApprovalDecision(approved=form.approve, approver=form.approver.strip(), comment=form.comment.strip(),
                                decided_at=datetime.now(UTC))  # fmt: skip

    return ask


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
