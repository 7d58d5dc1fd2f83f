"""What a run tells people: the Excel report, and its summary in markdown (:func:`summary_text`, the email body and
the run page's artifact).

The Excel report opens on an ``Attention`` sheet (every row, and every file not read, that needs a person, with what
to do about it), then a ``Summary`` sheet (with a chart of the status counts), a ``Users`` sheet (one row per input
row, in :data:`~box_offboarding.columns.REPORT_COLUMNS` order) and an ``Errors`` sheet (files not read). Every sheet
is set up to print: fitted to the page width, landscape where wide, its header row repeated on each page.

The workbook is written with openpyxl in write-only mode, so rows stream to disk and a 200,000-row report stays
within flat memory. Styles are built once per workbook and shared by the cells that need them.

No cell ever becomes a formula: every text value is written as an inline string, and text that Excel or LibreOffice
could take for a formula when a person edits or exports it (leading ``=``, ``+``, ``-``, ``@``, tab, CR) also gets
the ``quotePrefix`` style, Excel's own "this is text" marker, so the value itself is unchanged.

The file appears under its final name only when complete (temp file in the same directory, then ``os.replace``) and
is owner-only by default: it holds personal data.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties

from box_offboarding.columns import REPORT_COLUMNS
from box_offboarding.outcome import RunOutcome
from box_offboarding.statuses import Status

SHEETS = ("Attention", "Summary", "Users", "Errors")
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

#: Fill colour (RGB hex) of the ``status`` cell on the Users sheet: light tints, so black text stays readable.
STATUS_FILLS: Mapping[Status, str] = {
    Status.INVALID: "D5A6BD",  # mauve
    Status.HELD: "F4CCCC",  # pale red: a person must look
    Status.DUPLICATE: "D9D9D9",  # grey
    Status.DEFERRED: "FFF2CC",  # pale yellow
    Status.NOT_FOUND: "F9CB9C",  # orange
    Status.PROTECTED: "B4A7D6",  # purple
    Status.SKIPPED: "A2C4C9",  # teal grey
    Status.PLANNED: "C9DAF8",  # light blue
    Status.FAILED: "EA9999",  # red
    Status.PENDING: "FFD966",  # amber
    Status.CONFIRMED: "B6D7A8",  # green
}

#: Fill of the Attention sheet's label for what has no status colour (a re-login, a file not read).
URGENT_FILL = "E06666"

#: Leading characters that make a spreadsheet (or a CSV export of it) read text as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

#: Characters XML 1.0 cannot carry at all; openpyxl refuses them, so they are replaced rather than crash the report.
_XML_ILLEGAL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_XML_ILLEGAL_RE = re.compile(_XML_ILLEGAL)
_REPLACEMENT = "\ufffd"

_RUN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

_MIN_WIDTH, _MAX_WIDTH = 8, 60
_FILTER_BUTTON_WIDTH = 3

#: What a person should do about a row, per status that needs one; the order is the Attention sheet's (most
#: dangerous first: an invalid row is a leaver who keeps access, a pending one is most likely done already).
ATTENTION_ACTIONS: Mapping[Status, str] = {
    Status.INVALID: "fix the login/date in the HR export",
    Status.FAILED: "Box refused: see reason; rerun tonight or fix in Box",
    Status.NOT_FOUND: "check the login against Box",
    Status.HELD: "confirm with HR whether they leave",
    Status.PROTECTED: "remove from the export, or from the protected list if it should go",
    Status.PENDING: "no admin event yet; reconcile-pending will re-check",
}
#: The ``attention`` label of a row whose user signed in after termination (whatever its status), and its action.
RELOGIN = "re-login"
RELOGIN_ACTION = "signed in after termination: check the account"
#: The ``attention`` label of a file that could not be read, and its action: its leavers were never looked at.
UNREAD = "file not read"
UNREAD_ACTION = "fix or re-export the file: none of its rows were processed"
#: The ``attention`` label of a row whose status is none the report knows (a bug): never hidden, never assumed done.
UNKNOWN = "unknown status"
UNKNOWN_ACTION = "treat the leaver as not offboarded; tell the maintainers"
#: Attention labels, most urgent first.
ATTENTION_ORDER: tuple[str, ...] = (
    UNREAD,
    Status.INVALID.value,
    UNKNOWN,
    Status.FAILED.value,
    RELOGIN,
    Status.NOT_FOUND.value,
    Status.HELD.value,
    Status.PROTECTED.value,
    Status.PENDING.value,
)
#: Columns of the Attention sheet (and of :func:`attention_frame`), in order.
ATTENTION_COLUMNS = (
    "attention",
    "what_to_do",
    "login",
    "name",
    "employee_id",
    "termination_date",
    "reason",
    "file",
    "sheet",
    "row",
    "box_user_id",
)
#: Attention sheet column widths (characters); the long texts wrap instead, so the sheet fits a landscape page.
_ATTENTION_WIDTHS = (12, 30, 28, 18, 11, 11, 40, 22, 12, 7, 12)
_WRAPPED = frozenset({"what_to_do", "reason", "file", "name"})
_ROW_HEIGHT = 15.0  # points per line of 11-point text
#: Summary column widths (A to F: labels, values, and the Inputs table's six columns); the chart sits right of them.
_SUMMARY_WIDTHS = (34, 28, 12, 12, 11, 48)
_CHART_ANCHOR = "H2"


@dataclass(frozen=True)
class RunSummary:
    """What the Summary sheet says about the run besides the per-user rows. Datetimes are UTC."""

    run_id: str
    as_of: date
    dry_run: bool
    started_at: datetime
    finished_at: datetime
    inputs: pl.DataFrame  # file, sheet, rows (data rows per file/sheet)
    api_calls: Mapping[str, int]  # per endpoint, e.g. {"GET /users": 3}
    timings: Mapping[str, float]  # stage -> seconds
    settings: Mapping[str, str]  # safe settings only: the caller never passes secrets
    notes: Sequence[str] = ()
    aborted: str | None = None  # why the run stopped before terminating, if it did
    approval: str | None = None  # a person's decision on the plan, when the run asked for one


def report_path(report_dir: Path, *, run_id: str, now: datetime) -> Path:
    """``<report_dir>/offboarding-<UTC yyyymmddTHHMMSSZ>-<run id>.xlsx``; ``now`` must be timezone-aware."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware, so the report name states UTC truthfully")
    if not _RUN_ID_RE.fullmatch(run_id):
        raise ValueError(f"run id {run_id!r} is not usable in a file name (letters, digits, '.', '_', '-')")
    return report_dir / f"offboarding-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{run_id}.xlsx"


