"""Ingest: real workbooks and CSV files built in tmp_path, read back through :func:`ingest`."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pytest
import xlwt
from msoffcrypto.format.ooxml import OOXMLFile
from openpyxl import Workbook, load_workbook

from box_offboarding.columns import FILE_ERROR_SCHEMA, INPUT_SCHEMA
from box_offboarding.errors import ConfigurationError
from box_offboarding.ingest import INPUTS_SCHEMA, IngestResult, expand_inputs, ingest
from box_offboarding.ingest.dates import read_date_column
from box_offboarding.settings import Settings

Rows = Sequence[Sequence[object]]


def write_xlsx(path: Path, sheets: dict[str, Rows], *, first_row: int = 1, first_column: int = 1) -> Path:
    """A workbook with one sheet per entry; ``None`` cells stay empty; rows start at ``first_row``."""
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                if value is not None:
                    sheet.cell(row=first_row + r, column=first_column + c, value=value)
    book.save(path)
    return path


def write_text(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def run(paths: Sequence[Path], **settings: object) -> IngestResult:
    return ingest(list(paths), settings=Settings(**settings))  # type: ignore[arg-type]


def column(result: IngestResult, name: str) -> list[object]:
    return result.rows[name].to_list()


# --- workbooks ---------------------------------------------------------------------------------------------------


def test_title_rows_merged_title_blank_rows_and_footer(tmp_path: Path) -> None:
    """Header found below a merged title and metadata; row numbers are Excel's; blanks and the footer are not data."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Leavers"
    sheet["B2"] = "Terminated workers"
    sheet.merge_cells("B2:E2")
    sheet["B3"] = "Report generated 2026-11-01 by Workday"
    for c, header in enumerate(["Employee ID", "Worker", "Work Email", "Termination Date"], start=2):
        sheet.cell(row=5, column=c, value=header)
    sheet.append([None, 101, "Ann Lee", "ann@corp.example", dt.date(2026, 11, 3)])  # row 6
    sheet.append([])  # row 7: blank
    sheet.append([None, 102, "Bob Ray", "bob@corp.example", dt.datetime(2026, 11, 4, 17, 30)])  # row 8
    sheet.append([])  # row 9
    sheet.append([None, "Total 2"])  # row 10
    path = tmp_path / "workday.xlsx"
    book.save(path)

    result = run([path])

    assert column(result, "row") == [6, 8]
    assert column(result, "login_as_written") == ["ann@corp.example", "bob@corp.example"]
    assert column(result, "employee_id") == ["101", "102"]
    assert column(result, "termination_date") == [dt.date(2026, 11, 3), dt.date(2026, 11, 4)]
    assert column(result, "sheet") == ["Leavers", "Leavers"]
    assert result.inputs.row(0) == (
        "workday.xlsx",
        "Leavers",
        "leavers",
        2,
        5,
        "login='Work Email' (16); termination_date='Termination Date' (10); employee_id='Employee ID' (6); "
        "name='Worker' (6)",
    )
    assert any("footer" in note and "row 10" in note for note in result.notes)
    assert result.errors.is_empty()


def test_every_sheet_with_login_is_read_and_readme_is_passed_over(tmp_path: Path) -> None:
    """Sheets are read in workbook order; a README sheet is passed over with a note, not an error."""
    path = write_xlsx(
        tmp_path / "people.xlsx",
        {
            "README": [["About this export"], ["Leavers of the month"]],
            "Employees": [["Email", "Last Day"], ["a@corp.example", "2026-01-05"]],
            "Contractors": [["Username", "End Date"], ["c@corp.example", "2026-01-06"], ["d@corp.example", None]],
        },
    )

    result = run([path])

    assert column(result, "sheet") == ["Employees", "Contractors", "Contractors"]
    assert column(result, "input_index") == [0, 1, 2]
    assert "people.xlsx, sheet 'README': has no login column; passed over" in result.notes
    assert result.errors.is_empty()
    assert result.inputs.select("sheet", "read_as").rows() == [
        ("README", "passed over: has no login column"),
        ("Employees", "leavers"),
        ("Contractors", "leavers"),
    ]


