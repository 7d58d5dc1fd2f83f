"""The corpus of realistic HR exports (:mod:`corpus`) through a whole run against the simulator, and the generator
itself.

Two checks of the product: nobody who is not a due leaver is terminated (this must hold exactly), and every row ends
with the status the corpus expects (on failure: accuracy, a confusion summary per expected status and per feature,
and each missed row). Expected statuses are those of a full run with events at once (``confirmed``, not
``planned``).
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastexcel
import openpyxl
import polars as pl
import pytest

from box_offboarding.pipeline import run_offboarding
from box_offboarding.simulator import SimulatorConfig
from corpus import (
    AS_OF,
    CONFIRMED,
    DUPLICATE,
    EXPORTS,
    INVALID,
    NOT_A_ROW,
    NOT_FOUND,
    PROTECTED,
    SKIPPED,
    TERMINATING,
    Corpus,
    Export,
    build_corpus,
)
from helpers import report_records, run_settings, serve

Key = tuple[str, str | None, int]
SEED = 0


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("corpus"), seed=SEED)


@dataclass(frozen=True)
class CorpusRun:
    """What a whole run over the corpus left: the report's rows by (file, sheet, row), and Box's terminations."""

    rows: dict[Key, dict[str, Any]]
    terminated: dict[str, int]  # box user id -> terminate-sessions calls that carried them


@pytest.fixture(scope="module")
def corpus_run(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> CorpusRun:
    folder = tmp_path_factory.mktemp("run")
    with serve(SimulatorConfig(directory_path=corpus.directory, event_delay_seconds=0)) as sim:
        outcome = asyncio.run(run_offboarding(corpus.paths, settings=run_settings(sim.address, folder), as_of=AS_OF))
        terminated = dict(sim.stats()["terminations_per_user"])
    rows = {(str(r["file"]), r["sheet"], int(str(r["row"]))): r for r in report_records(outcome.report)}
    return CorpusRun(rows, terminated)


# --- the product ----------------------------------------------------------------------------------------------------


def expectations(corpus: Corpus) -> dict[Key, dict[str, Any]]:
    return {(str(r["file"]), r["sheet"], int(r["row"])): r for r in corpus.expected.to_dicts()}


def where(key: Key) -> str:
    file, sheet, row = key
    return f"{file}{'' if sheet is None else f' [{sheet}]'} row {row}"


def test_nobody_terminated_who_is_not_a_due_leaver(corpus: Corpus, corpus_run: CorpusRun) -> None:
    """Box terminated only due leavers, and no row is confirmed, pending or planned unless it is a due leaver's row
    expected confirmed or duplicate (a repeat of a due leaver sent once is no harm here; test (b) sees it)."""
    due = corpus.due_box_ids()
    expected = expectations(corpus)
    wrong = []
    for key, record in corpus_run.rows.items():
        want = expected.get(key, {"status": "no such row", "why": "-"})
        harmless = record["box_user_id"] in due and want["status"] in {CONFIRMED, DUPLICATE}
        if record["status"] in TERMINATING and not harmless:
            said = f"{record['status']} {record['login']}"
            wrong.append(f"{where(key)}: {said} (expected {want['status']}: {want['why']})")
    by_id = {p.box_id: p.login for p in corpus.people}
    cut_off = sorted(by_id.get(user, user) for user in set(corpus_run.terminated) - due)
    summary = f"{len(cut_off)} people terminated who are not due leavers: {cut_off}\n" + "\n".join(wrong)
    assert not cut_off, summary
    assert not wrong, summary


def compare(expected: Mapping[Key, Mapping[str, Any]], rows: Mapping[Key, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every expected row with what the product made of it (absent: :data:`NOT_A_ROW`), and every product row the
    corpus does not expect (a title or header read as a person)."""
    compared = [
        {"key": key, "expected": want["status"], "actual": rows[key]["status"] if key in rows else NOT_A_ROW,
         "features": want["features"], "why": want["why"], "reason": rows[key]["reason"] if key in rows else None}
        for key, want in expected.items()
    ]  # fmt: skip
    compared += [
        {"key": key, "expected": NOT_A_ROW, "actual": row["status"], "features": ["a row the corpus does not have"],
         "why": "no such row expected", "reason": row["reason"]}
        for key, row in rows.items() if key not in expected
    ]  # fmt: skip
    return compared