def status_counts(users: pl.DataFrame) -> dict[str, int]:
    """Rows per status: every :class:`Status` in pipeline order (0 when none), then any other value seen."""
    seen: dict[str | None, int] = dict(users.get_column("status").value_counts().iter_rows())
    counts = {status.value: seen.pop(status.value, 0) for status in Status}
    for other in sorted(seen, key=lambda value: (value is None, value or "")):
        counts["(no status)" if other is None else other] = seen[other]
    return counts


def write_report(
    path: Path, *, users: pl.DataFrame, errors: pl.DataFrame, summary: RunSummary, mode: int = 0o600
) -> Path:
    """Write the report to ``path`` atomically with permissions ``mode``; returns ``path``."""
    missing = [name for name in REPORT_COLUMNS if name not in users.columns]
    if missing:
        raise ValueError(f"users frame lacks report columns: {', '.join(missing)}")
    workbook = Workbook(write_only=True)
    attention_sheet, summary_sheet, users_sheet, errors_sheet = (workbook.create_sheet(title) for title in SHEETS)
    styles = _Styles(summary_sheet)
    _write_attention(attention_sheet, styles, attention_frame(users, errors))
    _write_summary(summary_sheet, styles, users=users, errors=errors, summary=summary)
    _write_users(users_sheet, styles, users.select(REPORT_COLUMNS))
    _write_errors(errors_sheet, styles, errors)
    _save_atomically(workbook, path, mode=mode)
    return path