def test_input_index_follows_the_order_paths_are_given(tmp_path: Path) -> None:
    """input_index counts 0..n-1 across files in the order given; file is the bare name."""
    xlsx = write_xlsx(tmp_path / "b.xlsx", {"S": [["Email"], ["x1@c.example"], ["x2@c.example"]]})
    sub = tmp_path / "sub"
    sub.mkdir()
    csv = write_text(sub / "a.csv", "Email\ny1@c.example\n")

    result = run([csv, xlsx])

    assert column(result, "file") == ["a.csv", "b.xlsx", "b.xlsx"]
    assert column(result, "input_index") == [0, 1, 2]
    assert column(result, "login_as_written") == ["y1@c.example", "x1@c.example", "x2@c.example"]
    assert column(result, "sheet") == [None, "S", "S"]


def test_xlsm_is_read(tmp_path: Path) -> None:
    """A macro-enabled workbook (its content type says so) reads like an .xlsx."""
    plain = write_xlsx(tmp_path / "plain.xlsx", {"Leavers": [["Work Email"], ["m@corp.example"]]})
    path = tmp_path / "macro.xlsm"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml")
            target.writestr(item, data)

    result = run([path])

    assert column(result, "login_as_written") == ["m@corp.example"]
    assert column(result, "row") == [2]


def test_xls_is_read(tmp_path: Path) -> None:
    """An Excel 97-2003 .xls (written with xlwt) is read, date cells included."""
    book = xlwt.Workbook()
    sheet = book.add_sheet("Leavers")
    sheet.write(0, 0, "HR export")
    for c, header in enumerate(["E-mail", "Exit Date", "Emp ID"]):
        sheet.write(2, c, header)
    sheet.write(3, 0, "x@corp.example")
    sheet.write(3, 1, dt.date(2026, 5, 4), xlwt.easyxf(num_format_str="DD/MM/YYYY"))
    sheet.write(3, 2, 1234)
    path = tmp_path / "old.xls"
    book.save(str(path))

    result = run([path])

    assert result.rows.select("row", "login_as_written", "termination_date", "employee_id").row(0) == (
        4,
        "x@corp.example",
        dt.date(2026, 5, 4),
        "1234",
    )


def test_hidden_sheet_is_read_and_noted(tmp_path: Path) -> None:
    """A hidden sheet with a login column is read, and a note says it was hidden."""
    path = write_xlsx(
        tmp_path / "h.xlsx",
        {
            "Visible": [["Email", "Last Day"], ["v@c.example", "2026-01-05"]],
            "Hidden": [["Email", "Last Day"], ["h@c.example", "2026-01-05"]],
        },
    )
    book = load_workbook(path)
    book["Hidden"].sheet_state = "hidden"
    book.save(path)

    result = run([path])

    assert column(result, "login_as_written") == ["v@c.example", "h@c.example"]
    assert "h.xlsx, sheet 'Hidden': the sheet is hidden; read all the same" in result.notes


# --- CSV -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("bom", [True, False])
def test_csv_delimiter_is_sniffed_with_or_without_bom(tmp_path: Path, delimiter: str, bom: bool) -> None:
    """Comma, semicolon and tab CSVs, with or without a UTF-8 BOM, give the same rows."""
    lines = [["Work Email", "Name", "Termination Date"], ["ann@corp.example", "Lee, Ann", "11/03/2026"]]
    text = "\n".join(delimiter.join(f'"{v}"' if "," in v else v for v in line) for line in lines) + "\n"
    path = write_text(tmp_path / "leavers.csv", text, bom=bom)

    result = run([path])

    assert result.rows.select("login_as_written", "name", "termination_date", "row").row(0) == (
        "ann@corp.example",
        "Lee, Ann",
        dt.date(2026, 11, 3),
        2,
    )


def test_csv_row_numbers_are_physical_lines(tmp_path: Path) -> None:
    """CSV rows carry their line number: title lines, blank lines and a value spanning two lines all count."""
    text = (
        "BambooHR export\n"  # 1
        "\n"  # 2
        "Employee #;Work Email;Note\n"  # 3
        "1;a@c.example;fine\n"  # 4
        "\n"  # 5
        '2;b@c.example;"two\nlines"\n'  # 6-7
        "3;c@c.example;x\n"  # 8
        "Count: 3\n"  # 9
    )
    path = write_text(tmp_path / "bamboo.csv", text, bom=True)

    result = run([path])

    assert column(result, "row") == [4, 6, 8]
    assert column(result, "employee_id") == ["1", "2", "3"]
    assert result.inputs["header_row"].to_list() == [3]
    assert any("footer" in note and "row 9" in note for note in result.notes)


# --- what is data --------------------------------------------------------------------------------------------------


