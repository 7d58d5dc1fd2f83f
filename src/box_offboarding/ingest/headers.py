"""Recognising the header row of an HR export and which column means what.

Headers are compared by a *key*: the header with accents, case, whitespace and punctuation removed
(``"Work E-mail "`` and ``"work email"`` are both ``workemail``; ``#`` reads as ``no``). Matching is exact on keys,
never "contains": a fuzzy rule would happily map "Manager Email" or "Personal Email" to the login, and a login
column is who gets cut off.

Each field has an ordered list of synonyms; when several columns of one header row match a field, the one whose
synonym comes first wins (then the leftmost). That is how "Primary Work Email" beats "Email", and how synonyms from
the settings, which come before the built-in ones, take precedence.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from box_offboarding.settings import Settings

LOGIN = "login"
TERMINATION_DATE = "termination_date"
EMPLOYEE_ID = "employee_id"
NAME = "name"
FIRST_NAME = "first_name"
LAST_NAME = "last_name"

#: Built-in header synonyms per field, best first. German ones cover SAP exports.
BUILTIN_SYNONYMS: Mapping[str, tuple[str, ...]] = {
    LOGIN: (
        "box login",
        "box email",
        "box user",
        "primary work email",
        "primary work email address",
        "work email",
        "work email address",
        "business email",
        "business email address",
        "corporate email",
        "company email",
        "office email",
        "email geschäftlich",
        "geschäftliche email",
        "user login",
        "login",
        "login email",
        "login name",
        "user principal name",
        "upn",
        "email",
        "email address",
        "mail",
        "emailadresse",
        "username",
        "user name",
        "benutzername",
        "benutzerkennung",
    ),
    TERMINATION_DATE: (
        "termination date",
        "termination effective date",
        "date of termination",
        "term date",
        "separation date",
        "last day of work",
        "last working day",
        "last day worked",
        "last day",
        "exit date",
        "leave date",
        "leaving date",
        "departure date",
        "end date",
        "end of employment",
        "employment end date",
        "effective date",
        "austrittsdatum",
        "austritt",
        "letzter arbeitstag",
        "enddatum",
    ),
    EMPLOYEE_ID: (
        "employee id",
        "employee number",
        "employee no",
        "employee #",
        "emp id",
        "emp no",
        "emp #",
        "worker id",
        "personnel number",
        "personnel no",
        "staff id",
        "staff number",
        "personalnummer",
        "pers nr",
        "personalnr",
        "mitarbeiternummer",
    ),
    NAME: (
        "full name",
        "employee name",
        "worker name",
        "legal name",
        "name",
        "worker",
        "employee",
        "display name",
        "preferred name",
        "mitarbeiter",
        "vollständiger name",
    ),
    FIRST_NAME: ("first name", "given name", "firstname", "vorname", "preferred first name"),
    LAST_NAME: ("last name", "surname", "family name", "lastname", "nachname", "familienname"),
}

#: Shown when no login column is found.
LOGIN_EXAMPLES = "'Work Email', 'Email', 'Login', 'Username' or a name set in OFFBOARD_LOGIN_HEADERS"

#: The settings attribute holding extra synonyms for each field.
SETTINGS_SYNONYMS: Mapping[str, str] = {
    LOGIN: "login_headers",
    TERMINATION_DATE: "date_headers",
    NAME: "name_headers",
    EMPLOYEE_ID: "employee_id_headers",
}


def header_key(text: object) -> str:
    """The comparison key of a header cell: accents, case, whitespace and punctuation removed."""
    if text is None:
        return ""
    decomposed = unicodedata.normalize("NFKD", str(text).replace("#", " no "))
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]", "", without_accents.casefold())


@dataclass(frozen=True)
class Synonyms:
    """Which header key means which field, and how good a match it is (lower rank is better)."""

    by_key: Mapping[str, tuple[str, int]]

    @classmethod
    def from_settings(cls, settings: Settings) -> Synonyms:
        """Synonyms from the settings first (they take precedence), then the built-in ones."""
        ordered: list[tuple[str, str]] = []
        for field, attribute in SETTINGS_SYNONYMS.items():
            ordered += [(field, header) for header in getattr(settings, attribute)]
        for field, headers in BUILTIN_SYNONYMS.items():
            ordered += [(field, header) for header in headers]
        by_key: dict[str, tuple[str, int]] = {}
        for rank, (field, header) in enumerate(ordered):
            if key := header_key(header):  # an empty configured name must not match every empty cell
                by_key.setdefault(key, (field, rank))
        return cls(by_key)


@dataclass(frozen=True)
class HeaderMatch:
    """The header row of a table and the column chosen for each field found in it."""

    row_index: int  # 0-based position of the header row in the grid
    columns: Mapping[str, int]  # field -> 0-based column position
    labels: Mapping[str, str]  # field -> the header text as written
    passed_over: Mapping[str, tuple[str, ...]]  # field -> headers that also matched it but lost

    def describe(self) -> str:
        """One line saying which header feeds which field, e.g. ``login='Work Email'; name='First' + 'Last'``."""
        labels = self.labels
        parts = [f"{field}={labels[field]!r}" for field in (LOGIN, TERMINATION_DATE, EMPLOYEE_ID) if field in labels]
        if NAME in labels:
            parts.append(f"name={labels[NAME]!r}")
        elif FIRST_NAME in labels or LAST_NAME in labels:
            parts.append("name=" + " + ".join(repr(labels[f]) for f in (FIRST_NAME, LAST_NAME) if f in labels))
        return "; ".join(parts)


def match_header_row(cells: Sequence[object], synonyms: Synonyms) -> dict[str, list[tuple[int, int, str]]]:
    """Every field the cells of one row name: field -> [(rank, column, header text)], best first."""
    found: dict[str, list[tuple[int, int, str]]] = {}
    for column, cell in enumerate(cells):
        hit = synonyms.by_key.get(header_key(cell))
        if hit is not None:
            field, rank = hit
            found.setdefault(field, []).append((rank, column, str(cell).strip()))
    return {field: sorted(hits) for field, hits in found.items()}


def find_header(rows: Sequence[Sequence[object]], synonyms: Synonyms) -> HeaderMatch | None:
    """The first of ``rows`` that has a login column, with the best column for each field; None if none has."""
    for index, cells in enumerate(rows):
        found = match_header_row(cells, synonyms)
        if LOGIN not in found:
            continue
        return HeaderMatch(
            row_index=index,
            columns={field: hits[0][1] for field, hits in found.items()},
            labels={field: hits[0][2] for field, hits in found.items()},
            passed_over={field: tuple(h[2] for h in hits[1:]) for field, hits in found.items() if len(hits) > 1},
        )
    return None


def headers_seen(rows: Sequence[Sequence[object]], *, limit: int = 12) -> list[str]:
    """The cells of the fullest of ``rows`` (the likeliest header), to show what a table without login looked like."""
    filled = [[str(cell).strip() for cell in cells if cell is not None and str(cell).strip()] for cells in rows]
    best = max(filled, key=len, default=[])
    return best[:limit]
