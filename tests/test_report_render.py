"""The report as a person prints it: rendered by LibreOffice to PDF, read with poppler, pages saved as PNG.

Needs ``soffice`` (LibreOffice Calc) and poppler's ``pdftoppm``/``pdftotext``/``pdfinfo``; skipped, saying how to
install them, when absent. The PNGs land in ``reports/screenshots/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from box_offboarding.columns import FILE_ERROR_SCHEMA, INPUT_SCHEMA, REPORT_COLUMNS, RESULT_SCHEMA
from box_offboarding.report import ATTENTION_ACTIONS, RunSummary, write_report
from box_offboarding.statuses import Status

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "reports" / "screenshots"
TOOLS = ("soffice", "pdftoppm", "pdftotext", "pdfinfo")
INSTALL = "apt-get install -y --no-install-recommends libreoffice-calc-nogui poppler-utils"
FINISHED = datetime(2026, 11, 29, 2, 9, tzinfo=UTC)
CONFIRMED_ROWS = 900  # one status dominates the chart: 900 confirmed beside 3 of each status that needs a person
REASONS = {
    Status.INVALID: "not an email address: missing '@' (the cell reads 'jane.doe corp.example.com')",
    Status.FAILED: "Box refused (403 access_denied_insufficient_permissions): the service account may not do this",
    Status.NOT_FOUND: "no Box user has this login",
    Status.HELD: "the same input lists them as staying: rehires.xlsx sheet Rehires row 14 (rehired 2026-11-20)",
    Status.PROTECTED: "Box admin (admins are protected)",
    Status.PENDING: "accepted by Box (202); no admin event confirmed it yet",
}


def leaver(index: int, status: Status, **values: object) -> dict[str, object]:
    """One report row of the given status."""
    row: dict[str, object] = {name: None for name in REPORT_COLUMNS}
    row |= {
        "file": "workday_terminations.xlsx",
        "sheet": "Terminations",
        "row": index + 5,
        "login": f"leaver.{index}@corp.example.com",
        "login_as_written": f"Leaver.{index}@Corp.Example.com",
        "name": f"Leaver Number {index}",
        "employee_id": f"E{index:07d}",
        "termination_date": date(2026, 11, 1) + timedelta(days=index % 28),
        "box_user_id": str(10_000_000 + index),
        "status": status.value,
        "reason": REASONS.get(status, "sessions terminated"),
    }
    return row | values


def users() -> pl.DataFrame:
    """900 confirmed leavers (one a re-login), then 3 rows of each status that needs a person."""
    rows = [leaver(index, Status.CONFIRMED) for index in range(CONFIRMED_ROWS)]
    rows += [leaver(CONFIRMED_ROWS + 3 * n + k, status) for n, status in enumerate(ATTENTION_ACTIONS) for k in range(3)]
    rows[7]["relogin_after_termination"] = FINISHED + timedelta(hours=1)
    schema = {name: {**INPUT_SCHEMA, **RESULT_SCHEMA}[name] for name in REPORT_COLUMNS}
    return pl.DataFrame(rows, schema=schema)


def summary() -> RunSummary:
    """The run's Summary fields, its Inputs long enough to wrap."""
    inputs = pl.DataFrame(
        {
            "file": ["workday_terminations.xlsx"],
            "sheet": ["Terminations"],
            "read_as": ["leavers"],
            "rows": [CONFIRMED_ROWS + 3 * len(ATTENTION_ACTIONS)],
            "header_row": [4],
            "columns": ["login='Work Email' (16), termination_date='Last Day Worked' (14), name='Name' (10)"],
        }
    )
    return RunSummary(
        run_id="20261129-render",
        as_of=date(2026, 11, 29),
        dry_run=False,
        started_at=FINISHED - timedelta(minutes=9),
        finished_at=FINISHED,
        inputs=inputs,
        api_calls={"POST /oauth2/token": 1, "GET /users": 12, "POST /users/terminate_sessions": 10},
        timings={"ingest": 0.4, "resolve": 3.1, "terminate": 12.0, "reconcile": 4.2},
        settings={"batch_size": "100", "dry_run": "False"},
        notes=["sheet README passed over: no login column"],
    )


def run(*command: str) -> str:
    """Run a tool, returning its output; a failure fails the test with the tool's message."""
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=300).stdout


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The report written and printed to PDF by LibreOffice: the PDF and each page's text."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: {INSTALL}")
    folder = tmp_path_factory.mktemp("render")
    errors = pl.DataFrame(
        [("payroll_leavers.xlsx", None, "encrypted: a password protects this workbook")],
        schema=FILE_ERROR_SCHEMA,
        orient="row",
    )
    report = write_report(folder / "report.xlsx", users=users(), errors=errors, summary=summary())
    profile = (folder / "libreoffice-profile").as_uri()  # its own profile: runs at the same time do not collide
    run("soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf", "--outdir", str(folder),
        str(report))  # fmt: skip
    pdf = folder / "report.pdf"
    return pdf, run("pdftotext", "-layout", str(pdf), "-").split("\f")


def page_of(pages: list[str], text: str) -> int:
    """1-based number of the first page holding ``text``."""
    return next(number for number, page in enumerate(pages, start=1) if text in page)


def test_attention_sheet_prints_on_one_page_width(rendered: tuple[Path, list[str]]) -> None:
    """Every Attention page holds the first and the last column, header repeated; the first page is landscape."""
    pdf, pages = rendered
    summary_page = page_of(pages, "Box offboarding report")
    attention_pages = pages[: summary_page - 1]
    assert attention_pages, "the Attention sheet printed no page before the Summary"
    for page in attention_pages:
        header = next(line for line in page.splitlines() if line.strip())
        assert header.split()[0] == "attention"
        assert re.search(r"box\s+user\s+id", header), header
    text = "".join(attention_pages)
    assert text.count("file not read") == 1
    assert all(text.count(f"leaver.{CONFIRMED_ROWS + n}@corp.example.com") == 1 for n in range(18))
    assert str(10_000_000 + CONFIRMED_ROWS + 17) in text  # the last column's value of the last row
    width, height = map(float, re.findall(r"Page size:\s+([\d.]+) x ([\d.]+)", run("pdfinfo", str(pdf)))[0])
    assert width > height


def test_summary_page_holds_the_whole_chart(rendered: tuple[Path, list[str]]) -> None:
    """The chart prints on the Summary's first page with a count beside each bar, 3 as readable as 900."""
    _, pages = rendered
    summary_page = pages[page_of(pages, "Box offboarding report") - 1]
    assert "Rows per status" in summary_page
    # The chart prints each category beside its bar's label ("failed 3"); the counts table has them columns apart.
    assert [status.value for status in ATTENTION_ACTIONS if f"{status.value} 3" not in summary_page] == []
    assert re.search(r"\srows *$", summary_page, flags=re.MULTILINE), "the value axis title is on another page"


def test_pages_saved_as_png(rendered: tuple[Path, list[str]]) -> None:
    """The Attention and Summary pages as PNG under reports/screenshots/, for a person to look at."""
    pdf, pages = rendered
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    wanted = {"report-attention": 1, "report-summary": page_of(pages, "Box offboarding report")}
    wanted["report-users"] = page_of(pages, "login_as_written")
    for name, page in wanted.items():
        target = SCREENSHOTS / name
        run("pdftoppm", "-png", "-r", "80", "-f", str(page), "-l", str(page), "-singlefile", str(pdf), str(target))
        png = target.with_suffix(".png")
        assert png.read_bytes().startswith(b"\x89PNG")
        assert png.stat().st_size > 10_000