def test_rows_are_told_apart_from_footers_and_noise(tmp_path: Path) -> None:
    """An empty-login row with a name is data; footers, repeated headers and unmapped-only rows are not."""
    rows: Rows = [
        ["Work Email", "Name", "Employee ID", "Notes"],  # 1
        ["a@c.example", "Ann", "1", None],  # 2
        [None, "Nobody Wrote A Login", "2", None],  # 3: data, login empty
        ["Work Email", "Name", "Employee ID", None],  # 4: header repeated
        [None, None, None, "see HR ticket 7"],  # 5: nothing mapped
        ["total.jones@c.example", "Total Jones", "3", None],  # 6: a person, despite "total"
        ["   ", "\u00a0", None, None],  # 7: blank once trimmed
        ["Count: 3", None, None, None],  # 8: footer in the login column
        [None, "Generated by Workday", None, None],  # 9: footer, login empty
    ]
    path = write_xlsx(tmp_path / "mixed.xlsx", {"S": rows})

    result = run([path])

    assert column(result, "row") == [2, 3, 6]
    assert column(result, "login_as_written") == ["a@c.example", None, "total.jones@c.example"]
    notes = "\n".join(result.notes)
    assert "2 footer/summary row(s) passed over (rows 8, 9)" in notes
    assert "1 repeated header row(s) passed over (row 4)" in notes
    assert "1 row(s) with no value in any mapped column passed over (row 5)" in notes


def test_whitespace_is_trimmed_but_the_login_is_kept_as_written(tmp_path: Path) -> None:
    """Names and ids are trimmed (non-breaking spaces too); the login keeps HR's text; blank-only login is null."""
    rows: Rows = [
        ["EMAIL ADDRESS", "  Full   Name ", "emp id"],
        ["  A@Corp.Example\u00a0", "\u00a0Ann Lee ", " 7 "],
        ["\u00a0 ", "Bob", "8"],
    ]
    path = write_xlsx(tmp_path / "ws.xlsx", {"S": rows})

    result = run([path])

    assert column(result, "login_as_written") == ["  A@Corp.Example\u00a0", None]
    assert column(result, "name") == ["Ann Lee", "Bob"]
    assert column(result, "employee_id") == ["7", "8"]


# --- header mapping ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Login", "login_as_written"),
        ("E-mail", "login_as_written"),
        ("Primary Work Email", "login_as_written"),
        ("user_login", "login_as_written"),
        ("Box Login", "login_as_written"),
        ("  WORK   e-mail  ", "login_as_written"),
        ("Username", "login_as_written"),
        ("E-Mail-Adresse", "login_as_written"),
        ("Last Day of Work", "termination_date_as_written"),
        ("Last working day", "termination_date_as_written"),
        ("Effective Date", "termination_date_as_written"),
        ("Separation Date", "termination_date_as_written"),
        ("termination effective date", "termination_date_as_written"),
        ("Exit Date", "termination_date_as_written"),
        ("Austrittsdatum", "termination_date_as_written"),
        ("Employee Number", "employee_id"),
        ("Worker ID", "employee_id"),
        ("Personnel Number", "employee_id"),
        ("Emp. ID", "employee_id"),
        ("Employee #", "employee_id"),
        ("Personalnummer", "employee_id"),
        ("Pers.-Nr.", "employee_id"),
        ("Full Name", "name"),
        ("Worker", "name"),
        ("Employee Name", "name"),
    ],
)
def test_header_synonyms(tmp_path: Path, header: str, field: str) -> None:
    """Each synonym, in any case and punctuation, maps its column."""
    login_header = "Work Email" if field != "login_as_written" else header
    headers = [login_header] if field == "login_as_written" else [login_header, header]
    values = ["a@c.example"] if field == "login_as_written" else ["a@c.example", "2026-01-02"]
    path = write_xlsx(tmp_path / "h.xlsx", {"S": [headers, values]})

    result = run([path])

    expected = "a@c.example" if field == "login_as_written" else "2026-01-02"
    assert column(result, field) == [expected]


def test_work_email_wins_and_personal_email_is_never_the_login(tmp_path: Path) -> None:
    """With Personal, plain and Work email columns, the work one is the login, and a note names the loser."""
    rows: Rows = [["Personal Email", "Email", "Work Email"], ["me@home.example", "x@corp.example", "w@corp.example"]]
    path = write_xlsx(tmp_path / "emails.xlsx", {"S": rows})

    result = run([path])

    assert column(result, "login_as_written") == ["w@corp.example"]
    assert "emails.xlsx, sheet 'S': login read from 'Work Email'; also matched, not used: 'Email'" in result.notes


