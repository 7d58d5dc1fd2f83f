"""Reading a file into text grids: one per sheet (or one for a CSV), every cell as text, with row numbers.

A grid has columns ``c0, c1, ...`` (strings, null for empty cells) and :data:`ROW_NUMBER`, the row number a person
sees: Excel's row number (the reader starts at row 1 whatever the used range is), or the CSV's physical line number
(a quoted value spanning lines counts all its lines). Excel date cells arrive as ``2026-11-03 00:00:00`` text.

Before handing bytes to calamine the content is sniffed, so that a password-protected workbook, an HTML page or a CSV
saved as ``.xlsx`` gets a message a person can act on rather than a zip error.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer
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
CSV_SUFFIXES = frozenset({".csv", ".tsv"})
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
    read_note: str | None = None  # how a CSV's text was decoded, when it was not plain UTF-8

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


#: Byte-order marks, longest first (a UTF-32 LE mark starts like a UTF-16 LE one), and what they say.
BYTE_ORDER_MARKS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (UTF8_BOM, "utf-8", "UTF-8"),
    (b"\xff\xfe", "utf-16-le", "UTF-16 (Excel's 'Unicode Text')"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
)
#: Share of the odd (or even) bytes that are NUL from which text without a mark is taken for UTF-16.
UTF16_NUL_SHARE = 0.3
#: Single-byte encodings of Latin script that a detector cannot tell apart on a few accented names; Windows-1252,
#: what Excel writes on Western European Windows, is taken for them when it decodes the bytes.
LATIN_SINGLE_BYTE = frozenset({"cp1252", "cp1250", "cp1254", "cp1257", "latin_1", "iso8859_15", "iso8859_2",
                               "iso8859_9", "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_16", "mac_roman",
                               "mac_latin2", "cp850", "cp858"})  # fmt: skip
#: Python's csv default (128 KiB) is lower than a cell Excel can hold (32,767 characters in UTF-8: up to 128 KiB).
CSV_FIELD_LIMIT = 1 << 20


@dataclass(frozen=True)
class DecodedText:
    """A text file's content, and how its encoding was decided (None when it was plain UTF-8)."""

    text: str
    how: str | None


def _utf16_without_mark(data: bytes) -> str | None:
    """``utf-16-le``/``-be`` when every other byte of the start is mostly NUL (ASCII text in UTF-16), else None."""
    head = data[:4096]
    if len(head) < 4:
        return None
    for encoding, offset in (("utf-16-le", 1), ("utf-16-be", 0)):
        share = head[offset::2].count(0) / len(head[offset::2])
        if share >= UTF16_NUL_SHARE and head[1 - offset :: 2].count(0) < len(head) // 20:
            return encoding
    return None


def decode_text(name: str, data: bytes) -> DecodedText:
    """The text of a CSV: by its byte-order mark, else UTF-8, else UTF-16 without a mark, else the single-byte
    encoding charset-normalizer detects (Windows-1252 from an old Excel, Latin-1, ...)."""
    if data.startswith((ZIP_MAGIC, OLE_MAGIC)):
        raise InputFileError(name, "is an Excel workbook, not CSV text: give it its .xlsx (or .xls) name")
    for mark, encoding, label in BYTE_ORDER_MARKS:
        if data.startswith(mark):
            try:
                text = data[len(mark) :].decode(encoding)
            except UnicodeDecodeError as error:
                raise InputFileError(
                    name,
                    f"starts as {label} text but is damaged further on (at byte {error.start + len(mark)}); "
                    "export it again, or save it from Excel as 'CSV UTF-8'",
                ) from None
            return DecodedText(text, None if encoding == "utf-8" else f"read as {label}, from its byte-order mark")
    if (wide := _utf16_without_mark(data)) is not None:
        with contextlib.suppress(UnicodeDecodeError):
            return DecodedText(data.decode(wide), f"read as UTF-16 ({wide[-2:].upper()}, no byte-order mark)")
    try:
        return DecodedText(data.decode("utf-8"), None)
    except UnicodeDecodeError:
        pass
    guess = charset_normalizer.from_bytes(data).best()
    if guess is None:
        raise InputFileError(
            name,
            "is not text in any encoding we recognise (is it a binary file named .csv?); "
            "open it in Excel and save it as 'CSV UTF-8'",
        )
    if guess.encoding in LATIN_SINGLE_BYTE:
        with contextlib.suppress(UnicodeDecodeError):
            return DecodedText(data.decode("cp1252"), "not UTF-8: read as Windows-1252 (Excel's Western European)")
    return DecodedText(str(guess), f"not UTF-8: read as {guess.encoding} (the likeliest encoding of its bytes)")


