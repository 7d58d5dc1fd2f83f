"""The ingest stage: HR exports of leavers in, one frame of :data:`~box_offboarding.columns.INPUT_SCHEMA` out.

Each file is read on its own; a file that cannot be read becomes a row of ``errors`` (naming the file and what was
found in it) and the others go on. A workbook contributes every sheet with a login column; the header row is the first
of the top 30 rows that names a login column (see :mod:`.headers`), and the rows below it are told apart as described
in :mod:`.rows`. Dates are read as described in :mod:`.dates`.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from box_offboarding.columns import FILE_ERROR_SCHEMA, HOLD_SCHEMA, INPUT_SCHEMA
from box_offboarding.errors import ConfigurationError, InputFileError
from box_offboarding.ingest.headers import (
    HEADER_SEARCH_ROWS,
    LOGIN,
    LOGIN_EXAMPLES,
    TERMINATION_DATE,
    HeaderMatch,
    Synonyms,
    find_header,
    headers_seen,
)
from box_offboarding.ingest.readers import (
    CSV_SUFFIXES,
    EXCEL_SUFFIXES,
    ROW_NUMBER,
    SUPPORTED_SUFFIXES,
    Table,
    read_csv_table,
    read_workbook,
)
from box_offboarding.ingest.rows import NOTED_KINDS, ShapedRows, shape_rows
from box_offboarding.ingest.sheets import SheetKind, SheetVerdict, sheet_verdict
from box_offboarding.settings import Settings

__all__ = ["INPUTS_SCHEMA", "SUPPORTED_SUFFIXES", "IngestResult", "expand_inputs", "ingest"]

logger = logging.getLogger(__name__)

#: One row per sheet (or CSV): how it was read, or why not.
INPUTS_SCHEMA: dict[str, pl.DataType] = {
    "file": pl.String(),
    "sheet": pl.String(),  # null for CSV
    "read_as": pl.String(),  # "leavers", "staying: rehired", or "passed over: <why>"
    "rows": pl.Int64(),  # leaver rows taken from it
    "header_row": pl.Int64(),  # the header's (first) row number as Excel shows it (CSV: its line number)
    "columns": pl.String(),  # which header feeds which field, with its score: "login='Work Email' (22); ..."
}

#: ``read_as`` of a table read as leavers.
READ_AS_LEAVERS = "leavers"

#: How many row numbers a note lists before it says "...".
ROWS_LISTED = 10


@dataclass(frozen=True)
class IngestResult:
    """What ingest read: the rows, the files (or sheets) it could not read, notes for a person, what it read, and the
    people the same input lists as staying."""

    rows: pl.DataFrame  # INPUT_SCHEMA
    errors: pl.DataFrame  # FILE_ERROR_SCHEMA
    notes: list[str]
    inputs: pl.DataFrame  # INPUTS_SCHEMA
    holds: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=HOLD_SCHEMA))  # HOLD_SCHEMA


@dataclass
class _Collected:
    """What has been read so far, across files."""

    rows: list[pl.DataFrame] = field(default_factory=list)
    errors: list[tuple[str, str | None, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    inputs: list[tuple[str, str | None, str, int, int | None, str]] = field(default_factory=list)
    holds: list[pl.DataFrame] = field(default_factory=list)

    def note(self, text: str) -> None:
        logger.info("%s", text)
        self.notes.append(text)

    def error(self, file: str, sheet: str | None, message: str) -> None:
        logger.warning("%s", message)
        self.errors.append((file, sheet, message))


def _where(file: str, sheet: str | None) -> str:
    return file if sheet is None else f"{file}, sheet {sheet!r}"


def _row_list(numbers: Sequence[int]) -> str:
    listed = ", ".join(str(n) for n in numbers[:ROWS_LISTED])
    more = f", ... ({len(numbers)} in all)" if len(numbers) > ROWS_LISTED else ""
    return f"row{'s' if len(numbers) > 1 else ''} {listed}{more}"


def _read_tables(path: Path, synonyms: Synonyms, collected: _Collected) -> list[Table]:
    """The tables of one file; sheets that fail to load are recorded as errors, a file that fails raises."""
    suffix = path.suffix.lower()
    try:
        if suffix in CSV_SUFFIXES:
            return [read_csv_table(path, synonyms)]
        if suffix in EXCEL_SUFFIXES:
            workbook = read_workbook(path)
            for sheet, message in workbook.sheet_errors:
                collected.error(path.name, sheet, f"{_where(path.name, sheet)}: {message}")
            return workbook.tables
    except OSError as error:
        raise InputFileError(path.name, f"cannot be opened: {error.strerror or error}") from None
    raise InputFileError(
        path.name, f"has an unsupported extension {suffix or '(none)'!r}: give .xlsx, .xlsm, .xls, .csv or .tsv files"
    )


def _note_header(where: str, header: HeaderMatch, collected: _Collected) -> None:
    """Say which login column won over others, and when no termination-date column was found."""
    if LOGIN in header.passed_over:
        others = ", ".join(map(repr, header.passed_over[LOGIN]))
        collected.note(f"{where}: login read from {header.labels[LOGIN]!r}; also matched, not used: {others}")
    if TERMINATION_DATE not in header.columns:
        collected.note(f"{where}: no termination-date column found; dates left empty")


def _header_row(table: Table, header: HeaderMatch) -> int:
    return int(table.grid[ROW_NUMBER][header.row_index])


def _take_table(file: str, table: Table, header: HeaderMatch, *, day_first: bool | None, collected: _Collected) -> None:
    shaped = shape_rows(table.grid, header, day_first=day_first)
    where = _where(file, table.sheet)
    collected.note(f"{where}: read as leavers, header on row {_header_row(table, header)}: {header.describe()}")
    _note_header(where, header, collected)
    if table.hidden:
        collected.note(f"{where}: the sheet is hidden; read all the same")
    if table.read_note:
        collected.note(f"{where}: {table.read_note}")
    if shaped.date_decision:
        collected.note(f"{where}: {shaped.date_decision}")
    if shaped.holds is not None and shaped.holds.height:
        collected.holds.append(shaped.holds.with_columns(file=pl.lit(file), sheet=pl.lit(table.sheet, dtype=pl.String)))
        rows = shaped.holds.get_column("row").to_list()
        collected.note(f"{where}: {len(rows)} row(s) whose status says the person stays, held ({_row_list(rows)})")
    _note_passed_over_rows(where, shaped, collected)
    collected.rows.append(shaped.rows.with_columns(file=pl.lit(file), sheet=pl.lit(table.sheet, dtype=pl.String)))
    collected.inputs.append(
        (file, table.sheet, READ_AS_LEAVERS, shaped.rows.height, _header_row(table, header), header.describe())
    )


def _note_passed_over_rows(where: str, shaped: ShapedRows, collected: _Collected) -> None:
    for kind, numbers in shaped.passed_over.items():
        collected.note(f"{where}: {len(numbers)} {NOTED_KINDS[kind]} passed over ({_row_list(numbers)})")
    if shaped.blank:
        collected.note(f"{where}: {len(shaped.blank)} blank row(s) among the data skipped ({_row_list(shaped.blank)})")


def _take_staying(
    file: str,
    table: Table,
    header: HeaderMatch,
    verdict: SheetVerdict,
    *,
    day_first: bool | None,
    collected: _Collected,
) -> None:
    """The people of a sheet whose name says they stay become holds; none of its rows is read as a leaver."""
    shaped = shape_rows(table.grid, header, day_first=day_first)
    people = shaped.rows.filter(pl.col("login_as_written").is_not_null() | pl.col("employee_id").is_not_null())
    collected.holds.append(
        people.select(
            "login_as_written",
            "employee_id",
            file=pl.lit(file),
            sheet=pl.lit(table.sheet, dtype=pl.String),
            row="row",
            listed_as=pl.lit(verdict.listed_as),
        )
    )
    where = _where(file, table.sheet)
    collected.note(
        f"{where}: its people stay ({verdict.describe()}): not read as leavers; "
        f"{people.height} people taken so that leaver rows naming them (by login, or employee id in this file) are held"
    )
    read_as = f"staying: {verdict.listed_as}"
    collected.inputs.append((file, table.sheet, read_as, 0, _header_row(table, header), header.describe()))


def _pass_over(file: str, table: Table, header: HeaderMatch | None, why: str, collected: _Collected) -> None:
    collected.note(f"{_where(file, table.sheet)}: {why}; passed over")
    header_row = None if header is None else _header_row(table, header)
    described = "" if header is None else header.describe()
    collected.inputs.append((file, table.sheet, f"passed over: {why}", 0, header_row, described))


def _headers_seen(table: Table) -> str:
    """``sheet 'README': 'About this export'``: what a table without a login column showed at its top."""
    cells = ", ".join(map(repr, headers_seen(table.top_rows()[:HEADER_SEARCH_ROWS]))) or "nothing"
    return cells if table.sheet is None else f"sheet {table.sheet!r}: {cells}"


@dataclass(frozen=True)
class _Reading:
    """How ingest reads the tables of the files: the sheets named in the settings, the date order fallback."""

    synonyms: Synonyms
    sheets: frozenset[str]  # casefolded; empty: decide by content and name
    day_first: bool | None


def _read_table(
    path: Path, table: Table, header: HeaderMatch | None, *, only_table: bool, reading: _Reading, collected: _Collected
) -> None:
    """Read one table as leavers, as people staying, or not at all (see the module docstring for the rule)."""
    if header is None:
        state = "is empty" if table.grid.width == 1 else "has no login column"
        return _pass_over(path.name, table, None, state, collected)
    verdict = sheet_verdict(table.sheet, path.stem)
    named = reading.sheets and table.sheet is not None
    if named and table.sheet is not None and table.sheet.casefold() in reading.sheets:
        if verdict.kind is SheetKind.STAYING:
            collected.note(f"{_where(path.name, table.sheet)}: read as leavers because OFFBOARD_SHEETS names it, "
                           f"although its name says {verdict.describe()}")  # fmt: skip
        return _take_table(path.name, table, header, day_first=reading.day_first, collected=collected)
    if verdict.kind is SheetKind.STAYING:
        return _take_staying(path.name, table, header, verdict, day_first=reading.day_first, collected=collected)
    if named:
        return _pass_over(path.name, table, header, "not one of the sheets OFFBOARD_SHEETS names", collected)
    if TERMINATION_DATE in header.columns or verdict.kind is SheetKind.LEAVERS or only_table:
        return _take_table(path.name, table, header, day_first=reading.day_first, collected=collected)
    why = (
        "has a login column but no termination-date column, and neither its name nor the file's says it lists "
        "leavers (name it in OFFBOARD_SHEETS to read it)"
    )
    return _pass_over(path.name, table, header, why, collected)


def _ingest_file(path: Path, reading: _Reading, collected: _Collected) -> None:
    tables = _read_tables(path, reading.synonyms, collected)
    headers = [(table, find_header(table.top_rows(), reading.synonyms, layout=table.layout)) for table in tables]
    if tables and not any(header for _, header in headers):
        seen = "; ".join(_headers_seen(table) for table in tables)
        raise InputFileError(
            path.name,
            f"has no login column on any sheet (looked for {LOGIN_EXAMPLES} in the first {HEADER_SEARCH_ROWS} rows); "
            f"headers seen: {seen}",
        )
    only_table = sum(header is not None for _, header in headers) == 1
    for table, header in headers:
        _read_table(path, table, header, only_table=only_table, reading=reading, collected=collected)


def ingest(paths: Sequence[Path], *, settings: Settings) -> IngestResult:
    """Read the HR files in order; unreadable files go to ``errors`` and do not stop the others."""
    reading = _Reading(
        synonyms=Synonyms.from_settings(settings),
        sheets=frozenset(name.strip().casefold() for name in settings.sheets if name.strip()),
        day_first=settings.day_first,
    )
    collected = _Collected()
    for path in paths:
        try:
            _ingest_file(path, reading, collected)
        except InputFileError as error:
            collected.error(path.name, None, str(error))
    rows = pl.concat(collected.rows, how="diagonal") if collected.rows else pl.DataFrame()
    rows = rows.with_row_index("input_index") if collected.rows else pl.DataFrame(schema=INPUT_SCHEMA)
    return IngestResult(
        rows=rows.select(pl.col(name).cast(dtype) for name, dtype in INPUT_SCHEMA.items()),
        errors=pl.DataFrame(collected.errors, schema=FILE_ERROR_SCHEMA, orient="row"),
        notes=collected.notes,
        inputs=pl.DataFrame(collected.inputs, schema=INPUTS_SCHEMA, orient="row"),
        holds=pl.concat([hold.select(list(HOLD_SCHEMA)) for hold in collected.holds])
        if collected.holds
        else pl.DataFrame(schema=HOLD_SCHEMA),
    )


def _is_hr_file(path: Path) -> bool:
    """A supported spreadsheet, and not an Excel lock file (``~$x.xlsx``) or a hidden file."""
    return path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES and not path.name.startswith(("~$", "."))


def _expand_one(pattern: str | Path) -> list[Path]:
    path = Path(pattern)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if _is_hr_file(p))
    if path.is_file():
        return [path]
    text = str(pattern)
    if any(ch in text for ch in "*?["):
        return sorted(Path(match) for match in glob.glob(text, recursive=True) if _is_hr_file(Path(match)))
    raise ConfigurationError(f"{text}: no such file or folder")


def expand_inputs(patterns: Sequence[str | Path]) -> list[Path]:
    """Files as given, folders as the supported files inside them (sorted), globs as their matches (sorted).

    A file named outright is kept whatever its extension (ingest then says why it cannot read it); a path that does
    not exist, or nothing found at all, is a :class:`ConfigurationError`. A file reached twice is kept once.
    """
    found: dict[Path, Path] = {}
    for pattern in patterns:
        for path in _expand_one(pattern):
            found.setdefault(path.resolve(), path)
    if not found:
        given = ", ".join(str(p) for p in patterns) or "(nothing given)"
        raise ConfigurationError(
            f"no HR files found in {given}: give .xlsx, .xlsm, .xls, .csv or .tsv files, folders holding them, "
            "or glob patterns"
        )
    return list(found.values())
