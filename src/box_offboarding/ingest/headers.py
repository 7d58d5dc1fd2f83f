"""Finding the header of an HR export and which column means what, by scoring candidates.

A fixed word list refuses Workday's ``Email - Primary Work`` or a French ``Adresse e-mail professionnelle`` and, worse,
cannot tell ``Email - Primary Work`` from ``Email - Primary Home``. So each column of a candidate header is scored
for each field:

* **Header words.** An exact known header (:data:`BUILTIN_SYNONYMS`, English, German, French, Spanish, Dutch) scores
  :data:`EXACT`; a header that contains a field's word (``mail`` in ``E-Mail-Adresse``, ``austritt`` in
  ``Austrittsdatum``) scores :data:`WORD`; qualifiers move it (``work``, ``business``, ``primary``, ``professionnelle``,
  ``geschäftlich`` up; a header with ``home``, ``personal``, ``privat``, ``manager`` ... is never the login, one
  with ``hire``, ``birth``, ``start`` ... never the termination date). A header named in the settings
  (``OFFBOARD_LOGIN_HEADERS`` ...) scores :data:`CONFIGURED` and wins. No header evidence, no candidate: content
  alone never makes a column the login (a manager's address column is full of addresses too).
* **Content.** The column's cells below the header: the share that look like an email address adds up to
  :data:`CONTENT` to a login candidate (and a column of user names with no ``@`` loses :data:`NOT_EMAILS`); the share
  that look like dates adds to a date candidate.
* **Hidden columns** lose :data:`HIDDEN`, enough to lose a tie and nothing more.

The header is the band of one or two rows, among the first :data:`HEADER_SEARCH_ROWS`, whose best login candidate
scores highest (then the most fields mapped, then one row over two, then the earliest). Two rows are read as one when
the upper row labels columns the lower leaves empty (``Personalnummer`` merged over rows 7-8 beside ``Name``/
``E-Mail`` in row 8); merged cells, where the workbook says so, label every cell they cover. Each column feeds one
field at most; the choice, with its score, is what :meth:`HeaderMatch.describe` shows the person checking a plan.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from box_offboarding.ingest.layout import SheetLayout
from box_offboarding.ingest.sheets import plain_text
from box_offboarding.settings import Settings

LOGIN = "login"
TERMINATION_DATE = "termination_date"
EMPLOYEE_ID = "employee_id"
NAME = "name"
FIRST_NAME = "first_name"
LAST_NAME = "last_name"

#: Fields in the order they pick their column (a column feeds one field).
STATUS = "status"
REHIRE_DATE = "rehire_date"
#: The fields a header maps, in the order columns are handed out (a column feeds one field).
FIELDS = (LOGIN, TERMINATION_DATE, EMPLOYEE_ID, FIRST_NAME, LAST_NAME, NAME, STATUS, REHIRE_DATE)

#: How many rows from the top are searched for the header, and how many below it are sampled for content.
HEADER_SEARCH_ROWS = 30
CONTENT_SAMPLE_ROWS = 200

CONFIGURED, EXACT, WORD, WEAK = 100.0, 6.0, 5.0, 2.0
QUALIFIER, MAX_QUALIFIERS = 2.0, 2
CONTENT, NOT_EMAILS, HIDDEN = 8.0, 6.0, 0.5

#: Exact headers per field (compared by :func:`header_key`), best first; EN, DE, FR, ES, NL.
# fmt: off
BUILTIN_SYNONYMS: Mapping[str, tuple[str, ...]] = {
    LOGIN: (
        "box login", "box email", "box user", "primary work email", "primary work email address", "work email",
        "work email address", "email primary work", "business email", "business email address", "corporate email",
        "company email", "office email", "work contact work email", "email geschäftlich", "geschäftliche email",
        "e-mail-adresse", "dienstliche e-mail", "adresse e-mail professionnelle", "e-mail professionnel",
        "courriel professionnel", "adresse électronique", "correo electrónico", "correo corporativo",
        "correo del trabajo", "e-mailadres", "zakelijk e-mailadres", "werk e-mail", "user login", "login",
        "login email", "login name", "user principal name", "upn", "email", "email address", "mail",
        "emailadresse", "courriel", "correo",
    ),
    TERMINATION_DATE: (
        "termination date", "termination effective date", "date of termination", "term date", "separation date",
        "last day of work", "last working day", "last day worked", "last day", "exit date", "leave date",
        "leaving date", "departure date", "end of employment", "employment end date", "end date", "austrittsdatum",
        "austritt", "letzter arbeitstag", "beschäftigungsende", "vertragsende", "enddatum", "date de départ",
        "date de sortie", "dernier jour travaillé", "date de fin de contrat", "fecha de baja", "fecha baja",
        "fecha de cese", "fecha de salida", "último día", "fecha fin", "datum uit dienst", "uitdienstdatum",
        "einddatum", "laatste werkdag", "einde dienstverband", "effective date",
    ),
    EMPLOYEE_ID: (
        "employee id", "employee number", "employee no", "employee #", "emp id", "emp no", "emp #", "worker id",
        "person id", "personnel number", "personnel no", "staff id", "staff number", "associate id", "file number",
        "user/employee id", "personalnummer", "pers nr", "personalnr", "mitarbeiternummer", "matricule",
        "numéro d'employé", "n° employé", "id employé", "id empleado", "número de empleado", "legajo",
        "personeelsnummer", "medewerkernummer", "personeelsnr",
    ),
    NAME: (
        "full name", "employee name", "worker name", "legal name", "name", "worker", "employee", "display name",
        "preferred name", "mitarbeiter", "mitarbeitername", "vollständiger name", "nom complet", "nom et prénom",
        "nom prénom", "salarié", "collaborateur", "employé", "nombre completo", "nombre y apellidos", "empleado",
        "trabajador", "colaborador", "naam", "volledige naam", "medewerker", "werknemer", "nom", "nombre",
    ),
    STATUS: (
        "status", "termination status", "event status", "worker status", "employee status", "business process status",
        "process status", "request status", "statut", "estado", "state",
    ),
    REHIRE_DATE: (
        "rehire date", "re-hire date", "date of rehire", "rehired on", "return date", "date of return",
        "expected return date", "wiedereintrittsdatum", "wiedereinstellungsdatum", "rückkehrdatum",
        "date de réembauche", "date de retour", "fecha de recontratación", "fecha de reingreso", "fecha de regreso",
        "datum herindiensttreding", "terugkeerdatum",
    ),
    FIRST_NAME: (
        "first name", "given name", "firstname", "legal first name", "preferred first name", "vorname", "prénom",
        "voornaam", "roepnaam",
    ),
    LAST_NAME: (
        "last name", "surname", "family name", "lastname", "legal last name", "nachname", "familienname",
        "nom de famille", "apellido", "apellidos", "primer apellido", "achternaam", "familienaam",
    ),
}
# fmt: on

#: Headers that are a first or last name when the other half of the name is in the same header (French ``Nom`` beside
#: ``Prénom``, Spanish ``Nombre`` beside ``Apellidos``), and a full name otherwise.
NAME_HALVES: Mapping[str, tuple[str, str]] = {"nom": (LAST_NAME, FIRST_NAME), "nombre": (FIRST_NAME, LAST_NAME)}


@dataclass(frozen=True)
class _Vocabulary:
    """Header evidence for one field beyond the exact headers: words (whole words of the plain header), parts (inside
    the compact key, for compounds), weak words, qualifiers up, and words that rule a column out."""

    words: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()
    qualifiers: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    excluded_parts: tuple[str, ...] = ()


# fmt: off
VOCABULARY: Mapping[str, _Vocabulary] = {
    LOGIN: _Vocabulary(
        words=("login", "logon", "upn", "courriel", "correo"),
        parts=("mail", "courriel", "correo", "login", "userprincipalname"),
        weak=("username", "user name", "benutzername", "benutzerkennung", "utilisateur", "identifiant", "usuario",
              "gebruikersnaam", "account", "kennung", "user id", "userid"),
        qualifiers=("work", "business", "primary", "professional", "professionnel", "professionnelle", "pro",
                    "corporate", "company", "office", "geschaftlich", "geschaftliche", "dienstlich", "dienstliche",
                    "firma", "entreprise", "trabajo", "corporativo", "laboral", "empresa", "zakelijk", "werk",
                    "box", "sso"),
        excluded=("home", "personal", "private", "privat", "prive", "persoonlijk", "personnel", "personnelle",
                  "particulier", "perso", "manager", "supervisor", "responsable", "jefe", "leidinggevende",
                  "emergency", "notfall", "urgence", "secondary", "alternate", "alternative", "other", "backup", "cc",
                  "spouse", "partner", "recruiter", "hrbp", "reports", "former", "old", "previous", "ancien",
                  "anterior", "vorherige", "alt", "oude"),
        excluded_parts=("vorgesetzt", "privat", "persoonlijk"),
    ),
    TERMINATION_DATE: _Vocabulary(
        words=("termination", "terminated", "term", "separation", "exit", "leave", "leaving", "departure", "depart",
               "sortie", "baja", "cese", "salida", "terminacion", "vertrek", "ontslag", "end", "fin", "ende", "einde",
               "last day", "dernier jour", "ultimo dia", "uit dienst", "effective"),
        parts=("austritt", "ausscheid", "beschaftigungsende", "vertragsende", "enddatum", "uitdienst", "einddatum",
               "laatstewerkdag", "letzterarbeitstag"),
        weak=("date", "datum", "fecha", "day", "dag", "jour", "tag", "kundigung", "notice", "preavis", "opzeg",
              "aviso"),
        excluded=("hire", "rehire", "hired", "start", "birth", "naissance", "nacimiento", "geboorte", "entree",
                  "embauche", "arrivee", "contratacion", "alta", "ingreso", "aanvang", "in dienst", "beginn", "debut",
                  "inicio", "created", "creation", "modified", "updated", "generated", "printed", "report", "export",
                  "as of", "stichtag", "seniority", "anciennete", "antiguedad", "probation", "essai", "proeftijd",
                  "review", "birthday", "anniversary", "service", "original", "login", "logon", "signed",
                  "approved", "approval", "submitted", "entered", "return", "returning", "retour", "regreso",
                  "terugkeer", "reinstatement"),
        excluded_parts=("eintritt", "geburt", "probezeit", "indienst", "einstell", "gebdat"),
    ),
    EMPLOYEE_ID: _Vocabulary(
        parts=("employeeid", "employeenumber", "employeeno", "empid", "empno", "workerid", "personid",
               "personnelnumber", "personnelno", "staffid", "staffnumber", "associateid", "filenumber", "badge",
               "personalnummer", "persnr", "personalnr", "mitarbeiternummer", "matricule", "numeroemploye",
               "numerodemploye", "idemploye", "idempleado", "numerodeempleado", "numeroempleado", "legajo",
               "personeelsnummer", "medewerkernummer", "personeelsnr", "employeeno"),
        weak=("id", "number", "nr", "no", "numero", "nummer", "nummer"),
        excluded=("manager", "supervisor", "cost", "position", "job", "requisition", "tax", "ssn", "national",
                  "social", "iban", "phone", "telefon", "telephone", "mobile", "org", "department"),
        excluded_parts=("vorgesetzt", "kostenstelle", "telefon"),
    ),
    REHIRE_DATE: _Vocabulary(
        words=("rehire", "rehired", "reinstatement", "reinstated", "return", "returning", "reembauche",
               "recontratacion", "reingreso", "regreso", "retour", "terugkeer"),
        parts=("wiedereintritt", "wiedereinstell", "ruckkehr", "herindienst"),
        excluded=("email", "mail", "login", "eligible", "eligibility", "status", "reason"),
    ),
    STATUS: _Vocabulary(
        words=("status", "statut", "estado", "state", "zustand", "bearbeitungsstand"),
        excluded=("marital", "civil", "familienstand", "tax", "visa", "immigration", "residency", "fte", "payroll",
                  "benefit", "benefits", "union", "veteran", "disability", "email", "mail", "e-mail", "login", "date",
                  "datum", "fecha"),
        excluded_parts=("familienstand", "steuer"),
    ),
}
# fmt: on

#: Words of a date header in the supported languages whose dates are written day first; English headers say
#: nothing (US month first, UK day first). Whole words of the plain header, or parts of its compact key.
# fmt: off
DAY_FIRST_HEADER_WORDS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "French": (("depart", "sortie", "fin", "contrat", "dernier", "jour", "travaille", "cessation",
                "radiation"), ()),
    "German": (("datum", "letzter", "arbeitstag", "ende", "austritt"), ("austritt", "ausscheid", "beschaftigungsende",
                                                                        "vertragsende", "enddatum", "kundigung")),
    "Spanish": (("fecha", "baja", "cese", "salida", "ultimo", "dia", "terminacion"), ()),
    "Dutch": (("uit", "dienst", "einde", "laatste", "werkdag", "vertrek", "ontslag", "dienstverband"),
              ("uitdienst", "einddatum", "laatstewerkdag")),
}
# fmt: on


def day_first_language(label: str) -> str | None:
    """The language of a date header when it is one whose dates are written day first (``Date de départ``:
    French), else None."""
    text, key = plain_text(label), header_key(label)
    for language, (words, parts) in DAY_FIRST_HEADER_WORDS.items():
        if _has_any(text, key, words, parts):
            return language
    return None


EMAIL_LIKE = re.compile(r"[^\s@<>,;]+@[^\s@<>,;]+\.[^\s@<>,;]+")
_MONTH_WORDS = (
    "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mär|mrz|mai|okt|dez|janv|févr|fevr|mars|avr|juin|juil|"
    "août|aout|sept|déc|ene|abr|ago|dic|mei|maa|okt"
)
DATE_LIKE = re.compile(
    rf"(?i)^(?:\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}|\d{{1,2}}[-/.]\s?\d{{1,2}}[-/.]\s?\d{{2,4}}|\d{{8}}|[45]\d{{4}}(?:\.\d+)?)"
    rf"|\b\d{{1,2}}\b.{{0,12}}\b(?:{_MONTH_WORDS})|\b(?:{_MONTH_WORDS})\w*\.?\s{{0,3}}\d{{1,2}}\b"
)
#: A cell longer than this is text, not a date or an address: the patterns are not tried on it.
LONGEST_VALUE = 80

#: Shown when no login column is found.
LOGIN_EXAMPLES = (
    "a work email column such as 'Work Email', 'Email - Primary Work', 'E-Mail', 'Adresse e-mail', 'Correo', "
    "'Login', or a name set in OFFBOARD_LOGIN_HEADERS"
)

#: The settings attribute holding extra headers for each field.
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
    decomposed = unicodedata.normalize("NFKD", str(text).replace("#", " no ").replace("ß", "ss"))
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]", "", without_accents.casefold())


@dataclass(frozen=True)
class Synonyms:
    """The exact headers: key -> (field, score). Configured ones score :data:`CONFIGURED`, built-in :data:`EXACT`."""

    by_key: Mapping[str, tuple[str, float]]

    @classmethod
    def from_settings(cls, settings: Settings) -> Synonyms:
        """Headers from the settings first (they take precedence), then the built-in ones."""
        by_key: dict[str, tuple[str, float]] = {}
        for name, attribute in SETTINGS_SYNONYMS.items():
            for header in getattr(settings, attribute):
                if key := header_key(header):  # an empty configured name must not match every empty cell
                    by_key.setdefault(key, (name, CONFIGURED))
        for name, headers in BUILTIN_SYNONYMS.items():
            for header in headers:
                by_key.setdefault(header_key(header), (name, EXACT))
        return cls(by_key)


@dataclass(frozen=True)
class Choice:
    """The column chosen for one field: where, its header as written, its score."""

    column: int
    label: str
    score: float  # header evidence plus what the cells say
    evidence: float = 0.0  # what the header words alone say: how a header row is told from title and data rows


@dataclass(frozen=True)
class HeaderMatch:
    """The header band of a table and the column chosen for each field found in it."""

    row_index: int  # 0-based position of the header's first row in the grid
    height: int  # 1, or 2 for a header over two rows
    choices: Mapping[str, Choice]
    passed_over: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # field -> other candidates' headers

    @property
    def data_start(self) -> int:
        """Grid position of the first row below the header."""
        return self.row_index + self.height

    @property
    def columns(self) -> Mapping[str, int]:
        return {name: choice.column for name, choice in self.choices.items()}

    @property
    def labels(self) -> Mapping[str, str]:
        return {name: choice.label for name, choice in self.choices.items()}

    def describe(self) -> str:
        """Which header feeds which field, with scores: ``login='Email - Primary Work' (22); name='First' + 'Last'``."""
        parts = []
        for name in (LOGIN, TERMINATION_DATE, EMPLOYEE_ID, NAME, FIRST_NAME, LAST_NAME, STATUS, REHIRE_DATE):
            if choice := self.choices.get(name):
                parts.append(f"{name}={choice.label!r} ({choice.score:g})")
        return "; ".join(parts)


def _cell_text(cell: object) -> str:
    return "" if cell is None else " ".join(str(cell).split())


def _has_any(text: str, key: str, words: Sequence[str], parts: Sequence[str] = ()) -> int:
    """How many of ``words`` are whole words of ``text``, plus how many of ``parts`` are inside ``key``."""
    padded = f" {text} "
    return sum(f" {word} " in padded for word in words) + sum(part in key for part in parts)


def header_score(name: str, label: str, synonyms: Synonyms) -> float:
    """What the header words say of ``label`` being ``name``'s column (0: nothing, or ruled out)."""
    key = header_key(label)
    if not key or "@" in label:
        return 0.0
    exact = synonyms.by_key.get(key)
    if exact is not None and exact[1] >= CONFIGURED:
        return exact[1] if exact[0] == name else 0.0
    vocabulary = VOCABULARY.get(name, _Vocabulary())
    text = plain_text(label)
    if _has_any(text, key, vocabulary.excluded, vocabulary.excluded_parts):
        return 0.0
    qualifiers = min(_has_any(text, key, vocabulary.qualifiers), MAX_QUALIFIERS) * QUALIFIER
    if exact is not None:
        return EXACT + qualifiers if exact[0] == name else 0.0
    if _has_any(text, key, vocabulary.words, vocabulary.parts):
        return WORD + qualifiers
    if _has_any(text, key, vocabulary.weak):
        return WEAK + qualifiers
    return 0.0