class _Styles:
    """The few cell styles the report uses, built once per workbook and copied onto cells.

    Assigning a style attribute on a cell makes openpyxl look the style up in the workbook's style tables; doing that
    for every cell of a 200,000-row sheet is the slow part of writing it. Copying a prebuilt style array (what
    openpyxl does itself when it copies cell styles) is cheap.

    Cells are made on ``sheet`` whichever sheet they are appended to: openpyxl only goes through a cell's sheet to
    reach the workbook's style tables, which all sheets share.
    """

    def __init__(self, sheet: Any) -> None:
        self._sheet = sheet
        self.header = self._build(font=Font(bold=True))
        self.date = self._build(number_format=DATE_FORMAT)
        self.datetime = self._build(number_format=DATETIME_FORMAT)
        self.literal_text = self._build(quotePrefix=True)
        # The Attention sheet's cells: text at the top of rows made tall for wrapped text, labels filled.
        top, wrap = Alignment(vertical="top"), Alignment(wrap_text=True, vertical="top")
        self.top = self._build(alignment=top)
        self.wrapped = self._build(alignment=wrap)
        self.wrapped_literal = self._build(alignment=wrap, quotePrefix=True)
        self.wrapped_header = self._build(font=Font(bold=True), alignment=wrap)
        self.attention = {
            status.value: self._build(fill=PatternFill(fill_type="solid", fgColor=rgb), alignment=top)
            for status, rgb in STATUS_FILLS.items()
        }
        self.urgent = self._build(fill=PatternFill(fill_type="solid", fgColor=URGENT_FILL), alignment=top)
        self.status = {
            status.value: self._build(fill=PatternFill(fill_type="solid", fgColor=rgb))
            for status, rgb in STATUS_FILLS.items()
        }

    def _build(self, **attributes: Any) -> Any:
        cell = WriteOnlyCell(self._sheet)
        for name, value in attributes.items():
            setattr(cell, name, value)
        return cell._style

    def cell(self, value: Any, style: Any) -> Any:
        cell = WriteOnlyCell(self._sheet)
        cell._style = copy(style)
        cell.value = value
        return cell

    def text(self, value: str) -> Any:
        """A string cell that stays a string whatever its first character."""
        if not (value.startswith(FORMULA_TRIGGERS) or value in ERROR_CODES):
            return value  # openpyxl types any other str as an inline string
        cell = self.cell(value, self.literal_text)
        cell.data_type = "s"
        return cell

    def any(self, value: object) -> Any:
        """A cell for a value of any supported type (Summary and Errors sheets)."""
        if isinstance(value, str):
            return self.text(_xml_safe(value))
        if isinstance(value, datetime):
            return self.cell(_excel_datetime(value), self.datetime)
        if isinstance(value, date):
            return self.cell(value, self.date)
        return value

    def wrapped_text(self, value: str) -> Any:
        """A string cell whose text wraps within its column (and stays a string whatever its first character)."""
        value = _xml_safe(value)
        literal = value.startswith(FORMULA_TRIGGERS) or value in ERROR_CODES
        cell = self.cell(value, self.wrapped_literal if literal else self.wrapped)
        cell.data_type = "s"
        return cell

    def bold(self, value: str) -> Any:
        return self.cell(_xml_safe(value), self.header)


def _print_setup(sheet: Any, *, landscape: bool, header_rows: str | None = "1:1") -> None:
    """Print on pages as wide as the paper (as many pages down as needed), ``header_rows`` repeated on each."""
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    if header_rows:
        sheet.print_title_rows = header_rows