def test_only_a_personal_email_is_no_login_column(tmp_path: Path) -> None:
    """A sheet whose only email is personal has no login column: the file is an error listing the headers seen."""
    path = write_xlsx(tmp_path / "p.xlsx", {"S": [["Name", "Personal Email"], ["Ann", "ann@home.example"]]})

    result = run([path])

    assert result.rows.is_empty()
    message = result.errors["error"].item()
    assert message.startswith("p.xlsx: has no login column on any sheet")
    assert "sheet 'S': 'Name', 'Personal Email'" in message


def test_headers_from_settings_take_precedence(tmp_path: Path) -> None:
    """A configured login header beats a built-in one; configured headers work for every field."""
    rows: Rows = [
        ["Email", "Benutzer", "Stichtag", "Mitarbeiter-ID", "Anzeigename"],
        ["old@c.example", "new@c.example", "2026-02-03", "E9", "Ann"],
    ]
    path = write_xlsx(tmp_path / "custom.xlsx", {"S": rows})

    result = run(
        [path],
        login_headers=("Benutzer", ""),
        date_headers=("Stichtag",),
        employee_id_headers=("Mitarbeiter-ID",),
        name_headers=("Anzeigename",),
    )

    assert result.rows.select("login_as_written", "termination_date", "employee_id", "name").row(0) == (
        "new@c.example",
        dt.date(2026, 2, 3),
        "E9",
        "Ann",
    )


@pytest.mark.parametrize(
    ("headers", "values", "expected"),
    [
        (["Email", "First Name", "Last Name"], ["a@c.example", "Ann", "Lee"], "Ann Lee"),
        (["Email", "Last Name", "First Name"], ["a@c.example", "Lee", "Ann"], "Ann Lee"),
        (["Email", "First Name", "Last Name"], ["a@c.example", "Ann", None], "Ann"),
        (["Email", "First Name", "Last Name", "Full Name"], ["a@c.example", "A", "L", "Ann Lee"], "Ann Lee"),
        (["Email", "Vorname", "Nachname"], ["a@c.example", "Jörg", "Müller"], "Jörg Müller"),
    ],
)
def test_name_from_first_and_last(tmp_path: Path, headers: list[str], values: list[object], expected: str) -> None:
    """First and last names are joined (first first); a full-name column wins over them."""
    path = write_xlsx(tmp_path / "n.xlsx", {"S": [headers, values]})

    assert column(run([path]), "name") == [expected]


# --- dates ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("2026-11-03", False, dt.date(2026, 11, 3)),
        ("2026-11-03T08:00:00", False, dt.date(2026, 11, 3)),
        ("2026-11-03 17:45", True, dt.date(2026, 11, 3)),
        ("11/03/2026", False, dt.date(2026, 11, 3)),
        ("11/03/2026", True, dt.date(2026, 3, 11)),
        ("13/02/2026", False, dt.date(2026, 2, 13)),
        ("13/02/2026", True, dt.date(2026, 2, 13)),
        ("02/13/2026", True, dt.date(2026, 2, 13)),
        ("03.11.2026", False, dt.date(2026, 11, 3)),
        ("03.11.2026", True, dt.date(2026, 11, 3)),
        ("3.4.26", False, dt.date(2026, 4, 3)),
        ("46000", False, dt.date(2025, 12, 9)),
        ("46000.75", False, dt.date(2025, 12, 9)),
        ("3-Nov-2026", False, dt.date(2026, 11, 3)),
        ("Nov 3, 2026", False, dt.date(2026, 11, 3)),
        ("20261103", False, dt.date(2026, 11, 3)),
        ("31.02.2026", False, None),
        ("13/13/2026", False, None),
        ("next Friday", False, None),
        ("1234", False, None),
    ],
)
def test_date_forms(text: str, day_first: bool, expected: dt.date | None) -> None:
    """Each written form reads as HR meant it; ambiguous slashes follow day_first; nonsense gives null."""
    column = read_date_column(pl.DataFrame({"t": [text]}), "t", date_column="d", note_column="n", day_first=day_first)

    assert column.frame.get_column("d").item() == expected


