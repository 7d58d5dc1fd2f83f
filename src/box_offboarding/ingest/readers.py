"""Reading a file into text grids: one per sheet (or one for a CSV), every cell as text, with row numbers.

A grid has columns ``c0, c1, ...`` (strings, null for empty cells) and :data:`ROW_NUMBER`, the row number a person
sees: Excel's row number (the reader starts at row 1 whatever the used range is), or the CSV's physical line number
(a quoted value spanning lines counts all its lines). Excel date cells arrive as ``2026-11-03 00:00:00`` text.

Before handing bytes to calamine the content is sniffed, so that a password-protected workbook, an HTML page or a CSV
saved as ``.xlsx`` gets a message a person can act on rather than a zip error.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import fastexcel
import polars as pl

from box_offboarding.errors import InputFileError
from box_offboarding.ingest.headers import (
    CONTENT_SAMPLE_ROWS,
    HEADER_SEARCH_ROWS,
    LOGIN_EXAMPLES,
    HeaderMatch,
    Synonyms,
    find_header,
    headers_seen,
)
from box_offboarding.ingest.layout import SheetLayout, xlsx_layouts

EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls"})
CSV_SUFFIXES = frozenset({".csv"})
SUPPORTED_SUFFIXES = EXCEL_SUFFIXES | CSV_SUFFIXES

#: Delimiters a CSV is tried with; the one that yields a header row with a login column wins.
CSV_DELIMITERS = (",", ";", "\t", "|")
ROW_NUMBER = "__row__"

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
#: The stream an encrypted OOXML package is stored in, inside its OLE container.
ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
UTF8_BOM = b"\xef\xbb\xbf"

ENCRYPTED_ADVICE = (
    "is password-protected (encrypted); remove the password in Excel (File > Info > Protect Workbook > Encrypt with "
    "Password, clear it) and save it again"
)


@dataclass(frozen=True)
class Table:
    """One sheet (or one CSV) as a text grid."""

    sheet: str | None
    grid: pl.DataFrame
    hidden: bool = False
    layout: SheetLayout = field(default_factory=SheetLayout)

    def top_rows(self) -> list[tuple[object, ...]]:
        """The first rows of the grid: where the header is searched for, and the cells below it sampled."""
        return self.grid.drop(ROW_NUMBER).head(HEADER_SEARCH_ROWS + CONTENT_SAMPLE_ROWS).rows()


@dataclass(frozen=True)
class Workbook:
    """The sheets of a workbook that could be loaded, and those that could not (sheet name, reason)."""

    tables: list[Table]
    sheet_errors: list[tuple[str, str]]


def _text_grid(frame: pl.DataFrame, row_numbers: pl.Expr) -> pl.DataFrame:
    """Columns renamed ``c0, c1, ...``, all strings, plus the row-number column."""
    renamed = frame.rename({name: f"c{i}" for i, name in enumerate(frame.columns)})
    return renamed.with_columns(pl.all().cast(pl.String), row_numbers.cast(pl.Int64).alias(ROW_NUMBER))


def _describe_content(data: bytes) -> str:
    """What a file that is not a workbook looks like, in words."""
    head = data[:512]
    lowered = head.lower()
    if b"<html" in lowered or b"<!doctype html" in lowered or b"<table" in lowered:
        return "an HTML page (some systems export web tables as .xls): open it in Excel and save it as .xlsx"
    if b"urn:schemas-microsoft-com:office:spreadsheet" in data[:4096]:
        return "an 'XML Spreadsheet 2003' file: open it in Excel and save it as .xlsx"
    try:
        first_line = head.removeprefix(UTF8_BOM).decode("utf-8").splitlines()[0][:60]
    except (UnicodeDecodeError, IndexError):
        return f"unrecognised binary content starting {head[:8].hex(' ')}"
    return f"text starting {first_line!r} (a CSV? name it .csv)"


def _calamine_reason(error: Exception) -> str:
    """The first line of a calamine error, without fastexcel's context lines."""
    return str(error).split("\n", 1)[0].removeprefix("calamine error: ")


def _open_workbook(name: str, suffix: str, data: bytes) -> fastexcel.ExcelReader:
    """A calamine reader over ``data``, or an :class:`InputFileError` saying what the file is instead."""
    if not data:
        raise InputFileError(name, "is empty (0 bytes)")
    is_ole = data.startswith(OLE_MAGIC)
    if is_ole and ENCRYPTED_PACKAGE in data:
        raise InputFileError(name, ENCRYPTED_ADVICE)
    if not (is_ole or data.startswith(ZIP_MAGIC)):
        raise InputFileError(name, f"is not an Excel workbook: it is {_describe_content(data)}")
    try:
        return fastexcel.read_excel(data)
    except fastexcel.FastExcelError as error:
        reason = _calamine_reason(error)
        if "password" in reason.lower():
            raise InputFileError(name, ENCRYPTED_ADVICE) from None
        if is_ole and suffix != ".xls":
            raise InputFileError(
                name,
                "is encrypted or not an .xlsx workbook: it is an OLE compound file, which is what Excel writes for "
                f"a password-protected workbook or an old .xls ({reason})",
            ) from None
        raise InputFileError(name, f"is not a readable Excel workbook (damaged, or no spreadsheet): {reason}") from None