def _share(cells: Sequence[str], pattern: re.Pattern[str]) -> float | None:
    """The share of non-empty ``cells`` that match ``pattern``; None when all are empty."""
    filled = [cell for cell in cells if cell]
    if not filled:
        return None
    return sum(len(cell) <= LONGEST_VALUE and bool(pattern.search(cell)) for cell in filled) / len(filled)


def content_score(name: str, cells: Sequence[str]) -> float:
    """What the column's cells say of it being ``name``'s column."""
    if name == LOGIN:
        share = _share(cells, EMAIL_LIKE)
        if share is None:
            return 0.0
        return CONTENT * share - (NOT_EMAILS if share < 0.5 and sum(map(bool, cells)) >= 3 else 0.0)
    if name == TERMINATION_DATE:
        share = _share(cells, DATE_LIKE)
        return 0.0 if share is None else CONTENT * share / 2
    return 0.0


@dataclass(frozen=True)
class _Band:
    row_index: int
    height: int
    labels: list[str]  # per column: its label, the two rows' cells joined for a two-row band
    parts: list[tuple[str, ...]] = field(default_factory=list)  # per column, a two-row band's cells one by one

    def evidence(self, name: str, column: int, synonyms: Synonyms) -> float:
        """What the header says of ``column`` being ``name``'s: the joined label, or one of its rows alone
        (``Mitarbeiter`` over ``Nachname``: the lower row names the field better than the two together)."""
        labels = (self.labels[column], *(self.parts[column] if self.parts else ()))
        return max(header_score(name, label, synonyms) for label in labels)