def test_date_cells_serials_and_text_in_one_column(tmp_path: Path) -> None:
    """Real date and datetime cells stay dates, a number cell is an Excel serial, bad text keeps its words."""
    rows: Rows = [
        ["Email", "Termination Date"],
        ["a@c.example", dt.date(2026, 3, 4)],
        ["b@c.example", dt.datetime(2026, 3, 5, 9, 15)],
        ["c@c.example", 46000],
        ["d@c.example", "04/03/2026"],
        ["e@c.example", "  soon, ask Bob "],
        ["f@c.example", None],
    ]
    path = write_xlsx(tmp_path / "d.xlsx", {"S": rows})

    us, eu = run([path]), run([path], day_first=True)

    expected_us = [dt.date(2026, 3, 4), dt.date(2026, 3, 5), dt.date(2025, 12, 9), dt.date(2026, 4, 3), None, None]
    assert column(us, "termination_date") == expected_us
    assert column(eu, "termination_date")[3] == dt.date(2026, 3, 4)
    assert column(us, "termination_date_as_written")[3:] == ["04/03/2026", "soon, ask Bob", None]


def test_missing_date_column_is_noted(tmp_path: Path) -> None:
    """A table with logins but no termination-date column is read, with a note saying dates are empty."""
    path = write_xlsx(tmp_path / "nodate.xlsx", {"S": [["Email"], ["a@c.example"]]})

    result = run([path])

    assert column(result, "termination_date") == [None]
    assert "nodate.xlsx, sheet 'S': no termination-date column found; dates left empty" in result.notes


# --- unreadable files ----------------------------------------------------------------------------------------------


def _encrypted_xlsx(path: Path) -> None:
    plain = io.BytesIO()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Email"])
    book.save(plain)
    plain.seek(0)
    with path.open("wb") as out:
        OOXMLFile(plain).encrypt("secret", out)


def _corrupt_xlsx(path: Path) -> None:
    write_xlsx(path, {"S": [["Email"], ["a@c.example"]]})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        ("locked.xlsx", _encrypted_xlsx, "is password-protected (encrypted)"),
        (
            "ole.xlsx",
            lambda p: p.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(1024)),
            "encrypted or not an .xlsx",
        ),
        (
            "text.xlsx",
            lambda p: p.write_text("Email,Date\na@c.example,2026-01-01\n"),
            "not an Excel workbook: it is text",
        ),
        ("page.xls", lambda p: p.write_text("<html><table><tr><td>Email</td></tr></table></html>"), "an HTML page"),
        ("half.xlsx", _corrupt_xlsx, "not a readable Excel workbook"),
        ("empty.xlsx", lambda p: p.write_bytes(b""), "is empty"),
        ("empty.csv", lambda p: p.write_text("\n\n"), "is empty"),
        ("bom_only.csv", lambda p: p.write_bytes(b"\xef\xbb\xbf\r\n"), "is empty"),
        (
            "binary.csv",
            lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8),
            "not text in any encoding",
        ),
        ("book.csv", lambda p: write_xlsx(p, {"S": [["Email"]]}), "is an Excel workbook, not CSV"),
        ("nologin.csv", lambda p: p.write_text("Name;Date\nAnn;2026-01-01\n"), "headers seen: 'Name', 'Date'"),
        ("notes.txt", lambda p: p.write_text("Email\na@c.example\n"), "unsupported extension '.txt'"),
    ],
)
def test_unreadable_file_is_an_error_and_others_go_on(tmp_path: Path, name: str, make: object, expected: str) -> None:
    """A file that cannot be read gives an error naming it and saying what it is; the next file is still read."""
    bad = tmp_path / name
    make(bad)  # type: ignore[operator]
    good = write_text(tmp_path / "good.csv", "Email\nok@c.example\n")

    result = run([bad, good])

    assert result.errors.rows() == [(name, None, result.errors["error"].item())]
    message = result.errors["error"].item()
    assert message.startswith(f"{name}: ")
    assert expected in message
    assert column(result, "login_as_written") == ["ok@c.example"]
    assert column(result, "input_index") == [0]


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    """A path that vanished between listing and reading is an error for that file only."""
    result = run([tmp_path / "gone.xlsx"])

    assert result.errors["file"].to_list() == ["gone.xlsx"]
    assert "cannot be opened" in result.errors["error"].item()


def test_empty_sheet_is_noted(tmp_path: Path) -> None:
    """An empty sheet beside a data sheet is passed over with a note saying it is empty."""
    path = write_xlsx(tmp_path / "e.xlsx", {"Data": [["Email"], ["a@c.example"]], "Blank": []})

    result = run([path])

    assert "e.xlsx, sheet 'Blank': is empty; passed over" in result.notes
    assert result.rows.height == 1


