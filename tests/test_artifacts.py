"""The flow run page's artifacts: the attention table and where the report is (recorded, no Prefect server)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from box_offboarding import artifacts
from box_offboarding.artifacts import (
    ATTENTION_CAP,
    ATTENTION_TABLE_COLUMNS,
    BOX_WEB_URL,
    attention_rows,
    box_report_url,
    publish_artifacts,
    report_location_markdown,
)
from box_offboarding.columns import FILE_ERROR_SCHEMA, ROW_SCHEMA
from box_offboarding.delivery import DeliveryResult
from box_offboarding.outcome import RunOutcome
from box_offboarding.report import ATTENTION_ACTIONS, UNREAD, status_counts
from box_offboarding.statuses import Status

UPLOADED = DeliveryResult("box", True, "uploaded to Box folder 77 as file 9001 (new file)", "9001")
REFUSED = DeliveryResult("box", False, "upload of r.xlsx to Box folder 77 failed: 403 access_denied", None)
EMAILED = DeliveryResult("email", True, "sent to hr@example.com via smtp:587 (starttls)", None)


def row(**values: object) -> dict[str, object]:
    """One result row: a confirmed leaver unless overridden."""
    base: dict[str, object] = {name: None for name in ROW_SCHEMA}
    base |= {"file": "leavers.csv", "row": 2, "login": "ada@example.com", "login_as_written": "ada@example.com"}
    return base | {"status": Status.CONFIRMED.value, "reason": "sessions terminated"} | values


def outcome(
    *rows: dict[str, object],
    errors: Sequence[tuple[str, str | None, str]] = (),
    deliveries: Sequence[DeliveryResult] = (),
) -> RunOutcome:
    """A finished run of ``rows``, with the files not read and the deliveries given."""
    frame = pl.DataFrame(list(rows), schema=ROW_SCHEMA)
    return RunOutcome(
        run_id="run-1",
        as_of=date(2026, 11, 29),
        dry_run=False,
        rows=frame,
        errors=pl.DataFrame(list(errors), schema=FILE_ERROR_SCHEMA, orient="row"),
        report=Path("reports/offboarding-run-1.xlsx"),
        counts=status_counts(frame),
        aborted=None,
        notes=[],
        api_calls={},
        deliveries=list(deliveries),
    )


def test_attention_table_includes_invalid_rows_and_unread_files() -> None:
    """The most dangerous rows are on the table: a malformed login (keeps access) and a file not read at all."""
    run = outcome(
        row(),
        row(row=3, status="invalid", login=None, login_as_written="ada(at)example", reason="not an email address"),
        errors=[("payroll.xlsx", None, "encrypted: a password protects this workbook")],
    )
    rows, total = attention_rows(run)
    assert total == 2
    assert [(r["attention"], r["login"], r["file"]) for r in rows] == [
        (UNREAD, None, "payroll.xlsx"),
        ("invalid", "ada(at)example", "leavers.csv"),
    ]
    assert rows[1]["what_to_do"] == ATTENTION_ACTIONS[Status.INVALID]
    assert all(list(r) == list(ATTENTION_TABLE_COLUMNS) for r in rows)


def test_attention_table_reasons_fit_on_screen() -> None:
    """A long reason is cut with an ellipsis; a short one is kept whole."""
    run = outcome(row(status="failed", reason="x" * 500), row(row=3, status="failed", reason="short"))
    rows, _ = attention_rows(run, reason_chars=40)
    assert [len(r["reason"]) for r in rows] == [40, 5]
    assert rows[0]["reason"].endswith("…")


def test_attention_table_is_capped_but_counts_everything() -> None:
    """At most ``cap`` rows are shown; the total says how many need a person."""
    run = outcome(*(row(row=n, status="not_found") for n in range(2, 12)))
    rows, total = attention_rows(run, cap=4)
    assert (len(rows), total) == (4, 10)
    assert [r["row"] for r in rows] == [2, 3, 4, 5]


@pytest.mark.parametrize(
    ("deliveries", "web_url", "expected"),
    [
        ([UPLOADED], BOX_WEB_URL, "https://app.box.com/file/9001"),
        ([EMAILED, UPLOADED], "http://127.0.0.1:8765/_sim/uploads/", "http://127.0.0.1:8765/_sim/uploads/9001"),
        ([REFUSED, EMAILED], BOX_WEB_URL, None),
        ([], BOX_WEB_URL, None),
    ],
)
def test_box_report_url(deliveries: list[DeliveryResult], web_url: str, expected: str | None) -> None:
    """The uploaded file's page in Box (or the simulator's equivalent); none when nothing was uploaded."""
    assert box_report_url(outcome(row(), deliveries=deliveries), box_web_url=web_url) == expected


@pytest.mark.parametrize(
    ("deliveries", "says"),
    [([], "no folder is set"), ([REFUSED], "Not in Box: upload of r.xlsx to Box folder 77 failed: 403")],
)
def test_report_location_names_host_and_absolute_path(deliveries: list[DeliveryResult], says: str) -> None:
    """Without an upload the report is named by host and absolute path, with why it is not in Box."""
    text = report_location_markdown(outcome(row(), deliveries=deliveries), host="worker-7")
    assert "`worker-7`" in text
    assert f"`{Path('reports/offboarding-run-1.xlsx').resolve()}`" in text
    assert says in text
    assert "file://" not in text


class Recorder:
    """Stands in for Prefect's artifact functions: records what would be created, by key."""

    def __init__(self) -> None:
        self.created: dict[str, tuple[str, dict[str, Any]]] = {}

    def kind(self, name: str) -> Any:
        async def create(data: Any, **options: Any) -> None:
            self.created[options["key"]] = (name, {"data": data, **options})

        return create


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Prefect's artifact functions replaced by a :class:`Recorder`."""
    recording = Recorder()
    for name in ("acreate_markdown_artifact", "acreate_table_artifact", "acreate_link_artifact"):
        monkeypatch.setattr(artifacts, name, recording.kind(name))
    return recording