def _xml_safe(text: str) -> str:
    return _XML_ILLEGAL_RE.sub(_REPLACEMENT, text)


def _excel_datetime(value: datetime) -> datetime:
    """Excel has no time zones: UTC wall-clock time, naive (a naive input is taken as UTC already)."""
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


# --- Attention -----------------------------------------------------------------------------------------------------


def attention_frame(users: pl.DataFrame, errors: pl.DataFrame) -> pl.DataFrame:
    """Every row a person must act on, and every file not read, most urgent first (input order within a label).

    A row is labelled by its status when that status needs a person (:data:`ATTENTION_ACTIONS`), else ``re-login``
    when its user signed in after termination; a re-login's reason says when. Columns are
    :data:`ATTENTION_COLUMNS`, all text but ``row``; an invalid row shows its login and date as written.
    """
    status, relogin = pl.col("status"), pl.col("relogin_after_termination")
    known = status.is_in([member.value for member in Status]).fill_null(value=False)
    needs = status.is_in([member.value for member in ATTENTION_ACTIONS]).fill_null(value=False)
    action = status.replace_strict({member.value: text for member, text in ATTENTION_ACTIONS.items()}, default=None)
    signed_in = "signed in " + _utc_text(users, "relogin_after_termination") + " after termination"
    also_relogin = pl.when(relogin.is_not_null()).then(pl.lit("also " + RELOGIN_ACTION))
    status_action = pl.concat_str([action, also_relogin], separator="; ", ignore_nulls=True)
    rows = users.filter(needs | ~known | relogin.is_not_null()).select(
        attention=pl.when(~known).then(pl.lit(UNKNOWN)).when(needs).then(status).otherwise(pl.lit(RELOGIN)),
        what_to_do=pl.when(~known)
        .then(pl.lit(UNKNOWN_ACTION))
        .when(needs)
        .then(status_action)
        .otherwise(pl.lit(RELOGIN_ACTION)),
        login=pl.coalesce("login", "login_as_written"),
        name="name",
        employee_id="employee_id",
        termination_date=pl.coalesce(pl.col("termination_date").cast(pl.String), "termination_date_as_written"),
        reason=pl.concat_str(
            [pl.when(~known).then("status " + status.fill_null("(none)")), pl.when(known).then("reason"), signed_in],
            separator="; ",
            ignore_nulls=True,
        ),
        file="file",
        sheet="sheet",
        row=pl.col("row").cast(pl.Int64),
        box_user_id="box_user_id",
    )
    unread = errors.select(
        attention=pl.lit(UNREAD),
        what_to_do=pl.lit(UNREAD_ACTION),
        **{name: pl.lit(None, dtype=pl.String) for name in ("login", "name", "employee_id", "termination_date")},
        reason=pl.col("error"),
        file="file",
        sheet="sheet",
        row=pl.lit(None, dtype=pl.Int64),
        box_user_id=pl.lit(None, dtype=pl.String),
    )
    urgency = {label: rank for rank, label in enumerate(ATTENTION_ORDER)}
    together = pl.concat([unread, rows.cast({name: pl.String for name in ATTENTION_COLUMNS if name != "row"})])
    ranked = pl.col("attention").replace_strict(urgency, return_dtype=pl.Int64)
    return together.sort(ranked, maintain_order=True).select(ATTENTION_COLUMNS)


def _utc_text(frame: pl.DataFrame, name: str) -> pl.Expr:
    """A datetime column as ``2026-11-29 03:04 UTC`` (a naive column is taken as UTC already)."""
    column = pl.col(name)
    dtype = frame.schema[name]
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        column = column.dt.convert_time_zone("UTC")
    return column.dt.strftime("%Y-%m-%d %H:%M UTC")


