"""What a sheet's (or file's) name says of its people: leavers, people staying, or nothing."""

from __future__ import annotations

import pytest

from box_offboarding.ingest.sheets import SheetKind, plain_text, sheet_verdict, status_says_staying


@pytest.mark.parametrize(
    ("sheet", "listed_as"),
    [
        ("Rehires", "rehired"),
        ("Wiedereinstellungen", "rehired"),
        ("Réembauches 2026", "rehired"),
        ("Recontrataciones", "rehired"),
        ("Herindiensttreding", "rehired"),
        ("New Hires", "a new hire"),
        ("Neueinstellungen", "a new hire"),
        ("Onboarding", "a new hire"),
        ("Transfers", "transferred"),
        ("Versetzungen", "transferred"),
        ("Active Employees", "active staff"),
        ("Cancelled Terminations", "a cancelled termination"),
        ("Annulations", "a cancelled termination"),
        ("Terminations - rescinded", "a cancelled termination"),
        ("Stornierte Austritte", "a cancelled termination"),
        ("Leave of Absence", "on leave"),
        ("Elternzeit", "on leave"),
        ("Congés", "on leave"),
        ("Terminations pending approval", "a termination not approved"),
        ("Bajas pendientes", "a termination not approved"),
    ],
)
def test_sheet_names_that_say_people_stay(sheet: str, listed_as: str) -> None:
    """A name that says its people stay (in any of the five languages, compounds too) is STAYING, and says how."""
    verdict = sheet_verdict(sheet, "export")
    assert (verdict.kind, verdict.listed_as, verdict.said_by) == (SheetKind.STAYING, listed_as, sheet)


@pytest.mark.parametrize(
    "sheet",
    [
        "Terminations", "Leavers Nov", "Austritte", "Départs", "Sorties", "Bajas", "Uitstroom", "Inactive",
        "Retirements", "Congédiements", "Kündigungen", "Despidos", "Ontslagen",
    ],
)  # fmt: skip
def test_sheet_names_that_say_leavers(sheet: str) -> None:
    """Termination, leaver and departure words (and 'inactive', which is not 'active') say LEAVERS."""
    assert sheet_verdict(sheet, "export").kind is SheetKind.LEAVERS


@pytest.mark.parametrize(("sheet", "stem", "kind"), [
    ("Sheet1", "workday_terminations_2026-11", SheetKind.LEAVERS),
    ("Report", "rehires_q4", SheetKind.STAYING),
    (None, "bamboohr_new_hires", SheetKind.STAYING),
    ("Sheet1", "export", SheetKind.UNSAID),
    ("Rehires", "terminations", SheetKind.STAYING),
])  # fmt: skip
def test_the_file_name_speaks_when_the_sheet_name_does_not(sheet: str | None, stem: str, kind: SheetKind) -> None:
    """A sheet name that says nothing (or a CSV) falls back to the file name; a sheet that speaks wins."""
    assert sheet_verdict(sheet, stem).kind is kind


def test_staying_wins_when_a_name_says_both() -> None:
    """'Terminations - cancelled' names terminations, but its people stay: the safe side wins."""
    verdict = sheet_verdict("Terminations - cancelled", "export")
    assert verdict.kind is SheetKind.STAYING
    assert verdict.describe() == "a cancelled termination, from the name 'Terminations - cancelled'"


def test_plain_text_drops_accents_case_and_punctuation() -> None:
    """Names compare as plain lower-case words."""
    assert plain_text("Réembauches_2026 (Straße)") == "reembauches 2026 strasse"


@pytest.mark.parametrize(
    ("status", "says"),
    [
        ("Rescinded", "a cancelled termination"),
        ("Storniert", "a cancelled termination"),
        ("On Leave", "on leave"),
        ("In Progress", "a termination not approved"),
        ("Rechazada", "a termination not approved"),
        ("Successfully Completed", None),
        ("Terminated", None),
        ("Inactive", None),
        ("Approved", None),
        ("Active", None),
        ("aktiv", None),
    ],
)
def test_a_row_status_that_says_the_person_stays(status: str, says: str | None) -> None:
    """A status cell saying rescinded, on leave or not approved holds the row; completed or terminated does not."""
    assert status_says_staying(status) == says