def _filled(rows: Sequence[Sequence[object]], layout: SheetLayout) -> list[list[str]]:
    """The rows as trimmed text, each merged range's value copied into every cell it covers."""
    grid = [[_cell_text(cell) for cell in row] for row in rows]
    for merge in layout.merges:
        if merge.first_row >= len(grid) or merge.first_column >= len(grid[merge.first_row]):
            continue
        value = grid[merge.first_row][merge.first_column]
        for r in range(merge.first_row, min(merge.last_row + 1, len(grid))):
            for c in range(merge.first_column, min(merge.last_column + 1, len(grid[r]))):
                grid[r][c] = grid[r][c] or value
    return grid


def _looks_like_data(row: Sequence[str]) -> bool:
    short = (cell for cell in row if cell and len(cell) <= LONGEST_VALUE)
    return any(EMAIL_LIKE.search(cell) or DATE_LIKE.search(cell) for cell in short)


def _bands(grid: Sequence[Sequence[str]]) -> list[_Band]:
    """Every one-row band of the search area, and the two-row bands whose upper row labels what the lower leaves
    empty (neither row holding an address or a date)."""
    bands: list[_Band] = []
    for index in range(min(HEADER_SEARCH_ROWS, len(grid))):
        upper = list(grid[index])
        if not any(upper):
            continue
        bands.append(_Band(index, 1, upper))
        if index + 1 >= len(grid):
            continue
        lower = list(grid[index + 1])
        if not any(lower) or _looks_like_data(upper) or _looks_like_data(lower):
            continue
        pairs = list(itertools.zip_longest(upper, lower, fillvalue=""))
        if any(u and (not lo or lo == u) for u, lo in pairs):  # lo == u: a label merged down over both rows
            parts = [tuple(dict.fromkeys(part for part in pair if part)) for pair in pairs]
            bands.append(_Band(index, 2, [" ".join(cells) for cells in parts], parts))
    return bands