@dataclass(frozen=True)
class _Records:
    """A CSV split with one delimiter: its records and the physical line each starts on."""

    delimiter: str
    records: list[list[str]]
    lines: list[int]

    def consistency(self, header: HeaderMatch) -> int:
        """How many of the records sampled below the header have the header's number of fields."""
        width = len(self.records[header.row_index])
        below = self.records[header.data_start : header.data_start + CONTENT_SAMPLE_ROWS]
        return sum(len(record) == width for record in below)


#: Stands in for a carriage return inside a line while the csv module splits it (it refuses a bare one unquoted).
_BARE_CR = "\ue000\u200bCR\u200b\ue000"
_BARE_CR_PATTERN = re.compile(r"\r(?!\n)")


def split_records(text: str, delimiter: str, *, limit: int | None = None) -> _Records:
    """``text`` as CSV records (quotes, line breaks in quotes), each with the line it starts on as an editor counts
    lines. Lines end at line feeds, as polars and most tools read them: a bare carriage return inside a line is
    part of its cell; a file with no line feed at all (old Mac) ends its lines at carriage returns."""
    csv.field_size_limit(CSV_FIELD_LIMIT)
    if "\n" not in text:
        text = text.replace("\r", "\n")
    bare = "\r" in text and bool(_BARE_CR_PATTERN.search(text))
    if bare:
        text = _BARE_CR_PATTERN.sub(_BARE_CR, text)
    reader = csv.reader(io.StringIO(text, newline="\n"), delimiter=delimiter)
    records: list[list[str]] = []
    lines: list[int] = []
    lines_read = 0
    for record in itertools.islice(reader, limit):
        lines.append(lines_read + 1)
        records.append([field.replace(_BARE_CR, "\r") for field in record] if bare else record)
        lines_read = reader.line_num
    return _Records(delimiter, records, lines)


def _best_delimiter(name: str, text: str, synonyms: Synonyms) -> str:
    """The delimiter whose split finds a login header earliest, then maps the most fields, then keeps the most rows
    below it at the header's width, then splits the header into the most cells."""
    head_size = HEADER_SEARCH_ROWS + CONTENT_SAMPLE_ROWS
    found = []
    widest: list[list[str]] = []
    for order, delimiter in enumerate(CSV_DELIMITERS):
        split = split_records(text, delimiter, limit=head_size)
        if len(headers_seen(split.records[:HEADER_SEARCH_ROWS])) > len(headers_seen(widest)):
            widest = split.records[:HEADER_SEARCH_ROWS]
        if (match := find_header(split.records, synonyms)) is None:
            continue
        header_cells = len(split.records[match.row_index])
        found.append((match.row_index, -len(match.columns), -split.consistency(match), -header_cells, order, delimiter))
    if found:
        return min(found)[-1]
    raise InputFileError(
        name,
        f"has no login column in its first {HEADER_SEARCH_ROWS} lines (looked for {LOGIN_EXAMPLES}); "
        f"headers seen: {', '.join(map(repr, headers_seen(widest))) or 'none'}",
    )


def read_csv_table(path: Path, synonyms: Synonyms) -> Table:
    """A CSV (or tab-separated text) as a text grid: encoding decided as :func:`decode_text` says, delimiter sniffed,
    each record numbered by the physical line it starts on."""
    decoded = decode_text(path.name, path.read_bytes())
    if not decoded.text.strip():
        raise InputFileError(path.name, "is empty")
    try:
        delimiter = _best_delimiter(path.name, decoded.text, synonyms)
        split = split_records(decoded.text, delimiter)
    except csv.Error as error:
        raise InputFileError(path.name, f"could not be read as CSV: {error}") from None
    width = max(map(len, split.records), default=0)
    columns = {f"c{i}": [record[i] if i < len(record) and record[i] != "" else None for record in split.records]
               for i in range(width)}  # fmt: skip
    frame = pl.DataFrame(columns, schema={name: pl.String for name in columns})
    grid = _text_grid(frame, pl.lit(pl.Series(split.lines, dtype=pl.Int64)))
    return Table(sheet=None, grid=grid, read_note=decoded.how)