def _write_attention(sheet: Any, styles: _Styles, frame: pl.DataFrame) -> None:
    """One line per thing a person must do, the label coloured as on the Users sheet; fits a landscape page width.

    Long texts wrap, and each row is given the height its wrapped text needs: LibreOffice does not grow rows to fit
    when it opens a file, so wrapped lines would otherwise print over each other.
    """
    widths = dict(zip(ATTENTION_COLUMNS, _ATTENTION_WIDTHS, strict=True))
    for index, width in enumerate(widths.values(), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(frame.width)}{max(frame.height, 1) + 1}"
    _print_setup(sheet, landscape=True)
    header = {name: name.replace("_", " ") for name in frame.columns}
    sheet.row_dimensions[1].height = _ROW_HEIGHT * _lines(header, widths, wrapped=widths.keys())
    sheet.append([styles.cell(_xml_safe(text), styles.wrapped_header) for text in header.values()])
    for number, row in enumerate(_excel_ready(frame).iter_rows(named=True), start=2):
        lines = _lines(row, widths, wrapped=_WRAPPED)
        if lines > 1:
            sheet.row_dimensions[number].height = _ROW_HEIGHT * lines
        sheet.append([_attention_cell(styles, name, value) for name, value in row.items()])
    if frame.is_empty():
        sheet.append(["none", "nothing needs a person"])


def _lines(row: Mapping[str, Any], widths: Mapping[str, float], *, wrapped: Iterable[str]) -> int:
    """How many lines the tallest wrapped cell of ``row`` takes (a character is about one width unit)."""
    return max((_line_count(row[name], int(widths[name])) for name in wrapped if isinstance(row[name], str)), default=1)


@functools.lru_cache(maxsize=4096)
def _line_count(text: str, width: int) -> int:
    """Lines ``text`` wraps to at ``width`` characters (cached: the same reasons and actions recur on many rows)."""
    return 1 if len(text) <= width else len(textwrap.wrap(text, width=width))