def _candidates(
    band: _Band, grid: Sequence[Sequence[str]], synonyms: Synonyms, layout: SheetLayout
) -> dict[str, list[tuple[float, int, str, float]]]:
    """field -> [(score, column, label, evidence)], best first, for every column with header evidence."""
    below = grid[band.row_index + band.height : band.row_index + band.height + CONTENT_SAMPLE_ROWS]
    found: dict[str, list[tuple[float, int, str, float]]] = {}
    for column, label in enumerate(band.labels):
        cells = [row[column] if column < len(row) else "" for row in below]
        for name in FIELDS:
            evidence = band.evidence(name, column, synonyms)
            if evidence <= 0:
                continue
            score = evidence + content_score(name, cells) - (HIDDEN if column in layout.hidden_columns else 0.0)
            found.setdefault(name, []).append((round(score, 2), column, label, evidence))
    return {name: sorted(hits, key=lambda hit: (-hit[0], hit[1])) for name, hits in found.items()}


def _assign(found: Mapping[str, list[tuple[float, int, str, float]]]) -> dict[str, Choice]:
    """The best free column per field, in :data:`FIELDS` order; ``Nom``/``Nombre`` as a half name beside its pair."""
    choices: dict[str, Choice] = {}
    taken: set[int] = set()
    for name in FIELDS:
        for score, column, label, evidence in found.get(name, []):
            if column not in taken:
                choices[name] = Choice(column, label, score, evidence)
                taken.add(column)
                break
    full = choices.get(NAME)
    if full is not None and (halves := NAME_HALVES.get(header_key(full.label))):
        half, partner = halves
        if partner in choices and half not in choices:
            choices[half] = choices.pop(NAME)
    return choices