def test_frames_have_the_declared_schemas_even_when_empty(tmp_path: Path) -> None:
    """rows, errors and inputs carry their schemas, with data and with nothing read."""
    good = write_xlsx(tmp_path / "g.xlsx", {"S": [["Email"], ["a@c.example"]]})
    for result in (run([good]), run([])):
        assert result.rows.schema == pl.Schema(INPUT_SCHEMA)
        assert result.errors.schema == pl.Schema(FILE_ERROR_SCHEMA)
        assert result.inputs.schema == pl.Schema(INPUTS_SCHEMA)


# --- expand_inputs -------------------------------------------------------------------------------------------------


def test_expand_inputs_folders_globs_and_files(tmp_path: Path) -> None:
    """Folders give their spreadsheets sorted (no lock or other files), globs their matches, files themselves, once."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("b.xlsx", "a.CSV", "~$b.xlsx", "readme.txt", ".hidden.csv", "c.xls"):
        (inbox / name).write_text("x")
    extra = tmp_path / "extra.xlsm"
    extra.write_text("x")
    odd = tmp_path / "odd.txt"
    odd.write_text("x")

    found = expand_inputs([inbox, str(tmp_path / "*.xlsm"), odd, inbox / "b.xlsx"])

    assert [p.name for p in found] == ["a.CSV", "b.xlsx", "c.xls", "extra.xlsm", "odd.txt"]


@pytest.mark.parametrize("pattern", ["missing.xlsx", "*.xlsx", "empty_dir"])
def test_expand_inputs_nothing_found_is_a_configuration_error(tmp_path: Path, pattern: str) -> None:
    """A missing path, a glob with no match or an empty folder is a ConfigurationError naming what was given."""
    (tmp_path / "empty_dir").mkdir()

    with pytest.raises(ConfigurationError, match=pattern.replace("*", r"\*")):
        expand_inputs([str(tmp_path / pattern)])


# --- scale ---------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_200k_row_workbook(tmp_path: Path) -> None:
    """200,000 rows in one sheet are all read, with their row numbers and dates."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Leavers")
    sheet.append(["Leavers export"])
    sheet.append(["Employee ID", "Name", "Work Email", "Termination Date"])
    for i in range(200_000):
        when = dt.date(2026, 1, 1) + dt.timedelta(days=i % 365)
        sheet.append([f"E{i}", f"P {i}", f"u{i}@c.example", when if i % 2 else when.strftime("%m/%d/%Y")])
    path = tmp_path / "big.xlsx"
    book.save(path)

    result = run([path])

    assert result.rows.height == 200_000
    assert result.rows["row"][-1] == 200_002
    assert result.rows["termination_date"].null_count() == 0


# --- issue 14: sheets that are not leavers, encodings, summary rows ------------------------------------------------

LEAVER_HEADER = ["Employee ID", "Work Email", "Termination Date"]


def test_rehire_sheet_is_not_read_as_leavers_and_its_people_are_holds(tmp_path: Path) -> None:
    """A 'Rehires' sheet gives holds (with row and what it says), no leaver rows; the Terminations sheet is read."""
    path = write_xlsx(tmp_path / "hr.xlsx", {
        "Terminations": [LEAVER_HEADER, ["E1", "ann@c.example", "2026-11-01"], ["E2", "bob@c.example", "2026-11-02"]],
        "Rehires": [LEAVER_HEADER, ["E1", "Ann@c.example", "2026-10-01"]],
    })  # fmt: skip
    result = run([path])
    assert column(result, "login_as_written") == ["ann@c.example", "bob@c.example"]
    assert result.holds.select("login_as_written", "sheet", "row", "listed_as").rows() == [
        ("Ann@c.example", "Rehires", 2, "rehired")
    ]
    read_as = dict(result.inputs.select("sheet", "read_as").iter_rows())
    assert read_as == {"Terminations": "leavers", "Rehires": "staying: rehired"}


def test_sheets_setting_reads_only_the_sheets_it_names(tmp_path: Path) -> None:
    """OFFBOARD_SHEETS: a named sheet is read even when its name says otherwise; the others are passed over."""
    path = write_xlsx(tmp_path / "hr.xlsx", {
        "Leavers": [LEAVER_HEADER, ["E1", "ann@c.example", "2026-11-01"]],
        "Returners to offboard": [LEAVER_HEADER, ["E2", "bob@c.example", "2026-11-01"]],
    })  # fmt: skip
    result = run([path], sheets=("returners to offboard",))
    assert column(result, "login_as_written") == ["bob@c.example"]
    read_as = dict(result.inputs.select("sheet", "read_as").iter_rows())
    assert read_as["Leavers"] == "passed over: not one of the sheets OFFBOARD_SHEETS names"
    assert any("read as leavers because OFFBOARD_SHEETS names it" in note for note in result.notes)


