"""Hidden columns and merged cells read from an .xlsx's XML, which calamine does not report."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from box_offboarding.ingest import layout
from box_offboarding.ingest.layout import Merge, SheetLayout, column_index, xlsx_layouts


def _workbook_bytes() -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "Austritte"
    first.merge_cells("A3:A4")
    first.merge_cells("B3:C3")
    first.column_dimensions["D"].hidden = True
    for row in range(1, 40):  # rows between the columns and the merges, as in a real sheet
        first.cell(row=row + 4, column=1, value=f"person {row} <sheetData> in a cell")
    second = book.create_sheet("Notes")
    second["A1"] = "nothing merged or hidden"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("chunk", [1 << 20, 97, 13])
def test_hidden_columns_and_merges_per_sheet(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """Each sheet's merges (0-based, inclusive) and hidden columns come back under its name, however the part's
    bytes fall into chunks (the columns before the rows, the merges after them)."""
    monkeypatch.setattr(layout, "_CHUNK", chunk)
    layouts = xlsx_layouts(_workbook_bytes())
    assert set(layouts) == {"Austritte", "Notes"}
    assert set(layouts["Austritte"].merges) == {Merge(2, 0, 3, 0), Merge(2, 1, 2, 2)}
    assert layouts["Austritte"].hidden_columns == frozenset({3})
    assert layouts["Notes"] == SheetLayout()


def test_what_is_not_an_xlsx_has_no_layout(tmp_path: Path) -> None:
    """Bytes that are no workbook give an empty mapping, not an error: the header is found without a layout."""
    assert xlsx_layouts(b"not a zip") == {}


def test_column_letters() -> None:
    """Excel's column letters count from A = 0 through Z, AA, AZ, BA."""
    assert [column_index(letters) for letters in ("A", "Z", "AA", "AZ", "BA")] == [0, 25, 26, 51, 52]