def _ranking(band: _Band, choices: Mapping[str, Choice]) -> tuple[float, int, int]:
    """Header words decide which band is the header: they tell it from a title row above and from a repeated header
    further down (the cells below only choose between columns of one band). Of equals, a one-row band (a second row
    that adds no evidence is a title or data), then the earliest."""
    return (sum(choice.evidence for choice in choices.values()), -band.height, -band.row_index)


def find_header(
    rows: Sequence[Sequence[object]], synonyms: Synonyms, *, layout: SheetLayout | None = None
) -> HeaderMatch | None:
    """The best header band of ``rows`` (the top of a grid) with the column chosen per field; None without a login
    candidate. See the module docstring for the scoring."""
    layout = layout or SheetLayout()
    grid = _filled(rows, layout)
    best: tuple[tuple[float, int, int], HeaderMatch] | None = None
    first_rows: dict[tuple[str, ...], int] = {}
    for band in _bands(grid):
        keys = tuple(map(header_key, grid[band.row_index]))
        if first_rows.setdefault(keys, band.row_index) != band.row_index:
            continue  # a header repeated further down (a printout's page break): the first one is the header
        found = _candidates(band, grid, synonyms, layout)
        if LOGIN not in found:
            continue
        choices = _assign(found)
        rank = _ranking(band, choices)
        if best is None or rank > best[0]:
            login_column = choices[LOGIN].column
            others = tuple(label for _, column, label, _ in found[LOGIN] if column != login_column)
            match = HeaderMatch(band.row_index, band.height, choices, {LOGIN: others} if others else {})
            best = (rank, match)
    return None if best is None else best[1]


def headers_seen(rows: Sequence[Sequence[object]], *, limit: int = 12) -> list[str]:
    """The cells of the fullest of ``rows`` (the likeliest header), to show what a table without login looked like."""
    filled = [[str(cell).strip() for cell in cells if cell is not None and str(cell).strip()] for cells in rows]
    best = max(filled, key=len, default=[])
    return best[:limit]
