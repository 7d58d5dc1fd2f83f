"""What a sheet's name says it lists: leavers, people who stay, or nothing either way.

HR workbooks carry more than leavers: rehires, new hires, transfers, active staff, cancelled terminations. Reading
those as leavers cuts off people who work here, so a sheet is read as leavers only when its name does not say
otherwise (and, see :mod:`box_offboarding.ingest`, it has a login and a termination-date column). A name that says
both ("Terminations - cancelled") counts as staying: the safe side.

Names are compared as lower-case text without accents, word by word for short words (``active`` is not
``inactive``), and inside compounds for German and Dutch (``Wiedereinstellungen``, ``herindiensttreding``). When the
sheet name says nothing (``Sheet1``, ``Report``), the file name is asked the same question.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class SheetKind(StrEnum):
    """What a sheet's (or a CSV's) name says of the people on it."""

    LEAVERS = "leavers"
    STAYING = "staying"
    UNSAID = "unsaid"


def plain_text(text: str) -> str:
    """Lower case, accents removed, punctuation as spaces: ``Réembauches 2026`` -> ``reembauches 2026``."""
    decomposed = unicodedata.normalize("NFKD", text)
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(re.findall(r"[0-9a-z]+", without_accents.replace("ß", "ss")))


def _words(*words: str) -> str:
    """A pattern matching any of ``words`` as whole words (a trailing ``*`` allows any ending)."""
    alternatives = "|".join(re.escape(word.rstrip("*")) + (r"\w*" if word.endswith("*") else "") for word in words)
    return rf"\b(?:{alternatives})\b"


def _parts(*parts: str) -> str:
    """A pattern matching any of ``parts`` anywhere, inside compounds too."""
    return "|".join(re.escape(part) for part in parts)


ACTIVE_STAFF = "active staff"
#: What a staying sheet's name says of its people (for the reason of a held row), and how to recognise it; first
#: match wins. EN, DE, FR, ES, NL.
# fmt: off
STAYING_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "a cancelled termination",
        _words("cancel*", "rescind*", "revoked", "revers*", "withdrawn", "annul*", "cancelad*", "anulad*")
        + "|"
        + _parts("storn", "widerruf", "zuruckgezogen", "geannuleerd", "ingetrokken"),
    ),
    (
        "rehired",
        _words("rehire*", "re hire*", "reinstat*", "returner*", "returning", "return", "returns", "retour*", "regreso*")
        + "|"
        + _parts(
            "wiedereinstell", "wiedereintritt", "ruckkehr", "reembauch", "reintegration", "recontrat", "reingreso",
            "reincorpora", "herindienst", "herintred", "heraanname", "terugkeer",
        ),
    ),
    (
        "a new hire",
        _words("new hire*", "newhire*", "hire", "hires", "hiring", "joiner*", "starter*", "onboarding", "embauche*",
               "arrivee*", "entree", "entrees", "altas", "alta", "incorporaciones", "contrataciones",
               "instroom")
        + "|"
        + _parts("neueinstell", "neuzugang", "neuzugange", "zugange", "eintritt", "einstellung", "indiensttreding"),
    ),
    (
        "transferred",
        _words("transfer*", "transfert*", "mutation*", "traslado*", "transferencia*", "overplaatsing*")
        + "|"
        + _parts("versetzung", "umsetzung"),
    ),
    (
        "on leave",
        _words("leave of absence", "loa", "absence", "absences", "sabbatical*", "furlough*", "on leave", "conge",
               "conges", "excedencia*", "verlof", "verloven")
        + "|"
        + _parts("beurlaub", "elternzeit", "mutterschutz", "sonderurlaub", "ouderschapsverlof", "zwangerschapsverlof"),
    ),
    (
        ACTIVE_STAFF,
        _words("active", "actives", "actif", "actifs", "activo", "activos", "actief", "actieve", "aktiv", "aktive",
               "headcount", "roster", "effectif*", "plantilla")
        + "|"
        + _parts("mitarbeiterliste", "personalbestand"),
    ),
)
# fmt: on

#: A termination not (yet) approved, rejected or on hold: in a sheet name or a row's status cell, the person stays.
#: EN, DE, FR, ES, NL.
NOT_APPROVED = "a termination not approved"
# fmt: off
NOT_APPROVED_PATTERN = _words(
    "rejected", "denied", "declined", "not approved", "on hold", "abgelehnt", "nicht genehmigt", "refuse*",
    "rejete*", "rechazad*", "denegad*", "afgewezen", "geweigerd", "niet goedgekeurd", "pending approval",
    "awaiting approval", "in approval", "to be approved", "draft", "drafts", "proposed", "in progress",
    "zur genehmigung", "entwurf", "entwurfe", "en attente", "brouillon*", "a valider", "pendiente*", "borrador*",
    "in behandeling", "ter goedkeuring",
)
# fmt: on


# fmt: off
LEAVER_PATTERN = _words(
    "termination*", "terminated", "term", "terms", "leaver*", "leaving", "separation*", "separated", "exit*",
    "offboarding", "departure*", "depart*", "sortie*", "baja", "bajas", "cese", "ceses", "salida*", "vertrek*",
    "ontslag*", "uitstroom", "uit dienst", "inactive", "inaktiv", "ausgeschieden*", "retire*", "retraite*",
    "jubilacion*", "jubilad*", "pensioen*", "deceased", "ruhestand", "renteneintritt", "resignation*",
    "dismissal*", "redundanc*", "congediement*", "licenciement*", "demission*", "despido*", "renuncia*",
    "entlassung*", "ontslagen",
) + "|" + _parts("austritt", "abgang", "abgange", "kundigung", "uitdienst")
# fmt: on


@dataclass(frozen=True)
class SheetVerdict:
    """What a name says: the kind, and for a staying sheet what it says of its people (``listed_as``)."""

    kind: SheetKind
    listed_as: str | None = None
    said_by: str | None = None  # the name that decided it

    def describe(self) -> str:
        """``rehired, from the name 'Rehires'``, for notes."""
        if self.kind is SheetKind.UNSAID:
            return "no kind said by its name"
        return f"{self.listed_as or self.kind.value}, from the name {self.said_by!r}"


def _verdict_of(name: str) -> SheetVerdict:
    text = plain_text(name)
    for listed_as, pattern in STAYING_PATTERNS:
        if re.search(pattern, text):
            return SheetVerdict(SheetKind.STAYING, listed_as, name)
    if re.search(NOT_APPROVED_PATTERN, text):
        return SheetVerdict(SheetKind.STAYING, NOT_APPROVED, name)
    if re.search(LEAVER_PATTERN, text):
        return SheetVerdict(SheetKind.LEAVERS, None, name)
    return SheetVerdict(SheetKind.UNSAID)


def sheet_verdict(sheet: str | None, file_stem: str) -> SheetVerdict:
    """What the sheet's name says, or when it says nothing, what the file's name says (a CSV has only the latter)."""
    if sheet is not None:
        verdict = _verdict_of(sheet)
        if verdict.kind is not SheetKind.UNSAID:
            return verdict
    return _verdict_of(file_stem)


def status_says_staying(status: str) -> str | None:
    """What a row's status cell says of a person who stays (``a cancelled termination``, ``rehired``, ``on leave``,
    ``a termination not approved``...), or None when it says nothing of the kind (``Terminated``, ``Completed``).

    ``Active`` is not among them: an HR system shows a leaver as active until the termination takes effect, so on a
    leaver sheet it says nothing about staying (a sheet *named* active staff does)."""
    text = plain_text(status)
    for listed_as, pattern in STAYING_PATTERNS:
        if listed_as != ACTIVE_STAFF and re.search(pattern, text):
            return listed_as
    return NOT_APPROVED if re.search(NOT_APPROVED_PATTERN, text) else None