def confusion_summary(compared: Sequence[Mapping[str, Any]]) -> str:
    """Accuracy; per expected status, what the product said; per feature, the misses; then each missed row."""
    right = sum(c["expected"] == c["actual"] for c in compared)
    lines = [f"{right} of {len(compared)} rows as expected ({100 * right / len(compared):.1f}%)", "", "by status:"]
    by_status: dict[str, Counter[str]] = defaultdict(Counter)
    for c in compared:
        by_status[c["expected"]][c["actual"]] += 1
    for status, got in sorted(by_status.items()):
        said = ", ".join(f"{actual} {n}" for actual, n in got.most_common())
        lines.append(f"  {status}: {got[status]}/{sum(got.values())} right; product said {said}")
    lines += ["", "misses by feature (a row counts under each of its features):"]
    per_feature: dict[str, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    for c in compared:
        for feature in c["features"]:
            totals[feature] += 1
            if c["expected"] != c["actual"]:
                per_feature[feature][f"{c['expected']} -> {c['actual']}"] += 1
    for feature, misses in sorted(per_feature.items(), key=lambda item: -sum(item[1].values())):
        detail = ", ".join(f"{change} x{n}" for change, n in misses.most_common())
        lines.append(f"  {feature}: {sum(misses.values())} of {totals[feature]} wrong ({detail})")
    lines += ["", "missed rows:"]
    lines += [
        f"  {where(c['key'])}: expected {c['expected']} ({c['why']}), got {c['actual']} ({c['reason']})"
        for c in compared if c["expected"] != c["actual"]
    ]  # fmt: skip
    return "\n".join(lines)


def test_every_row_ends_as_expected(corpus: Corpus, corpus_run: CorpusRun) -> None:
    """Each row of the corpus ends with its expected status (summary rows, blank rows and non-leaver sheets with no
    row at all), and the product reports no row the corpus does not have."""
    compared = compare(expectations(corpus), corpus_run.rows)
    assert all(c["expected"] == c["actual"] for c in compared), confusion_summary(compared)


# --- the generator --------------------------------------------------------------------------------------------------

Grid = list[list[str | None]]


def read_back(export: Export, path: Path) -> dict[str | None, Grid]:
    """Each sheet (a CSV: its one table, under None) as text rows from row 1, read without the product's code."""
    if export.kind == "csv":
        text = path.read_bytes().decode({"utf-16": "utf-16"}.get(export.encoding, export.encoding))
        rows = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=export.delimiter)
        return {None: [[cell or None for cell in row] for row in rows]}
    reader = fastexcel.read_excel(path)
    grids: dict[str | None, Grid] = {}
    for name in reader.sheet_names:
        frame = reader.load_sheet(name, header_row=None, skip_rows=[], dtypes="string").to_polars()
        grids[name] = [list(row) for row in frame.rows()]
    return grids


def test_same_seed_writes_the_same_corpus(corpus: Corpus, tmp_path: Path) -> None:
    """Built again with the same seed: the same cells, directory and expectations; another seed: other ones."""
    again = build_corpus(tmp_path / "again", seed=SEED)
    other = build_corpus(tmp_path / "other", seed=SEED + 1)

    def content(built: Corpus) -> list[dict[str | None, Grid]]:
        return [read_back(export, path) for export, path in zip(built.exports, built.paths, strict=True)]

    assert [path.name for path in again.paths] == [path.name for path in corpus.paths]
    assert content(again) == content(corpus)
    assert again.directory.read_bytes() == corpus.directory.read_bytes()
    assert again.expected.equals(corpus.expected)
    assert content(other) != content(corpus)
    assert other.directory.read_bytes() != corpus.directory.read_bytes()


@pytest.mark.parametrize("index", range(len(EXPORTS)))
def test_every_expected_row_is_in_its_file(corpus: Corpus, index: int) -> None:
    """Each expected row is there in the file as written: its login (or name, or summary label) in that row, a blank
    row blank; CSVs carry the byte-order mark their encoding says."""
    export, path = corpus.exports[index], corpus.paths[index]
    grids = read_back(export, path)
    assert set(grids) == {sheet.name for sheet in export.sheets}
    rows = corpus.expected.filter(pl.col("file") == export.name)
    assert rows.height > 0
    for record in rows.to_dicts():
        grid = grids[record["sheet"]]
        assert record["row"] <= len(grid), record
        cells = grid[record["row"] - 1]
        if record["marker"] is None:
            assert all(cell is None or not cell.strip() for cell in cells), (record, cells)
        else:
            assert record["marker"] in cells, (record, cells)
    if export.kind == "csv":
        data = path.read_bytes()
        boms = {"utf-8-sig": codecs.BOM_UTF8, "utf-16": codecs.BOM_UTF16_LE}
        if export.encoding in boms:
            assert data.startswith(boms[export.encoding])
        else:
            assert not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE))
        if export.encoding == "cp1252":
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")