def read_workbook(path: Path) -> Workbook:
    """Every sheet of an .xlsx/.xlsm/.xls file as a text grid; a sheet that fails to load is reported, not raised."""
    data = path.read_bytes()
    reader = _open_workbook(path.name, path.suffix.lower(), data)
    layouts = xlsx_layouts(data) if data.startswith(ZIP_MAGIC) else {}
    tables: list[Table] = []
    sheet_errors: list[tuple[str, str]] = []
    for sheet_name in reader.sheet_names:
        try:
            # header_row=None with skip_rows=[] keeps every row from row 1, so position + 1 is Excel's row number.
            sheet = reader.load_sheet(sheet_name, header_row=None, skip_rows=[], dtypes="string")
            frame = sheet.to_polars()
        except fastexcel.FastExcelError as error:
            sheet_errors.append((sheet_name, f"sheet could not be read: {_calamine_reason(error)}"))
            continue
        grid = _text_grid(frame, pl.int_range(1, pl.len() + 1))
        layout = layouts.get(sheet_name, SheetLayout())
        tables.append(Table(sheet=sheet_name, grid=grid, hidden=sheet.visible != "visible", layout=layout))
    return Workbook(tables=tables, sheet_errors=sheet_errors)


def _decode_csv(name: str, data: bytes) -> bytes:
    """The CSV's bytes without a BOM, checked to be UTF-8 text."""
    body = data.removeprefix(UTF8_BOM)
    if not body.strip():
        raise InputFileError(name, "is empty")
    if body.startswith((ZIP_MAGIC, OLE_MAGIC)):
        raise InputFileError(name, "is an Excel workbook, not CSV text: give it its .xlsx (or .xls) name")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputFileError(
            name,
            f"is not UTF-8 text (byte 0x{body[error.start]:02x} at offset {error.start}); save it as 'CSV UTF-8'",
        ) from None
    return body


@dataclass(frozen=True)
class _CsvHeader:
    delimiter: str
    lines_before: int  # physical lines above the header record
    match: HeaderMatch | None
    top_rows: list[list[str]]


def _csv_header(head: str, delimiter: str, synonyms: Synonyms) -> _CsvHeader:
    """Where the header record is when ``head`` is split with ``delimiter``."""
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
    starts: list[int] = []
    records: list[list[str]] = []
    try:
        for _ in range(HEADER_SEARCH_ROWS):
            starts.append(reader.line_num)
            records.append(next(reader))
    except (StopIteration, csv.Error):
        starts = starts[: len(records)]
    match = find_header(records, synonyms)
    lines_before = starts[match.row_index] if match else 0
    return _CsvHeader(delimiter=delimiter, lines_before=lines_before, match=match, top_rows=records)


def _best_csv_header(name: str, text_head: str, synonyms: Synonyms) -> _CsvHeader:
    """The delimiter whose split finds a login header earliest (then with the most fields mapped, then splitting the
    header into the most cells: ``Email;;`` is a login header split on anything, its key ignoring punctuation)."""
    candidates = [_csv_header(text_head, delimiter, synonyms) for delimiter in CSV_DELIMITERS]
    found = [
        (c.match.row_index, -len(c.match.columns), -len(c.top_rows[c.match.row_index]), order, c)
        for order, c in enumerate(candidates)
        if c.match
    ]
    if found:
        return min(found)[-1]
    widest = max(candidates, key=lambda c: len(headers_seen(c.top_rows)))
    raise InputFileError(
        name,
        f"has no login column in its first {HEADER_SEARCH_ROWS} lines (looked for {LOGIN_EXAMPLES}); "
        f"headers seen: {', '.join(map(repr, headers_seen(widest.top_rows))) or 'none'}",
    )


def _csv_line_numbers(columns: Sequence[str], first_line: int) -> pl.Expr:
    """Physical line number of each record: one line each, plus the line breaks inside quoted values before it."""
    breaks = pl.sum_horizontal(pl.col(c).str.count_matches("\n").fill_null(0) for c in columns)
    return first_line + pl.int_range(pl.len()) + breaks.cum_sum() - breaks


def read_csv_table(path: Path, synonyms: Synonyms) -> Table:
    """A CSV (UTF-8, BOM or not, delimiter sniffed) as a text grid starting at its header record."""
    body = _decode_csv(path.name, path.read_bytes())
    text_head = "".join(itertools.islice(io.StringIO(body[: 1 << 20].decode("utf-8", "ignore"), newline=""), 200))
    header = _best_csv_header(path.name, text_head, synonyms)
    try:
        frame = pl.read_csv(
            io.BytesIO(body),
            has_header=False,
            infer_schema=False,
            separator=header.delimiter,
            skip_lines=header.lines_before,
            truncate_ragged_lines=True,
        )
    except pl.exceptions.PolarsError as error:
        raise InputFileError(path.name, f"could not be parsed as CSV: {str(error).splitlines()[0]}") from None
    text_columns = [f"c{i}" for i in range(frame.width)]
    return Table(sheet=None, grid=_text_grid(frame, _csv_line_numbers(text_columns, header.lines_before + 1)))
