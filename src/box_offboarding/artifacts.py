"""What a flow run shows on its Prefect page: the summary, the rows that need a person, and where the report is.

The report's place is a link a browser can open: the file in Box's web app when the run uploaded it to a Box folder,
else a note naming the worker's host and the report's absolute path (a ``file://`` link opens nothing on the
machine of whoever clicks it).
"""

from __future__ import annotations

import socket
from typing import Any

import polars as pl
from prefect.artifacts import acreate_link_artifact, acreate_markdown_artifact, acreate_table_artifact

from box_offboarding.delivery import DeliveryResult
from box_offboarding.outcome import RunOutcome
from box_offboarding.report import attention_frame, summary_text
from box_offboarding.settings import BoxSettings

#: Most rows the run page's attention table shows; the report's Attention sheet has them all.
ATTENTION_CAP = 200
#: Longest reason the attention table shows, so a row fits on screen; the report has the whole text.
REASON_CHARS = 90
#: Box's web app address of a file is ``<this>/<file id>``: ``BOX_WEB_URL``'s default (the simulator's equivalent is
#: ``<BOX_BASE_URL>/_sim/uploads``, which serves the uploaded bytes).
BOX_WEB_URL: str = BoxSettings.model_fields["web_url"].default
#: The attention table's columns, in order.
ATTENTION_TABLE_COLUMNS = ("attention", "login", "what_to_do", "reason", "file", "sheet", "row")


def attention_rows(
    outcome: RunOutcome, *, cap: int = ATTENTION_CAP, reason_chars: int = REASON_CHARS
) -> tuple[list[dict[str, Any]], int]:
    """Rows (and unread files) a person should look at, most urgent first, at most ``cap``; and how many in all.

    The same rows as the report's Attention sheet (:func:`~box_offboarding.report.attention_frame`), with reasons
    cut to ``reason_chars`` characters.
    """
    frame = attention_frame(outcome.rows, outcome.errors)
    shown = frame.head(cap).select(
        *ATTENTION_TABLE_COLUMNS[:3],
        pl.when(pl.col("reason").str.len_chars() > reason_chars)
        .then(pl.col("reason").str.slice(0, reason_chars - 1) + "…")
        .otherwise(pl.col("reason"))
        .alias("reason"),
        *ATTENTION_TABLE_COLUMNS[4:],
    )
    return shown.to_dicts(), frame.height


def box_report_url(outcome: RunOutcome, *, box_web_url: str = BOX_WEB_URL) -> str | None:
    """The uploaded report in Box's web app, when this run uploaded it; else None."""
    uploaded = [result for result in outcome.deliveries if result.channel == "box" and result.ok and result.location]
    return f"{box_web_url.rstrip('/')}/{uploaded[0].location}" if uploaded else None


def report_location_markdown(outcome: RunOutcome, *, host: str) -> str:
    """Where the report is when it is not in Box: the host and absolute path, and why it is not in Box."""
    path = outcome.report.resolve()
    lines = ["# Excel report", "", f"- host: `{host}`", f"- path: `{path}`", ""]
    box: list[DeliveryResult] = [result for result in outcome.deliveries if result.channel == "box"]
    if box:
        lines.append(f"{'Box' if box[0].ok else 'Not in Box'}: {box[0].detail}")
    else:
        lines.append("Not uploaded to Box: no folder is set (OFFBOARD_BOX_FOLDER_ID, or the flow's box_folder_id).")
    return "\n".join(lines)


async def publish_artifacts(outcome: RunOutcome, *, box_web_url: str = BOX_WEB_URL, host: str | None = None) -> None:
    """Summary, attention table and where the report is, for the flow run page.

    ``host`` (default: this machine's name) is named when the report is only on this machine's disk.
    """
    await acreate_markdown_artifact(summary_text(outcome), key="offboarding-summary", description="Run summary")
    rows, total = attention_rows(outcome)
    beyond = f"; {total - ATTENTION_CAP} more in the report's Attention sheet" if total > ATTENTION_CAP else ""
    await acreate_table_artifact(
        rows or [{"attention": "none", "login": "", "what_to_do": "nothing needs a person"}],
        key="offboarding-attention",
        description=f"Rows that need a person: {total}{beyond}",
    )
    url = box_report_url(outcome, box_web_url=box_web_url)
    if url is not None:
        await acreate_link_artifact(
            url, link_text=f"{outcome.report.name} in Box", key="offboarding-report", description="The Excel report"
        )
        return
    await acreate_markdown_artifact(
        report_location_markdown(outcome, host=host or socket.gethostname()),
        key="offboarding-report",
        description="Where the Excel report is",
    )
