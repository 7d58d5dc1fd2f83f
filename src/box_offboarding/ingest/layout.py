"""What calamine does not say about an ``.xlsx`` sheet: its hidden columns and merged cells.

Both matter to the header: a hidden column loses ties (an export's hidden technical column is not what HR meant),
and a header merged over two rows, or over several columns, labels every column it covers. They are read from the
workbook's XML (``xl/workbook.xml`` names the sheet parts; each part has ``<col hidden="1">`` and ``<mergeCell>``
elements), scanned in chunks so a 200,000-row sheet costs one pass of its bytes and no tree. Legacy ``.xls`` files
and anything unexpected give an empty layout: the header is then found without it.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_COL = re.compile(rb"<(?:\w+:)?col\s[^>]*>")
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*ref=\"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?\"")
_ATTRIBUTE = re.compile(rb"(\w+)=\"([^\"]*)\"")
_CHUNK = 1 << 20
#: HR files are untrusted: no entities, no network, no huge trees.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True)
class Merge:
    """A merged range, 0-based and inclusive: rows as grid positions (Excel row - 1), columns from 0."""

    first_row: int
    first_column: int
    last_row: int
    last_column: int


@dataclass(frozen=True)
class SheetLayout:
    """The hidden columns (0-based) and merged ranges of one sheet."""

    hidden_columns: frozenset[int] = frozenset()
    merges: tuple[Merge, ...] = field(default_factory=tuple)


def column_index(letters: str) -> int:
    """``A`` -> 0, ``AA`` -> 26."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the zip path of its XML part."""
    workbook = etree.fromstring(archive.read("xl/workbook.xml"), _PARSER)
    rels = etree.fromstring(archive.read("xl/_rels/workbook.xml.rels"), _PARSER)
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter(f"{_PKG_REL}Relationship")}
    parts: dict[str, str] = {}
    for sheet in workbook.iter(f"{_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_REL}id"), "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        parts[str(sheet.get("name"))] = path
    return parts


def _chunks(stream: io.BufferedIOBase) -> Iterator[bytes]:
    """The part's bytes in chunks that never cut an element in two (each ends at a ``>``)."""
    carry = b""
    while block := stream.read(_CHUNK):
        data = carry + block
        cut = data.rfind(b">") + 1
        carry = data[cut:]
        yield data[:cut]
    if carry:
        yield carry


def _hidden_range(element: bytes) -> range:
    attributes = dict(_ATTRIBUTE.findall(element))
    if attributes.get(b"hidden") not in (b"1", b"true"):
        return range(0)
    return range(int(attributes.get(b"min", b"1")) - 1, int(attributes.get(b"max", b"1")))


def _merge(match: re.Match[bytes]) -> Merge:
    first_column, first_row, last_column, last_row = (part.decode() if part else None for part in match.groups())
    assert first_column is not None  # the pattern requires the first cell
    assert first_row is not None
    return Merge(
        first_row=int(first_row) - 1,
        first_column=column_index(first_column),
        last_row=int(last_row or first_row) - 1,
        last_column=column_index(last_column or first_column),
    )


_SHEET_DATA_TAG = re.compile(rb"<(/?)(?:\w+:)?sheetData\b[^>]*?(/?)>")


def _sheet_data_tags(chunk: bytes) -> Iterator[tuple[int, int, bool, bool]]:
    """Where ``<sheetData>`` opens or closes in ``chunk``: (start, end, closing, self-closing). Found by a plain
    byte search, so the cells between cost no regular expression."""
    at = chunk.find(b"sheetData")
    while at != -1:
        start = chunk.rfind(b"<", 0, at)
        tag = _SHEET_DATA_TAG.match(chunk, start) if start != -1 else None
        if tag is not None and tag.end() > at:
            yield tag.start(), tag.end(), tag.group(1) == b"/", tag.group(2) == b"/"
        at = chunk.find(b"sheetData", at + len(b"sheetData"))


def _scan_sheet(archive: zipfile.ZipFile, part: str) -> SheetLayout:
    """One pass over the part: ``<col>`` elements come before ``<sheetData>``, ``<mergeCell>`` ones after it (the
    schema's order), so the rows in between (nearly all the bytes) are only searched for the end of the data."""
    hidden: set[int] = set()
    merges: list[Merge] = []
    before, after = True, False
    with archive.open(part) as stream:
        for chunk in _chunks(stream):  # type: ignore[arg-type]  # ZipExtFile is a buffered binary stream
            head_end = len(chunk) if before else 0
            tail_start = 0 if after else len(chunk)
            for start, end, closing, self_closing in _sheet_data_tags(chunk):
                if not closing and before:
                    head_end, before = start, False
                    tail_start = end if self_closing else len(chunk)
                    after = self_closing
                elif closing and not after:
                    tail_start, after = end, True
            if head_end:
                for element in _COL.findall(chunk, 0, head_end):
                    hidden.update(_hidden_range(element))
            if after:
                merges += (_merge(match) for match in _MERGE.finditer(chunk, tail_start))
    return SheetLayout(hidden_columns=frozenset(hidden), merges=tuple(merges))


def xlsx_layouts(data: bytes) -> dict[str, SheetLayout]:
    """The layout of every sheet of an ``.xlsx``/``.xlsm`` workbook by sheet name; empty when it cannot be read."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {name: _scan_sheet(archive, part) for name, part in _sheet_parts(archive).items()}
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError, ValueError):
        return {}