async def test_uploaded_report_links_to_box(recorder: Recorder) -> None:
    """An uploaded report's artifact is a link to Box's web app, never a file:// link."""
    await publish_artifacts(outcome(row(), deliveries=[UPLOADED]), host="worker-7")
    kind, report = recorder.created["offboarding-report"]
    assert (kind, report["data"]) == ("acreate_link_artifact", "https://app.box.com/file/9001")
    assert report["link_text"] == "offboarding-run-1.xlsx in Box"
    assert set(recorder.created) == {"offboarding-summary", "offboarding-attention", "offboarding-report"}


async def test_report_not_uploaded_is_named_by_host_and_path(recorder: Recorder) -> None:
    """Without an upload the report artifact is markdown with the host and path; no artifact holds file://."""
    await publish_artifacts(outcome(row(), deliveries=[REFUSED]), host="worker-7")
    kind, report = recorder.created["offboarding-report"]
    assert kind == "acreate_markdown_artifact"
    assert "`worker-7`" in report["data"]
    assert all("file://" not in str(created) for created in recorder.created.values())


async def test_attention_artifact_description_counts_rows_beyond_the_cap(recorder: Recorder) -> None:
    """More rows than the cap: the table shows the cap and its description says how many more are in the report."""
    run = outcome(*(row(row=n, status="pending") for n in range(ATTENTION_CAP + 5)))
    await publish_artifacts(run)
    _, table = recorder.created["offboarding-attention"]
    assert len(table["data"]) == ATTENTION_CAP
    assert (
        table["description"] == f"Rows that need a person: {ATTENTION_CAP + 5}; 5 more in the report's Attention sheet"
    )


async def test_attention_artifact_says_when_nothing_needs_a_person(recorder: Recorder) -> None:
    """A clean run still has an attention table, saying nothing needs a person."""
    await publish_artifacts(outcome(row(relogin_after_termination=None), row(row=3)))
    _, table = recorder.created["offboarding-attention"]
    assert table["data"] == [{"attention": "none", "login": "", "what_to_do": "nothing needs a person"}]
    assert table["description"] == "Rows that need a person: 0"


def test_relogin_time_is_shown_in_utc() -> None:
    """A re-login row says when, in UTC."""
    signed_in = datetime(2026, 11, 29, 4, 5, tzinfo=UTC)
    rows, _ = attention_rows(outcome(row(relogin_after_termination=signed_in)))
    assert rows[0]["reason"] == "sessions terminated; signed in 2026-11-29 04:05 UTC after termination"