def test_workbooks_keep_their_layout(corpus: Corpus) -> None:
    """The two-row header is merged as SuccessFactors writes it, and the user-name column is hidden."""
    books = {path.name: path for path in corpus.paths}
    german = openpyxl.load_workbook(books["SuccessFactors_Austritte_2026-11.xlsx"])
    assert {"A3:A4", "B3:C3", "D3:E3", "F3:G3", "H3:H4"} <= {str(r) for r in german["Austritte"].merged_cells.ranges}
    english = openpyxl.load_workbook(books["SuccessFactors_Terminations_Q4.xlsx"])
    assert english["Terminations"].column_dimensions["B"].hidden
    assert english["Terminations"]["B1"].value == "Username"


def test_the_expectations_agree_with_the_directory(corpus: Corpus) -> None:
    """Each expected status is what the directory implies: unknown logins are absent, skipped ones inactive,
    protected ones admins; a due leaver has no row of another kind and is on no non-leaver sheet."""
    people = {p.login: p for p in corpus.people}
    due = corpus.due_logins()
    for record in corpus.expected.to_dicts():
        person = people.get(record["login"])
        status = record["status"]
        if status == NOT_FOUND:
            assert person is None, record
        elif record["login"] is not None:
            assert person is not None, record
            assert (person.status == "inactive") == (status == SKIPPED), record
            assert (person.role != "user") == (status == PROTECTED), record
        if record["login"] in due:
            assert status in {CONFIRMED, DUPLICATE, INVALID}, record
    assert len(due) >= 50
    assert all(people[login].status == "active" and people[login].role == "user" for login in due)


def test_the_corpus_covers_what_it_claims(corpus: Corpus) -> None:
    """Thirteen exports across the eight systems and five languages, every file kind and CSV encoding, every
    expected status, and the non-leaver sheets the product must not read as leavers."""
    exports = corpus.exports
    assert len(exports) >= 12
    assert {e.system for e in exports} == {"Workday", "SuccessFactors", "BambooHR", "ADP", "Personio", "HiBob", "UKG",
                                           "Dayforce"}  # fmt: skip
    assert {e.language for e in exports} == {"en", "de", "fr", "es", "nl"}
    assert {e.kind for e in exports} == {"xlsx", "xls", "csv"}
    assert {e.encoding for e in exports if e.kind == "csv"} == {"utf-8", "utf-8-sig", "cp1252", "utf-16"}
    assert set(corpus.expected.get_column("status")) == {
        "confirmed", "deferred", "not_found", "invalid", "held", "duplicate", "skipped", "protected", NOT_A_ROW,
    }  # fmt: skip
    sheets = {sheet.name for e in exports for sheet in e.sheets}
    assert {"Rehires", "New Hires", "Transfers", "Active Employees", "Annulations", "Wiedereinstellungen",
            "Recontrataciones"} <= sheets  # fmt: skip
    features = set(corpus.expected.get_column("features").explode())
    assert {"header: two rows, merged", "dates: wholly ambiguous, month-first fallback", "summary row", "blank row",
            "first usable row wins", "wrapped login: mailto", "two addresses in one cell"} <= features  # fmt: skip


def test_the_comparison_counts_a_changed_row_and_nothing_else(corpus: Corpus) -> None:
    """A product doing exactly what the corpus says has no miss; one row changed, one extra row and one row dropped
    are the three misses, each under its features."""
    expected = expectations(corpus)
    perfect = {key: {"status": want["status"], "reason": None} for key, want in expected.items()
               if want["status"] != NOT_A_ROW}  # fmt: skip
    assert all(c["expected"] == c["actual"] for c in compare(expected, perfect))
    held = next(key for key, want in expected.items() if want["status"] == "held")
    kept = next(key for key, want in expected.items() if want["status"] == "skipped")
    broken = {**perfect, held: {"status": CONFIRMED, "reason": None}, ("x.csv", None, 1): {"status": INVALID,
              "reason": "no login"}}  # fmt: skip
    del broken[kept]
    misses = [c for c in compare(expected, broken) if c["expected"] != c["actual"]]
    assert sorted((c["key"] for c in misses), key=str) == sorted([held, kept, ("x.csv", None, 1)], key=str)
    summary = confusion_summary(compare(expected, broken))
    assert "held -> confirmed x1" in summary
    assert "skipped -> not a row x1" in summary
