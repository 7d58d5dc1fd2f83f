"""Finding the header band of a table and scoring its columns by header words (five languages) and content."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from box_offboarding.ingest.headers import (
    EMPLOYEE_ID,
    FIRST_NAME,
    LAST_NAME,
    LOGIN,
    NAME,
    TERMINATION_DATE,
    Synonyms,
    find_header,
    header_score,
)
from box_offboarding.ingest.layout import Merge, SheetLayout
from box_offboarding.settings import Settings

SYNONYMS = Synonyms.from_settings(Settings())
PEOPLE = [
    ("E1", "Ann Lee", "ann.lee@corp.example.com", "ann.lee@gmail.com", "28/11/2026"),
    ("E2", "Bob Roy", "bob.roy@corp.example.com", "bob@web.de", "30/11/2026"),
    ("E3", "Cy Dahl", "cy.dahl@corp.example.com", "", "01/12/2026"),
]


def _labels(rows: Sequence[Sequence[object]]) -> dict[str, str]:
    match = find_header(rows, SYNONYMS)
    assert match is not None
    return dict(match.labels)


def test_workday_primary_work_beside_primary_home() -> None:
    """Workday's 'Email - Primary Work' is the login even with 'Email - Primary Home' first; home is never it."""
    rows = [("Employee ID", "Worker", "Email - Primary Home", "Email - Primary Work", "Termination Date")]
    rows += [(i, n, home, work, d) for i, n, work, home, d in PEOPLE]
    labels = _labels(rows)
    assert labels[LOGIN] == "Email - Primary Work"
    assert (labels[EMPLOYEE_ID], labels[NAME], labels[TERMINATION_DATE]) == (
        "Employee ID",
        "Worker",
        "Termination Date",
    )


def test_french_headers_with_nom_and_prenom() -> None:
    """French headers map, and 'Nom' beside 'Prénom' is the last name, not the full name."""
    rows = [("Matricule", "Nom", "Prénom", "Adresse e-mail professionnelle", "Date de départ")]
    rows += [(i, n.split()[1], n.split()[0], work, d) for i, n, work, _, d in PEOPLE]
    labels = _labels(rows)
    assert labels == {
        EMPLOYEE_ID: "Matricule",
        LAST_NAME: "Nom",
        FIRST_NAME: "Prénom",
        LOGIN: "Adresse e-mail professionnelle",
        TERMINATION_DATE: "Date de départ",
    }


def test_two_row_header_under_a_merged_label() -> None:
    """'Personalnummer' merged over two rows above 'E-Mail' / 'geschäftlich' 'privat': read as one header whose
    data starts below both rows, the business address the login."""
    rows: list[tuple[object, ...]] = [
        ("Austritte November", None, None, None, None),
        ("Personalnummer", "Mitarbeiter", "E-Mail", None, "Austritt"),
        (None, "Name", "geschäftlich", "privat", "Datum"),
    ]
    rows += [(i, n, work, home, d) for i, n, work, home, d in PEOPLE]
    merges = (Merge(1, 0, 2, 0), Merge(1, 2, 1, 3))
    match = find_header(rows, SYNONYMS, layout=SheetLayout(merges=merges))
    assert match is not None
    assert (match.row_index, match.height, match.data_start) == (1, 2, 3)
    assert match.labels[LOGIN] == "E-Mail geschäftlich"
    assert match.columns[EMPLOYEE_ID] == 0


def test_hidden_user_name_column_does_not_win_the_login() -> None:
    """Of two columns with equal evidence, the hidden one loses; the content then says which holds addresses."""
    rows = [("Login", "E-Mail", "Austrittsdatum")]
    rows += [(f"u{i}", work, d) for i, (_, _, work, _, d) in enumerate(PEOPLE)]
    match = find_header(rows, SYNONYMS, layout=SheetLayout(hidden_columns=frozenset({0})))
    assert match is not None
    assert match.labels[LOGIN] == "E-Mail"
    assert match.passed_over[LOGIN] == ("Login",)


def test_title_and_repeated_header_rows_are_not_the_header() -> None:
    """A title naming email above the header, and the header repeated further down, do not win over the header."""
    rows: list[tuple[object, ...]] = [("Work email report", None), ("Work Email", "Termination Date")]
    rows += [(work, d) for _, _, work, _, d in PEOPLE]
    rows += [("Work Email", "Termination Date"), ("dee@corp.example.com", "02/12/2026")]
    match = find_header(rows, SYNONYMS)
    assert match is not None
    assert match.row_index == 1


@pytest.mark.parametrize(
    ("field", "label"),
    [
        (LOGIN, "Correo electrónico corporativo"),
        (LOGIN, "Zakelijk e-mailadres"),
        (LOGIN, "E-Mail (geschäftlich)"),
        (TERMINATION_DATE, "Fecha de baja"),
        (TERMINATION_DATE, "Datum uit dienst"),
        (TERMINATION_DATE, "Letzter Arbeitstag"),
        (EMPLOYEE_ID, "Personeelsnummer"),
    ],
)
def test_header_words_in_five_languages(field: str, label: str) -> None:
    """Header vocabulary beyond English scores for its field."""
    assert header_score(field, label, SYNONYMS) > 0


@pytest.mark.parametrize(
    ("field", "label"),
    [
        (LOGIN, "Private E-Mail"),
        (LOGIN, "Courriel personnel"),
        (LOGIN, "Manager Email"),
        (TERMINATION_DATE, "Hire Date"),
        (TERMINATION_DATE, "Eintrittsdatum"),
        (TERMINATION_DATE, "Date d'embauche"),
    ],
)
def test_words_that_rule_a_column_out(field: str, label: str) -> None:
    """Home / personal / manager addresses are never the login; hire and start dates never the termination date."""
    assert header_score(field, label, SYNONYMS) == 0


def test_no_login_candidate_is_no_header() -> None:
    """A table with no column that could be the login has no header at all."""
    assert find_header([("Name", "Date"), ("Ann", "2026-11-01")], SYNONYMS) is None