def test_login_sheet_without_dates_is_passed_over_when_not_the_only_table(tmp_path: Path) -> None:
    """A second sheet with logins but no termination date and no leaver name is passed over, and says why."""
    path = write_xlsx(tmp_path / "hr.xlsx", {
        "Leavers": [LEAVER_HEADER, ["E1", "ann@c.example", "2026-11-01"]],
        "Contacts": [["Name", "Email"], ["Cy", "cy@c.example"]],
    })  # fmt: skip
    result = run([path])
    assert column(result, "login_as_written") == ["ann@c.example"]
    read_as = dict(result.inputs.select("sheet", "read_as").iter_rows())
    assert str(read_as["Contacts"]).startswith("passed over: has a login column but no termination-date column")


ENCODED_TEXT = "Matricule;Nom;Courriel;Date de départ\nE1;Hélène Noël;helene@c.example;2026-11-28\n"


@pytest.mark.parametrize(
    ("data", "note"),
    [
        pytest.param(
            b"\xff\xfe" + ENCODED_TEXT.replace(";", "\t").encode("utf-16-le"),
            "read as UTF-16 (Excel's 'Unicode Text')",
            id="utf-16-bom-tabs",
        ),
        pytest.param(
            ENCODED_TEXT.replace(";", "\t").encode("utf-16-le"), "read as UTF-16 (LE, no byte-order mark)", id="utf-16"
        ),
        pytest.param(ENCODED_TEXT.encode("cp1252"), "not UTF-8: read as Windows-1252", id="cp1252"),
        pytest.param(b"\xef\xbb\xbf" + ENCODED_TEXT.encode("utf-8"), "", id="utf-8-bom"),
    ],
)
def test_csv_text_encodings(tmp_path: Path, data: bytes, note: str) -> None:
    """UTF-16 with or without a mark, Windows-1252 and UTF-8 read the same row; how is said when not UTF-8."""
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    result = run([path])
    assert result.errors.is_empty(), result.errors.to_dicts()
    assert (column(result, "name"), column(result, "login_as_written")) == (["Hélène Noël"], ["helene@c.example"])
    decoded = [n for n in result.notes if "UTF" in n or "Windows" in n]
    assert [n[: len("export.csv: ") + len(note)] for n in decoded] == ([f"export.csv: {note}"] if note else [])


def test_csv_delimiter_tie_is_broken_by_consistent_field_counts(tmp_path: Path) -> None:
    """A header that splits the same on ',' and ';' is split the way its rows keep the header's width."""
    text = "Email;Termination Date\nann@c.example;2026-11-01\nbob@c.example;2026-11-02\n"
    result = run([write_text(tmp_path / "x.csv", text)])
    assert column(result, "termination_date") == [dt.date(2026, 11, 1), dt.date(2026, 11, 2)]


@pytest.mark.parametrize(
    "summary",
    [
        ["Zwischensumme Vertrieb", "14 Mitarbeiter", None],
        ["Gesamtsumme", "20", None],
        ["Sous-total Ventes", None, None],
        ["Total général : 4", None, None],
        [None, "12 empleados", None],
        ["Subtotaal", "3", None],
    ],
)
def test_summary_rows_in_five_languages_are_not_people(tmp_path: Path, summary: list[object]) -> None:
    """Subtotal and total rows (a total or count word, no login) are passed over and counted in the notes."""
    path = write_xlsx(tmp_path / "hr.xlsx", {"Austritte": [
        ["Personalnummer", "Name", "E-Mail"], ["1", "Ann", "ann@c.example"], summary, ["2", "Bob", "bob@c.example"],
    ]})  # fmt: skip
    result = run([path])
    assert column(result, "login_as_written") == ["ann@c.example", "bob@c.example"]
    assert "hr.xlsx, sheet 'Austritte': 1 footer/summary row(s) passed over (row 3)" in result.notes