def _attention_cell(styles: _Styles, name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "attention":
        return styles.cell(value, styles.attention.get(value, styles.urgent))
    if not isinstance(value, str):
        return styles.cell(value, styles.top)
    if name in _WRAPPED or value.startswith(FORMULA_TRIGGERS) or value in ERROR_CODES:
        return styles.wrapped_text(value)
    cell = styles.cell(value, styles.top)
    cell.data_type = "s"
    return cell


# --- Users ---------------------------------------------------------------------------------------------------------


def _write_users(sheet: Any, styles: _Styles, users: pl.DataFrame) -> None:
    frame = _excel_ready(users)
    for index, width in enumerate(_column_widths(frame), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(frame.width)}{frame.height + 1}"
    _print_setup(sheet, landscape=True)
    sheet.append([styles.bold(name) for name in frame.columns])
    converters = [_converter(styles, name, dtype) for name, dtype in frame.schema.items()]
    for row in frame.iter_rows():
        sheet.append([convert(value) for convert, value in zip(converters, row, strict=True)])


def _excel_ready(users: pl.DataFrame) -> pl.DataFrame:
    """Datetimes as naive UTC, text without characters XML cannot hold: done by polars, not per cell in Python."""
    return users.with_columns(
        *(
            pl.col(name).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            for name, dtype in users.schema.items()
            if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
        ),
        pl.col(pl.String).str.replace_all(_XML_ILLEGAL, _REPLACEMENT),
    )


def _converter(styles: _Styles, name: str, dtype: pl.DataType) -> Callable[[Any], Any]:
    """How one column's values become cells (``None`` stays an empty cell)."""
    if name == "status":
        return lambda value: None if value is None else _status_cell(styles, value)
    if isinstance(dtype, pl.Datetime):
        return lambda value: None if value is None else styles.cell(value, styles.datetime)
    if isinstance(dtype, pl.Date):
        return lambda value: None if value is None else styles.cell(value, styles.date)
    if dtype == pl.String:
        return lambda value: None if value is None else styles.text(value)
    return lambda value: value


def _status_cell(styles: _Styles, status: str) -> Any:
    style = styles.status.get(status)
    return styles.text(status) if style is None else styles.cell(status, style)


def _column_widths(frame: pl.DataFrame) -> list[float]:
    """Widths from the header and the longest value (measured by polars), within sensible bounds."""
    longest = frame.select(pl.all().cast(pl.String).str.len_chars().max()).row(0)
    widths = []
    for name, dtype, length in zip(frame.columns, frame.dtypes, longest, strict=True):
        if isinstance(dtype, pl.Datetime):
            length = len("yyyy-mm-dd hh:mm:ss")
        elif isinstance(dtype, pl.Date):
            length = len(DATE_FORMAT)
        content = max(length or 0, len(name) + _FILTER_BUTTON_WIDTH)
        widths.append(float(min(max(content + 2, _MIN_WIDTH), _MAX_WIDTH)))
    return widths


# --- Summary -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bold:
    text: str


def _write_summary(
    sheet: Any, styles: _Styles, *, users: pl.DataFrame, errors: pl.DataFrame, summary: RunSummary
) -> None:
    for letter, width in zip("ABCDEF", _SUMMARY_WIDTHS, strict=True):
        sheet.column_dimensions[letter].width = width
    _print_setup(sheet, landscape=True, header_rows=None)
    counts = status_counts(users)
    rows = [*_run_rows(summary), [], *_input_rows(summary.inputs), []]
    counts_first_row = len(rows) + 3  # after the section title and the table header
    rows += [*_table("Status counts", ("status", "count"), counts.items()), []]
    rows += [*_total_rows(users, errors), []]
    rows += [*_table("API calls", ("endpoint", "calls"), summary.api_calls.items()), []]
    rows += [*_table("Timings", ("stage", "seconds"), ((k, round(v, 3)) for k, v in summary.timings.items())), []]
    rows += [*_table("Settings", ("setting", "value"), summary.settings.items()), []]
    rows += _table("Notes", ("note",), ([note] for note in summary.notes))
    last = len(_SUMMARY_WIDTHS) - 1  # text in the last column (the Inputs' "columns read") wraps within the page
    for number, row in enumerate(rows, start=1):
        cells = [styles.bold(value.text) if isinstance(value, _Bold) else styles.any(value) for value in row]
        text = row[last] if len(row) > last else None
        if isinstance(text, str) and len(text) > _SUMMARY_WIDTHS[last]:
            cells[last] = styles.wrapped_text(text)
            sheet.row_dimensions[number].height = _ROW_HEIGHT * _line_count(text, int(_SUMMARY_WIDTHS[last]))
        sheet.append(cells)
    sheet.add_chart(_status_chart(sheet, first_row=counts_first_row, last_row=counts_first_row + len(counts) - 1))


def _run_rows(summary: RunSummary) -> list[list[object]]:
    return [
        [_Bold("Box offboarding report")],
        ["Run id", summary.run_id],
        ["As-of date", summary.as_of],
        ["Mode", "dry run (nothing terminated)" if summary.dry_run else "live"],
        ["Started (UTC)", summary.started_at],
        ["Finished (UTC)", summary.finished_at],
        ["Duration (seconds)", round((summary.finished_at - summary.started_at).total_seconds(), 3)],
        ["Aborted", summary.aborted or "no"],
        ["Approval", summary.approval or "not asked (dry run, or a run that does not wait for a person)"],
        ["Times", "All times in this workbook are UTC."],
    ]


#: The Inputs table: each sheet (or CSV), how it was read, from which header row, which header fed which field.
INPUT_TABLE_COLUMNS = ("file", "sheet", "read_as", "rows", "header_row", "columns")


def _input_rows(inputs: pl.DataFrame) -> list[list[object]]:
    shown = inputs.select(pl.col(name) if name in inputs.columns else pl.lit(None).alias(name)
                          for name in INPUT_TABLE_COLUMNS)  # fmt: skip
    header = ("file", "sheet", "read as", "leaver rows", "header row", "columns read (score)")
    return _table("Inputs", header, shown.iter_rows())


def _total_rows(users: pl.DataFrame, errors: pl.DataFrame) -> list[list[object]]:
    return [
        [_Bold("Totals")],
        ["Rows", users.height],
        ["Re-logins after termination", users.get_column("relogin_after_termination").is_not_null().sum()],
        ["Failures", users.get_column("status").eq(Status.FAILED.value).sum()],
        ["Files not read", errors.height],
    ]


def _table(title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[list[object]]:
    """A section: bold title, bold header, then the rows (or a "none" line)."""
    body = [list(row) for row in rows]
    return [[_Bold(title)], [_Bold(name) for name in header], *(body or [["none"]])]


def _status_chart(sheet: Any, *, first_row: int, last_row: int) -> BarChart:
    """A horizontal bar chart of the status-count cells, statuses top to bottom in pipeline order.

    Every bar carries its count as a label, so a status with 3 rows beside one with 9,000 still reads "3" where
    its bar is too short to see (a log axis would draw it, but Excel warns about every zero count on one).
    """
    chart = BarChart()
    chart.type = "bar"
    chart.title = "Rows per status"
    chart.legend = None
    chart.y_axis.title = "rows"
    chart.x_axis.scaling.orientation = "maxMin"  # first status at the top, as in the table beside it
    chart.gapWidth = 40
    chart.dataLabels = DataLabelList(showVal=True, showSerName=False, showCatName=False, showLegendKey=False)
    # openpyxl 3.1 leaves out <c:delete>, and recent Excel then hides both axes: say they are shown.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.majorGridlines = None
    chart.add_data(Reference(sheet, min_col=2, min_row=first_row, max_row=last_row))
    chart.set_categories(Reference(sheet, min_col=1, min_row=first_row, max_row=last_row))
    chart.height, chart.width = max(7.5, 0.55 * (last_row - first_row + 1) + 2.5), 15
    chart.anchor = _CHART_ANCHOR
    return chart


# --- Errors --------------------------------------------------------------------------------------------------------


def _write_errors(sheet: Any, styles: _Styles, errors: pl.DataFrame) -> None:
    for letter, width in zip("ABC", (40, 24, 100), strict=True):
        sheet.column_dimensions[letter].width = width
    _print_setup(sheet, landscape=True)
    header = ("file", "sheet", "error")
    sheet.append([styles.bold(name) for name in header])
    for row in errors.select(header).iter_rows():
        sheet.append([styles.any(value) for value in row])
    if errors.is_empty():
        sheet.append(["none"])


# --- Saving --------------------------------------------------------------------------------------------------------


#: A temporary report file older than this was left by a killed run (none takes this long), and is removed.
STALE_TEMP_SECONDS = 6 * 3600


def remove_stale_temp_files(directory: Path, *, older_than_seconds: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Delete half-written reports that killed runs left behind (they hold personal data); returns them."""
    cutoff = time.time() - older_than_seconds
    stale = [temp for temp in directory.glob(".offboarding-*.xlsx.*.tmp") if temp.stat().st_mtime < cutoff]
    for temp in stale:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return stale


def _save_atomically(workbook: Any, path: Path, *, mode: int) -> None:
    """Write next to ``path``, flush to disk, then rename: the final name only ever holds a complete report."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    remove_stale_temp_files(path.parent)
    descriptor, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w+b") as handle:
            workbook.save(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


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


def summary_subject(outcome: RunOutcome) -> str:
    """The report email's subject: the as-of date and the non-zero counts."""
    counts = ", ".join(f"{count} {name}" for name, count in outcome.counts.items() if count)
    return f"Box offboarding {outcome.as_of}: {counts}"