def test_blank_rows_among_the_data_are_counted_trailing_ones_are_not(tmp_path: Path) -> None:
    """Blank rows between people are counted in a note; an empty formatted range after the last row is not."""
    path = write_xlsx(tmp_path / "hr.xlsx", {"S": [
        ["Email"], ["a@c.example"], [None], ["b@c.example"], [None], [None], ["c@c.example"], [None], [" "],
    ]})  # fmt: skip
    result = run([path])
    assert "hr.xlsx, sheet 'S': 3 blank row(s) among the data skipped (rows 3, 5, 6)" in result.notes


def test_rows_whose_status_says_the_person_stays_are_holds(tmp_path: Path) -> None:
    """On a leaver sheet, a row whose status is rescinded, cancelled or rejected becomes a hold; a completed,
    terminated or active one (active until the termination takes effect) does not."""
    path = write_xlsx(tmp_path / "hr.xlsx", {"Terminations": [
        ["Work Email", "Termination Date", "Business Process Status"],
        ["ann@c.example", "2026-11-01", "Successfully Completed"],
        ["bob@c.example", "2026-11-01", "Rescinded"],
        ["cy@c.example", "2026-11-01", "Storniert"],
        ["dee@c.example", "2026-11-01", "Terminated"],
        ["eve@c.example", "2026-11-01", "Rejected"],
        ["fay@c.example", "2026-11-01", "Aktiv"],
    ]})  # fmt: skip
    result = run([path])
    assert result.rows.height == 6
    assert result.holds.select("login_as_written", "row", "listed_as").rows() == [
        ("bob@c.example", 3, "a cancelled termination ('Rescinded' in its 'Business Process Status' column)"),
        ("cy@c.example", 4, "a cancelled termination ('Storniert' in its 'Business Process Status' column)"),
        ("eve@c.example", 6, "a termination not approved ('Rejected' in its 'Business Process Status' column)"),
    ]
    assert "hr.xlsx, sheet 'Terminations': 3 row(s) whose status says the person stays, held (rows 3, 4, 6)" in (
        result.notes
    )


def test_a_rehire_date_on_or_after_the_termination_holds_the_row(tmp_path: Path) -> None:
    """A rehire (or return) date on or after the termination date, or one nobody can compare, holds the row; a
    rehire before this termination (rehired once, now leaving again) does not."""
    path = write_xlsx(tmp_path / "adp.xlsx", {"Terminations": [
        ["Work Email", "Termination Date", "Rehire Date"],
        ["ann@c.example", dt.datetime(2026, 11, 1), dt.datetime(2026, 12, 1)],
        ["bob@c.example", dt.datetime(2026, 11, 1), dt.datetime(2024, 3, 1)],
        ["cy@c.example", dt.datetime(2026, 11, 1), "tbc"],
        ["dee@c.example", dt.datetime(2026, 11, 1), None],
    ]})  # fmt: skip
    result = run([path])
    assert result.holds.select("login_as_written", "row", "listed_as").rows() == [
        ("ann@c.example", 2, "rehired ('2026-12-01' in its 'Rehire Date' column)"),
        ("cy@c.example", 4, "rehired ('tbc' in its 'Rehire Date' column)"),
    ]
    assert column(result, "termination_date") == [dt.date(2026, 11, 1)] * 4


@pytest.mark.parametrize(
    ("header", "setting", "expected", "because"),
    [
        ("Date de départ", None, dt.date(2026, 12, 1), "the header 'Date de départ' is French"),
        ("Fecha de baja", None, dt.date(2026, 12, 1), "the header 'Fecha de baja' is Spanish"),
        ("Termination Date", None, dt.date(2026, 1, 12), "the default for English headers"),
        ("Date de départ", False, dt.date(2026, 1, 12), "OFFBOARD_DAY_FIRST is off"),
        ("Termination Date", True, dt.date(2026, 12, 1), "OFFBOARD_DAY_FIRST is on"),
    ],
)
def test_a_wholly_ambiguous_date_column_falls_back_to_the_setting_or_its_header_language(
    tmp_path: Path, header: str, setting: bool | None, expected: dt.date, because: str
) -> None:
    """With nothing in the column to decide, the setting decides; unset, a French/Spanish/German/Dutch header reads
    day first (01/12/2026 is 1 December in Paris) and an English one month first; each row says which and why."""
    text = f"Email;{header}\na@c.example;01/12/2026\nb@c.example;05/11/2026\n"
    result = run([write_text(tmp_path / "x.csv", text)], day_first=setting)
    assert column(result, "termination_date")[0] == expected
    notes = column(result, "input_note")
    assert all(str(note).startswith("ambiguous date: read ") and because in str(note) for note in notes), notes
