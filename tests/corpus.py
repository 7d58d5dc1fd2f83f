"""A corpus of realistic HR exports of leavers, each row with the status it should end with.

:func:`build_corpus` writes thirteen exports as the systems write them (Workday, SuccessFactors, BambooHR, ADP,
Personio, HiBob, UKG, Dayforce; English, German, French, Spanish, Dutch): ``.xlsx`` with title rows, merged two-row
headers, hidden columns and several sheets; ``.xls``; CSV in UTF-8 with and without a BOM, cp1252, and UTF-16 LE
"Unicode Text" (tab separated). It also writes the simulator's directory (``id,login,name,status,role``) the logins
come from, and says of every row below a header what should become of it.

Expected statuses are those of a **full run** against the simulator with events at once: a due leaver whose login is
an active, non-admin user in the directory is ``confirmed`` (a dry run would say ``planned``). The other statuses
are ``deferred``, ``not_found``, ``invalid``, ``held``, ``duplicate``, ``skipped``, ``protected`` (a Box admin), and
:data:`NOT_A_ROW` for rows that are no person of a leaver list: subtotal and total rows, blank rows, the rows of
rehire / new-hire / transfer / active-staff / cancellation sheets. Nobody is a leaver in two roles: a person with a
``confirmed`` row is a due leaver, and no other person may be terminated.

The structure of each export is fixed; the seed picks the people, the dates (within what each case needs: a
deferred date is after :data:`AS_OF`, an ambiguous one has both numbers at most 12), how a login is written and the
order of the rows.
"""

from __future__ import annotations

import csv
import io
import random
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import polars as pl
import xlwt
from openpyxl.utils import get_column_letter

AS_OF = date(2026, 11, 29)
DOMAIN = "corp.example.com"
NOT_A_ROW = "not a row"
CONFIRMED, DEFERRED, NOT_FOUND, INVALID = "confirmed", "deferred", "not_found", "invalid"
HELD, DUPLICATE, SKIPPED, PROTECTED = "held", "duplicate", "skipped", "protected"
#: Statuses of a row that sends (or would send) a termination.
TERMINATING = frozenset({"confirmed", "pending", "planned"})

Cell = str | date | None

#: The expected-outcome frame: one row per (file, sheet, row) below a header, or on a non-leaver sheet.
EXPECTED_SCHEMA: dict[str, pl.DataType] = {
    "file": pl.String(),
    "sheet": pl.String(),  # null for CSV
    "row": pl.Int64(),  # Excel's row number, or the CSV line
    "status": pl.String(),  # a status, or NOT_A_ROW
    "why": pl.String(),
    "features": pl.List(pl.String()),  # what the row exercises, for the per-feature summary
    "login": pl.String(),  # the person's directory login (a stranger's made-up one for not_found); null if nobody
    "marker": pl.String(),  # text written in that row (null: the row is blank), to check the row is where it says
    "system": pl.String(),
    "language": pl.String(),
}


# --- people ---------------------------------------------------------------------------------------------------------

# fmt: off
FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("James", "Olivia", "Liam", "Emma", "Noah", "Ava", "Ethan", "Mia", "Lucas", "Harper", "Mason", "Ella",
           "Logan", "Grace", "Owen", "Chloe", "Aiden", "Nora", "Caleb", "Ruby"),
    "de": ("Lukas", "Anna", "Jonas", "Lea", "Felix", "Laura", "Maximilian", "Sophie", "Jürgen", "Jörg", "Günther",
           "Björn", "Käthe", "Tobias", "Mareike", "Stefan", "Ute", "Sören", "Heike", "Matthias"),
    "fr": ("Camille", "Léa", "Hugo", "Chloé", "Théo", "Zoé", "Étienne", "Amélie", "François", "Hélène", "Noël",
           "Maëlle", "Jérôme", "Cécile", "Benoît", "Inès", "Gaël", "Océane", "Loïc", "Anaïs"),
    "es": ("José", "María", "Lucía", "Martín", "Sofía", "Alejandro", "Núria", "Íñigo", "Javier", "Carmen", "Raúl",
           "Elena", "Andrés", "Paula", "Jesús", "Marta", "Rubén", "Begoña", "Álvaro", "Ainhoa"),
    "nl": ("Daan", "Sanne", "Bram", "Femke", "Lotte", "Joris", "Sem", "Noor", "Thijs", "Anouk", "Ruben", "Maaike",
           "Stijn", "Eline", "Jeroen", "Fleur", "Wouter", "Iris", "Koen", "Marloes"),
}
LAST_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Moore", "Clark", "Lewis", "Walker", "Hall",
           "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "O'Brien"),
    "de": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schäfer", "Koch",
           "Hoffmann", "Groß", "Krüger", "Braun", "Zimmermann", "Hartmann", "Lange", "Köhler", "Vogel", "Jäger"),
    "fr": ("Martin", "Bernard", "Dubois", "Durand", "Lefèvre", "Moreau", "Laurent", "Girard", "Bonnet", "Mercier",
           "Lefebvre", "Rousseau", "Fournier", "Garnier", "Faure", "André", "Chevalier", "Gauthier", "Perrin",
           "Robin"),
    "es": ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Muñoz",
           "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Álvarez", "Romero", "Navarro", "Torres", "Domínguez"),
    "nl": ("de Vries", "Jansen", "van Dijk", "Bakker", "Visser", "Smit", "de Boer", "Mulder", "van den Berg", "Bos",
           "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf"),
}
HOME_DOMAINS = {"en": ("gmail.com", "outlook.com"), "de": ("web.de", "gmx.de"), "fr": ("orange.fr", "free.fr"),
                "es": ("hotmail.es", "gmail.com"), "nl": ("ziggo.nl", "kpnmail.nl")}
# fmt: on
#: Per language: active users, inactive users, admins and co-admins (each).
ACTIVE_USERS, INACTIVE_USERS, ADMINS = 80, 6, 3


@dataclass(frozen=True)
class Person:
    """Someone HR may list: a directory user (``box_id`` set) or a stranger Box does not know."""

    first: str
    last: str
    login: str
    hr_id: str
    home: str
    box_id: str | None = None
    status: str = "active"
    role: str = "user"

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


def ascii_word(text: str) -> str:
    """``Müller`` -> ``muller``, ``van den Berg`` -> ``vandenberg``, ``Groß`` -> ``gross``."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    return "".join(ch for ch in decomposed.casefold() if ch.isascii() and ch.isalpha())


class Cast:
    """The directory, and who of it has been given a part already (each person plays one part only)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.people: list[Person] = []
        self._free: dict[tuple[str, str, str], list[Person]] = {}
        self._names: dict[str, list[tuple[str, str]]] = {}
        logins: set[str] = set()
        for language in FIRST_NAMES:
            names = [(first, last) for first in FIRST_NAMES[language] for last in LAST_NAMES[language]]
            rng.shuffle(names)
            self._names[language] = names
            kinds = [("active", "user")] * ACTIVE_USERS + [("inactive", "user")] * INACTIVE_USERS
            for status, role in [*kinds, *[("active", "admin"), ("active", "coadmin")] * ADMINS]:
                person = self._person(language, logins, box_id=str(20_000 + len(self.people)))
                person = replace(person, status=status, role=role)
                self.people.append(person)
                self._free.setdefault((language, status, role), []).append(person)
        self._logins = logins

    def _person(self, language: str, logins: set[str], *, box_id: str | None) -> Person:
        first, last = self._names[language].pop()
        base = f"{ascii_word(first)}.{ascii_word(last)}"
        login, n = f"{base}@{DOMAIN}", 2
        while login in logins:
            login, n = f"{base}{n}@{DOMAIN}", n + 1
        logins.add(login)
        provider = self.rng.choice(HOME_DOMAINS[language])
        home = f"{ascii_word(first)}{ascii_word(last)}{self.rng.randint(1, 99)}@{provider}"
        return Person(first, last, login, hr_id=str(self.rng.randint(100_000, 999_999)), home=home, box_id=box_id)

    def take(self, language: str, *, status: str = "active", role: str = "user") -> Person:
        """A directory user nobody has been given yet."""
        return self._free[(language, status, role)].pop()

    def admin(self, language: str) -> Person:
        """An admin or a co-admin (protected either way), while any is left."""
        role = self.rng.choice([role for role in ("admin", "coadmin") if self._free.get((language, "active", role))])
        return self.take(language, role=role)

    def stranger(self, language: str) -> Person:
        """Someone with a company-looking login the directory does not have."""
        return self._person(language, self._logins, box_id=None)

    def directory_csv(self, path: Path) -> Path:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "login", "name", "status", "role"])
            writer.writerows([p.box_id, p.login, p.name, p.status, p.role] for p in self.people)
        return path


# --- dates ----------------------------------------------------------------------------------------------------------

# fmt: off
MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November",
           "Dezember"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"),
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"),
}
WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
}
#: What HR types when the date is not known yet: never a date.
UNREADABLE_DATES = {"en": ("TBD", "see HR"), "de": ("unbekannt", "31.02.2026", "offen"),
                    "fr": ("à confirmer", "31/02/2026"), "es": ("pendiente", "30/02/2026"), "nl": ("n.t.b.",)}
# fmt: on


def month_name_date(language: str, day: date, rng: random.Random) -> str:
    """A date written with its month name, maybe with the weekday or a daytime time and zone (09:00-16:59, so no
    reading of the zone moves the day)."""
    month, weekday = MONTHS[language][day.month - 1], WEEKDAYS[language][day.weekday()]
    hour, minute = rng.randint(9, 16), rng.choice([0, 15, 30, 45])
    variant = rng.randrange(3)
    if language == "en":
        twelve = f"{hour - 12 if hour > 12 else hour}:{minute:02d} {'PM' if hour >= 12 else 'AM'}"
        zone = rng.choice(["EST", "PST", "CST"])
        return (f"{month[:3]} {day.day}, {day.year}", f"{weekday}, {month} {day.day}, {day.year}",
                f"{month} {day.day}, {day.year} {twelve} {zone}")[variant]  # fmt: skip
    clock = f"{hour:02d}:{minute:02d} {rng.choice(['CET', 'MEZ'] if language == 'de' else ['CET'])}"
    if language == "de":
        plain = f"{day.day}. {month} {day.year}"
        return (plain, f"{weekday}, {plain}", f"{plain} {clock}")[variant]
    if language == "es":
        plain = f"{day.day} de {month} de {day.year}"
        return (plain, f"{weekday}, {plain}", f"{plain} {clock}")[variant]
    number = "1er" if language == "fr" and day.day == 1 else str(day.day)
    plain = f"{number} {month} {day.year}"
    return (plain, f"{weekday} {plain}", f"{plain} {clock}")[variant]


@dataclass
class DatePlan:
    """How one export writes its termination dates, and which dates a case may draw.

    ``ambiguity``: ``any``; ``all ambiguous`` (every date has day and month at most 12: the column cannot tell its
    order, and a reader falls back to month first); ``decided`` (every other due date, the first one included, has a day
    above 12, which settles the order of the whole column; the other due dates and every later date are ambiguous on
    their own). An ambiguous later date is in December, so that reading it in the wrong order makes it due.
    """

    render: Callable[[date, random.Random], Cell]
    features: tuple[str, ...]
    ambiguity: str = "any"
    excel_format: str = "yyyy-mm-dd"  # number format of date cells in a workbook
    drawn: int = 0  # due dates drawn so far

    def pick(self, rng: random.Random, *, due: bool) -> date:
        """A due date (up to 75 days before AS_OF, AS_OF included) or a later one (up to 60 days after)."""
        days = [AS_OF - timedelta(days=n) for n in range(76)] if due else [AS_OF + timedelta(days=n)
                                                                           for n in range(1, 61)]  # fmt: skip
        small: bool | None = None
        if self.ambiguity == "all ambiguous" or (self.ambiguity == "decided" and not due):
            small = True
        elif self.ambiguity == "decided":
            small = self.drawn % 2 == 1
            self.drawn += 1
        if small is not None:
            days = [d for d in days if (d.day <= 12) == small]
        if small and not due:  # December: read in the other order, 12/05/2026 is in May, so due
            days = [d for d in days if d.year == AS_OF.year]
        return rng.choice(days)


def excel_date(day: date, rng: random.Random) -> Cell:
    """A real date cell."""
    return day


def text_date(pattern: str) -> Callable[[date, random.Random], Cell]:
    return lambda day, rng: day.strftime(pattern)


def in_words(language: str) -> Callable[[date, random.Random], Cell]:
    return lambda day, rng: month_name_date(language, day, rng)


# --- rows -----------------------------------------------------------------------------------------------------------


@dataclass
class Line:
    """One row of a leaver sheet as HR wrote it, and what should become of it."""

    person: Person | None
    login_cell: str | None
    when: Cell
    status: str
    why: str
    features: tuple[str, ...]


# fmt: off
REASONS = {
    "en": ("Resignation", "Voluntary - Personal Reasons", "Retirement", "Involuntary - Performance", "End of Contract"),
    "de": ("Eigenkündigung", "Aufhebungsvertrag", "Befristung", "Ruhestand", "Arbeitgeberkündigung"),
    "fr": ("Démission", "Rupture conventionnelle", "Fin de CDD", "Départ à la retraite", "Licenciement"),
    "es": ("Baja voluntaria", "Fin de contrato", "Despido", "Jubilación", "Excedencia"),
    "nl": ("Eigen verzoek", "Einde contract", "Pensioen", "Wederzijds goedvinden", "Ontslag werkgever"),
}
DEPARTMENTS = {
    "en": ("Sales", "Engineering", "Finance", "Customer Success"),
    "de": ("Vertrieb", "Entwicklung", "Finanzen", "Kundenservice"),
    "fr": ("Ventes", "Ingénierie", "Finances", "Service client"),
    "es": ("Ventas", "Ingeniería", "Finanzas", "Atención al cliente"),
    "nl": ("Verkoop", "Ontwikkeling", "Financiën", "Klantenservice"),
}
POSITIONS = {"de": ("Account Manager", "Softwareentwickler", "Buchhalterin", "Teamleiter"),
             "en": ("Account Executive", "Software Engineer", "Accountant", "Team Lead")}
#: Cases whose row has a due date and whose person decides: (status, why, feature); ``why`` may name {person}.
SIMPLE_CASES: dict[str, tuple[str, str, str]] = {
    "unknown": (NOT_FOUND, "no Box user has this login", "unknown login"),
    "inactive": (SKIPPED, "inactive in Box", "inactive in Box"),
    "admin": (PROTECTED, "Box {person.role}: admins are protected", "Box admin"),
    "held": (HELD, "also listed on a rehire/cancellation sheet of the same file", "held: also staying"),
}
#: A subtotal row's cells for a group, and the grand total's, per language: (label, count) in the first two columns.
SUMMARIES: dict[str, tuple[Callable[[str, int], list[Cell]], Callable[[int], list[Cell]]]] = {
    "en": (lambda dept, n: [f"Subtotal {dept}", f"{n} workers"], lambda n: ["Total", f"{n} workers"]),
    "de": (lambda dept, n: [f"Zwischensumme {dept}", f"{n} Mitarbeiter"],
           lambda n: ["Gesamtsumme", f"{n} Mitarbeiter"]),
    "fr": (lambda dept, n: [f"Sous-total {dept}", f"{n} salariés"], lambda n: ["Total général", f"{n} salariés"]),
    "es": (lambda dept, n: [f"Subtotal {dept}", f"{n} empleados"], lambda n: ["Total", f"{n} empleados"]),
}
# fmt: on


@dataclass(frozen=True)
class Expectation:
    """What should become of one row, why, and what it exercises."""

    status: str
    why: str
    features: tuple[str, ...]
    login: str | None  # the person's login (a stranger's made-up one for not_found); None: nobody
    marker: str | None  # text written in the row; None: the row is blank


@dataclass
class Sheet:
    """One sheet (or a CSV's only table): its rows as written, 1-based, and the expectation of each row below the
    header."""

    name: str | None
    rows: list[list[Cell]] = field(default_factory=list)
    expected: dict[int, Expectation] = field(default_factory=dict)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # first row, first col, last row, last col
    hidden_columns: list[int] = field(default_factory=list)  # 0-based
    date_format: str = "yyyy-mm-dd"

    def add(self, cells: Sequence[Cell], *, status: str | None = None, why: str = "", features: Sequence[str] = (),
            login: str | None = None, marker: str | None = None) -> int:  # fmt: skip
        """Append a row; with a ``status``, say what should become of it. Returns its row number."""
        self.rows.append(list(cells))
        number = len(self.rows)
        if status is not None:
            self.expected[number] = Expectation(status, why, tuple(features), login, marker)
        return number


@dataclass
class Export:
    """One HR file: its sheets, and for a CSV how it is encoded and split."""

    name: str
    system: str
    language: str
    sheets: list[Sheet]
    encoding: str = "utf-8"  # CSV: utf-8, utf-8-sig, cp1252, utf-16 (LE with BOM)
    delimiter: str = ","

    @property
    def kind(self) -> str:
        return Path(self.name).suffix.lstrip(".")


class Builder:
    """What the exports of one corpus share: the random source, the cast, the due leavers of earlier files."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.cast = Cast(rng)
        self.due_earlier: list[Person] = []  # due leavers written plainly in exports already built
        self._due_here: list[Person] = []
        self._repeated: list[Person] = []  # due leavers of earlier exports already repeated by a later one

    def finish_export(self) -> None:
        self.due_earlier.extend(self._due_here)
        self._due_here = []

    def login_text(self, person: Person) -> str:
        """How HR wrote a plain login: mostly as is, sometimes capitalised or with stray spaces."""
        variant = self.rng.randrange(6)
        if variant == 0:
            local, _, domain = person.login.partition("@")
            return f"{'.'.join(part.capitalize() for part in local.split('.'))}@{domain}"
        return f" {person.login} " if variant == 1 else person.login

    def lines(self, language: str, cases: Sequence[str], dates: DatePlan, held: list[Person]) -> list[Line]:
        """The rows of a leaver sheet for ``cases`` in a seeded order; the second row of a pair comes after the
        first. People for ``held`` cases are appended to ``held`` (the caller lists them on a staying sheet)."""
        units = [self._case(case, language, dates, held) for case in cases]
        self.rng.shuffle(units)
        ordered: list[Line] = []
        followers: list[tuple[Line, Line]] = []
        for unit in units:
            ordered.append(unit[0])
            followers.extend((unit[0], line) for line in unit[1:])
        for leader, follower in followers:
            start = ordered.index(leader) + 1
            ordered.insert(self.rng.randint(start, len(ordered)), follower)
        return ordered

    def _due(self, person: Person, dates: DatePlan, cell: str, features: tuple[str, ...]) -> Line:
        day = dates.pick(self.rng, due=True)
        why = f"leaves on {day}, on or before {AS_OF}; active user in Box"
        return Line(person, cell, dates.render(day, self.rng), CONFIRMED, why, ("due leaver", *features))

    def _case(self, case: str, language: str, dates: DatePlan, held: list[Person]) -> list[Line]:
        """The row (or the two rows, the second to come later) of one case."""
        if case.startswith("wrap_"):
            return [self._wrapped(case.removeprefix("wrap_"), language, dates)]
        if case in SIMPLE_CASES:
            return [self._simple(case, language, dates, held)]
        pairs = {"dup_same": self._duplicate_same, "usable_first": self._usable_first,
                 "dup_deferred": self._duplicate_of_deferred}  # fmt: skip
        if case in pairs:
            return pairs[case](language, dates)
        singles = {"due": self._plain_due, "deferred": self._deferred, "bad_date": self._bad_date,
                   "two_addresses": self._two_addresses, "no_address": self._no_address,
                   "dup_cross": self._duplicate_across_files}  # fmt: skip
        return [singles[case](language, dates)]

    def _plain_due(self, language: str, dates: DatePlan) -> Line:
        person = self.cast.take(language)
        self._due_here.append(person)
        return self._due(person, dates, self.login_text(person), ())

    def _deferred(self, language: str, dates: DatePlan, features: tuple[str, ...] = ()) -> Line:
        person = self.cast.take(language)
        day = dates.pick(self.rng, due=False)
        why = f"leaves on {day}, after {AS_OF}"
        return Line(person, self.login_text(person), dates.render(day, self.rng), DEFERRED, why,
                    ("future date", *features))  # fmt: skip

    def _simple(self, case: str, language: str, dates: DatePlan, held: list[Person]) -> Line:
        """A due date, and a person whose Box user (or hold) decides: unknown, inactive, admin, held."""
        if case == "unknown":
            person = self.cast.stranger(language)
        elif case == "admin":
            person = self.cast.admin(language)
        else:
            person = self.cast.take(language, status="inactive" if case == "inactive" else "active")
        if case == "held":
            held.append(person)
        status, why, feature = SIMPLE_CASES[case]
        day = dates.pick(self.rng, due=True)
        return Line(person, self.login_text(person), dates.render(day, self.rng), status, why.format(person=person),
                    (feature,))  # fmt: skip

    def _bad_date(self, language: str, dates: DatePlan) -> Line:
        person = self.cast.take(language)
        written = self.rng.choice(UNREADABLE_DATES[language])
        why = f"termination date {written!r} cannot be read"
        return Line(person, self.login_text(person), written, INVALID, why, ("unreadable date",))

    def _two_addresses(self, language: str, dates: DatePlan) -> Line:
        one, other = self.cast.take(language), self.cast.take(language)
        cell = f"{one.login}{self.rng.choice(['; ', ', ', ' / '])}{other.login}"
        day = dates.pick(self.rng, due=True)
        why = "two addresses in one cell: which one leaves?"
        return Line(one, cell, dates.render(day, self.rng), INVALID, why, ("two addresses in one cell",))

    def _no_address(self, language: str, dates: DatePlan) -> Line:
        person = self.cast.take(language)
        day = dates.pick(self.rng, due=True)
        return Line(person, None, dates.render(day, self.rng), INVALID, "no login", ("no address",))

    def _wrapped(self, how: str, language: str, dates: DatePlan) -> Line:
        person = self.cast.take(language)
        cell = {
            "mailto": f"mailto:{person.login}",
            "display": f"{person.name} <{person.login}>",
            "angle": f"<{person.login}>",
            "trailing": f"{person.login}{self.rng.choice(['.', ';'])}",
        }[how]
        return self._due(person, dates, cell, (f"wrapped login: {how}",))

    def _duplicate_same(self, language: str, dates: DatePlan) -> list[Line]:
        first = self._plain_due(language, dates)
        assert first.person is not None
        day = dates.pick(self.rng, due=True)
        why = "the same login on an earlier usable row of this sheet"
        again = Line(first.person, first.person.login.upper(), dates.render(day, self.rng), DUPLICATE, why,
                     ("duplicate",))  # fmt: skip
        return [first, again]

    def _usable_first(self, language: str, dates: DatePlan) -> list[Line]:
        """An unreadable row, then a usable one of the same login: the usable one is the person's row."""
        bad = self._bad_date(language, dates)
        assert bad.person is not None
        bad.features += ("first usable row wins",)
        good = self._due(bad.person, dates, self.login_text(bad.person), ("first usable row wins",))
        good.why += "; the earlier row of this login is invalid, so this one is the first usable one"
        return [bad, good]

    def _duplicate_of_deferred(self, language: str, dates: DatePlan) -> list[Line]:
        """A deferred row, then a due one of the same login: the deferred row is the first usable one."""
        first = self._deferred(language, dates, ("duplicate of a deferred row",))
        assert first.person is not None
        day = dates.pick(self.rng, due=True)
        why = "the same login on an earlier usable (deferred) row: the first usable row wins"
        again = Line(first.person, self.login_text(first.person), dates.render(day, self.rng), DUPLICATE, why,
                     ("duplicate", "duplicate of a deferred row"))  # fmt: skip
        return [first, again]

    def _duplicate_across_files(self, language: str, dates: DatePlan) -> Line:
        person = self.rng.choice([p for p in self.due_earlier if p not in self._repeated])
        self._repeated.append(person)
        day = dates.pick(self.rng, due=True)
        why = "the same login in an export given earlier"
        return Line(person, person.login.upper(), dates.render(day, self.rng), DUPLICATE, why,
                    ("duplicate", "duplicate across files"))  # fmt: skip


def cell_of(field_name: str, person: Person | None, line: Line | None, *, language: str, dept: str, dates: DatePlan,
            rng: random.Random) -> Cell:  # fmt: skip
    """The cell of one column (named by its field) for one row."""
    if person is None:
        return None
    values: dict[str, Callable[[], Cell]] = {
        "id": lambda: person.hr_id,
        "name": lambda: person.name,
        "first": lambda: person.first,
        "last": lambda: person.last,
        "last_first": lambda: f"{person.last}, {person.first}",
        "login": lambda: person.login if line is None else line.login_cell,
        "home": lambda: person.home,
        "username": lambda: (ascii_word(person.first)[:1] + ascii_word(person.last))[:8] + person.hr_id[-2:],
        "date": lambda: line.when if line is not None else dates.render(dates.pick(rng, due=True), rng),
        "date2": lambda: dates.render(AS_OF - timedelta(days=rng.randint(200, 900)), rng),
        "hire": lambda: dates.render(date(rng.randint(2012, 2024), rng.randint(1, 12), rng.randint(1, 28)), rng),
        "reason": lambda: rng.choice(REASONS[language]),
        "ttype": lambda: rng.choice(["Voluntary", "Involuntary"]),
        "dept": lambda: dept,
        "dept2": lambda: rng.choice([d for d in DEPARTMENTS[language] if d != dept]),
        "position": lambda: rng.choice(POSITIONS.get(language, POSITIONS["en"])),
        "cost": lambda: str(rng.randint(4000, 4999)),
        "active": lambda: "Active",
        "empty": lambda: None,
    }
    return values[field_name]()


@dataclass
class LeaverLayout:
    """How a leaver sheet is laid out: rows above the header, the header (one or two rows), its merges, the field of
    each column, hidden columns, and how rows are grouped."""

    header: list[list[Cell]]
    fields: list[str]
    titles: list[list[Cell]] = field(default_factory=list)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    hidden_columns: list[int] = field(default_factory=list)
    subtotals: bool = False  # a subtotal after each department, a grand total at the end
    blank_between: bool = False  # a blank row between departments
    total: bool = False  # one "Total" row at the end (without subtotals)


def leaver_sheet(build: Builder, name: str | None, language: str, layout: LeaverLayout, cases: Sequence[str],
                 dates: DatePlan, held: list[Person], *, features: Sequence[str] = ()) -> Sheet:  # fmt: skip
    """A leaver sheet: titles, header, the rows of ``cases`` grouped by department, summary and blank rows."""
    rng = build.rng
    sheet = Sheet(name, merges=list(layout.merges), hidden_columns=list(layout.hidden_columns),
                  date_format=dates.excel_format)  # fmt: skip
    for row in [*layout.titles, *layout.header]:
        sheet.add(row)
    lines = build.lines(language, cases, dates, held)
    groups = 3 if len(lines) >= 12 else 2
    cuts = sorted(rng.sample(range(2, len(lines) - 1), groups - 1))
    chunks = [lines[a:b] for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True)]
    departments = rng.sample(DEPARTMENTS[language], groups)
    width = len(layout.fields)
    subtotal, grand_total = SUMMARIES.get(language, SUMMARIES["en"])
    for index, (dept, chunk) in enumerate(zip(departments, chunks, strict=True)):
        for line in chunk:
            cells = [cell_of(f, line.person, line, language=language, dept=dept, dates=dates, rng=rng)
                     for f in layout.fields]  # fmt: skip
            marker = line.login_cell or (line.person.hr_id if line.person else None)  # no login: its id
            dated = () if "unreadable date" in line.features else dates.features
            sheet.add(cells, status=line.status, why=line.why, features=[*line.features, *features, *dated],
                      login=line.person.login if line.person else None, marker=marker)  # fmt: skip
        if layout.subtotals:
            cells = subtotal(dept, len(chunk))
            sheet.add([*cells, *[None] * (width - 2)], status=NOT_A_ROW, why="subtotal row: no person",
                      features=["summary row", *features], marker=str(cells[0]))  # fmt: skip
        if layout.blank_between and index < len(chunks) - 1:
            sheet.add([None] * width, status=NOT_A_ROW, why="blank row", features=["blank row", *features])
    if layout.subtotals or layout.total:
        cells = grand_total(len(lines))
        sheet.add([*cells, *[None] * (width - 2)], status=NOT_A_ROW, why="total row: no person",
                  features=["summary row", *features], marker=str(cells[0]))  # fmt: skip
    return sheet


def staying_sheet(build: Builder, name: str, language: str, header: list[str], fields: list[str],
                  people: Sequence[Person], dates: DatePlan, *, others: int) -> Sheet:  # fmt: skip
    """A sheet of people who stay (rehired, cancelled, new, transferred, active): ``people`` plus ``others`` more
    active users, none of them a leaver; every row is :data:`NOT_A_ROW`."""
    rng = build.rng
    sheet = Sheet(name, date_format=dates.excel_format)
    sheet.add(header)
    everyone = [*people, *(build.cast.take(language) for _ in range(others))]
    rng.shuffle(everyone)
    dept = rng.choice(DEPARTMENTS[language])
    for person in everyone:
        cells = [cell_of(f, person, None, language=language, dept=dept, dates=dates, rng=rng) for f in fields]
        sheet.add(cells, status=NOT_A_ROW, why=f"a row of the non-leaver sheet {name!r}",
                  features=["non-leaver sheet", f"non-leaver sheet: {name}"], login=person.login,
                  marker=person.login)  # fmt: skip
    return sheet


# --- the exports ----------------------------------------------------------------------------------------------------


def workday_en(build: Builder) -> Export:
    """Workday custom report: title rows, ``Email - Primary Home`` before ``Email - Primary Work``, Excel date cells,
    a Rehires sheet (with an original termination date) and an Active Employees sheet (termination date empty)."""
    dates = DatePlan(excel_date, ("dates: Excel date cells",), excel_format="mm/dd/yyyy")
    held: list[Person] = []
    header: list[Cell] = ["Employee ID", "Worker", "Email - Primary Home", "Email - Primary Work", "Hire Date",
                          "Termination Date", "Primary Termination Reason", "Supervisory Organization"]  # fmt: skip
    layout = LeaverLayout(
        header=[header], fields=["id", "name", "home", "login", "hire", "date", "reason", "dept"],
        titles=[["Terminations - Last 90 Days"], ["Run by: ISU_HR_Reporting"], []], merges=[(1, 1, 1, 8)], total=True,
    )  # fmt: skip
    cases = ["due"] * 4 + ["deferred"] * 2 + ["unknown", "inactive", "admin", "held", "held", "wrap_display",
                                              "dup_same", "dup_deferred", "no_address"]  # fmt: skip
    leavers = leaver_sheet(build, "Terminations", "en", layout, cases, dates, held,
                           features=["header: work vs home email"])  # fmt: skip
    rehires = staying_sheet(build, "Rehires", "en", ["Employee ID", "Worker", "Email - Primary Work", "Rehire Date",
                            "Original Termination Date"], ["id", "name", "login", "date", "date2"], held, dates,
                            others=2)  # fmt: skip
    active = staying_sheet(build, "Active Employees", "en", ["Employee ID", "Worker", "Email - Primary Work",
                           "Hire Date", "Termination Date"], ["id", "name", "login", "hire", "empty"], [], dates,
                           others=4)  # fmt: skip
    return Export("Workday_Terminations_Nov2026.xlsx", "Workday", "en", [leavers, rehires, active])


def successfactors_de(build: Builder) -> Export:
    """SuccessFactors ad-hoc report in German: a two-row header under merged group labels (``Personalnummer`` merged
    over both rows), dotted dates as text, subtotals per department, a Wiedereinstellungen sheet."""
    dates = DatePlan(text_date("%d.%m.%Y"), ("dates: dotted day first",))
    held: list[Person] = []
    layout = LeaverLayout(
        header=[["Personalnummer", "Mitarbeiter", None, "E-Mail", None, "Austritt", None, "Organisationseinheit"],
                [None, "Nachname", "Vorname", "geschäftlich", "privat", "Datum", "Grund", None]],
        fields=["id", "last", "first", "login", "home", "date", "reason", "dept"],
        titles=[["Austritte - Berichtszeitraum 01.09.2026 bis 30.11.2026"], []],
        merges=[(1, 1, 1, 8), (3, 1, 4, 1), (3, 2, 3, 3), (3, 4, 3, 5), (3, 6, 3, 7), (3, 8, 4, 8)],
        subtotals=True,
    )  # fmt: skip
    cases = ["due"] * 3 + ["deferred"] * 2 + ["bad_date", "held", "held", "wrap_trailing", "two_addresses",
                                              "inactive", "unknown", "usable_first"]  # fmt: skip
    leavers = leaver_sheet(build, "Austritte", "de", layout, cases, dates, held,
                           features=["header: two rows, merged"])  # fmt: skip
    rehires = staying_sheet(build, "Wiedereinstellungen", "de", ["Personalnummer", "Name", "E-Mail",
                            "Wiedereintrittsdatum", "Austrittsdatum"], ["id", "name", "login", "date", "date2"], held,
                            dates, others=2)  # fmt: skip
    return Export("SuccessFactors_Austritte_2026-11.xlsx", "SuccessFactors", "de", [leavers, rehires])


def personio_csv_de(build: Builder) -> Export:
    """Personio's CSV export: UTF-8 with BOM, semicolons, ``Eintrittsdatum`` before ``Austrittsdatum``."""
    dates = DatePlan(text_date("%d.%m.%Y"), ("dates: dotted day first",))
    layout = LeaverLayout(
        header=[["ID", "Vorname", "Nachname", "E-Mail", "Abteilung", "Position", "Eintrittsdatum", "Austrittsdatum",
                 "Kündigungsgrund"]],
        fields=["id", "first", "last", "login", "dept", "position", "hire", "date", "reason"],
    )  # fmt: skip
    cases = ["due"] * 3 + ["deferred", "wrap_angle", "unknown", "dup_cross", "admin", "no_address", "dup_same"]
    sheet = leaver_sheet(build, None, "de", layout, cases, dates, [], features=["csv: utf-8 with BOM, semicolons"])
    return Export("personio-export-austritte-2026-11.csv", "Personio", "de", [sheet], encoding="utf-8-sig",
                  delimiter=";")  # fmt: skip


def bamboohr_csv(build: Builder) -> Export:
    """BambooHR's Terminations report as CSV: UTF-8 without BOM, US dates settled by the days above 12."""
    dates = DatePlan(text_date("%m/%d/%Y"), ("dates: US month first, decided by other values",), ambiguity="decided")
    layout = LeaverLayout(
        header=[["Employee #", "First Name", "Last Name", "Work Email", "Home Email", "Termination Date",
                 "Termination Type", "Termination Reason", "Department"]],
        fields=["id", "first", "last", "login", "home", "date", "ttype", "reason", "dept"],
    )  # fmt: skip
    cases = ["due"] * 3 + ["deferred"] * 3 + ["wrap_mailto", "wrap_trailing", "inactive", "unknown", "usable_first"]
    sheet = leaver_sheet(build, None, "en", layout, cases, dates, [], features=["csv: utf-8, commas"])
    return Export("BambooHR-Terminations-Report.csv", "BambooHR", "en", [sheet])


def adp_xls(build: Builder) -> Export:
    """ADP Workforce Now, saved as .xls: title rows, ``Payroll Name`` as "Last, First", date cells, subtotals, a New
    Hires sheet."""
    dates = DatePlan(excel_date, ("dates: Excel date cells",), excel_format="MM/DD/YYYY")
    layout = LeaverLayout(
        header=[["Associate ID", "Payroll Name", "Work Contact: Work Email", "Personal Contact: Personal Email",
                 "Termination Date", "Termination Reason Description", "Home Department Description"]],
        fields=["id", "last_first", "login", "home", "date", "reason", "dept"],
        titles=[["ADP Workforce Now - Terminated Associates"], ["Company Code: 8XY - All Departments"], []],
        merges=[(1, 1, 1, 7)], subtotals=True,
    )  # fmt: skip
    cases = ["due"] * 3 + ["deferred", "admin", "wrap_display", "dup_same", "bad_date", "two_addresses", "unknown"]
    leavers = leaver_sheet(build, "Terminations", "en", layout, cases, dates, [], features=["xls"])
    hires = staying_sheet(build, "New Hires", "en", ["Associate ID", "Payroll Name", "Work Contact: Work Email",
                          "Hire Date", "Position Status"], ["id", "last_first", "login", "date", "active"], [], dates,
                          others=3)  # fmt: skip
    return Export("ADP_WFN_Terminated_Associates.xls", "ADP", "en", [leavers, hires])


def hibob_fr(build: Builder) -> Export:
    """HiBob in French: ``Nom``/``Prénom``, professional beside personal address, month-name dates, subtotals, an
    Annulations sheet of cancelled departures."""
    dates = DatePlan(in_words("fr"), ("dates: month names (fr)",))
    held: list[Person] = []
    layout = LeaverLayout(
        header=[["Identifiant", "Nom", "Prénom", "Adresse e-mail professionnelle", "Adresse e-mail personnelle",
                 "Date de départ", "Motif de départ", "Service"]],
        fields=["id", "last", "first", "login", "home", "date", "reason", "dept"], subtotals=True,
    )  # fmt: skip
    cases = ["due"] * 3 + ["deferred"] * 2 + ["held", "held", "wrap_mailto", "unknown", "bad_date", "inactive",
                                              "dup_deferred"]  # fmt: skip
    leavers = leaver_sheet(build, "Départs", "fr", layout, cases, dates, held)
    cancelled = staying_sheet(build, "Annulations", "fr", ["Identifiant", "Nom", "Prénom",
                              "Adresse e-mail professionnelle", "Date de départ prévue", "Date d'annulation"],
                              ["id", "last", "first", "login", "date", "date2"], held, dates, others=1)  # fmt: skip
    return Export("HiBob_Departs_FR.xlsx", "HiBob", "fr", [leavers, cancelled])


def ukg_csv_es(build: Builder) -> Export:
    """UKG Pro in Spanish, saved by Excel as "CSV (separado por comas)": cp1252, semicolons, European dates settled
    by the days above 12, subtotals."""
    dates = DatePlan(text_date("%d/%m/%Y"), ("dates: day first, decided by other values",), ambiguity="decided")
    layout = LeaverLayout(
        header=[["Número de empleado", "Nombre", "Apellidos", "Correo electrónico", "Fecha de alta", "Fecha de baja",
                 "Motivo de baja", "Departamento"]],
        fields=["id", "first", "last", "login", "hire", "date", "reason", "dept"], subtotals=True,
    )  # fmt: skip
    cases = ["due"] * 3 + ["deferred"] * 3 + ["inactive", "two_addresses", "wrap_trailing", "dup_cross", "unknown"]
    sheet = leaver_sheet(build, None, "es", layout, cases, dates, [], features=["csv: cp1252, semicolons"])
    return Export("UKG_Pro_Bajas_ES.csv", "UKG", "es", [sheet], encoding="cp1252", delimiter=";")


def dayforce_nl(build: Builder) -> Export:
    """Dayforce in Dutch, saved as "Unicode Text": UTF-16 LE with BOM, tab separated, month-name dates."""
    dates = DatePlan(in_words("nl"), ("dates: month names (nl)",))
    layout = LeaverLayout(
        header=[["Personeelsnummer", "Voornaam", "Achternaam", "E-mailadres werk", "E-mailadres privé",
                 "Datum uit dienst", "Reden uit dienst", "Afdeling"]],
        fields=["id", "first", "last", "login", "home", "date", "reason", "dept"],
    )  # fmt: skip
    cases = ["due"] * 3 + ["deferred"] * 2 + ["unknown", "wrap_angle", "admin", "usable_first", "no_address",
                                              "inactive"]  # fmt: skip
    sheet = leaver_sheet(build, None, "nl", layout, cases, dates, [], features=["csv: utf-16 with BOM, tabs"])
    return Export("Dayforce_Uitdiensttredingen_NL.csv", "Dayforce", "nl", [sheet], encoding="utf-16",
                  delimiter="\t")  # fmt: skip


def successfactors_en(build: Builder) -> Export:
    """SuccessFactors in English: a hidden ``Username`` column (no addresses) beside ``Email``, month-name dates with
    times and zones, a Transfers sheet."""
    dates = DatePlan(in_words("en"), ("dates: month names (en)",))
    layout = LeaverLayout(
        header=[["User ID", "Username", "Employee Name", "Email", "Termination Date", "Event Reason", "Division"]],
        fields=["id", "username", "name", "login", "date", "reason", "dept"], hidden_columns=[1],
    )  # fmt: skip
    cases = ["due"] * 3 + ["deferred"] * 2 + ["inactive", "wrap_display", "unknown", "dup_same", "admin"]
    leavers = leaver_sheet(build, "Terminations", "en", layout, cases, dates, [],
                           features=["header: hidden user-name column"])  # fmt: skip
    transfers = staying_sheet(build, "Transfers", "en", ["User ID", "Username", "Employee Name", "Email",
                              "Effective Date", "From Division", "To Division"], ["id", "username", "name", "login",
                              "date", "dept", "dept2"], [], dates, others=3)  # fmt: skip
    transfers.hidden_columns = [1]
    return Export("SuccessFactors_Terminations_Q4.xlsx", "SuccessFactors", "en", [leavers, transfers])


def hibob_es(build: Builder) -> Export:
    """HiBob in Spanish: month-name dates, subtotals, a Recontrataciones sheet."""
    dates = DatePlan(in_words("es"), ("dates: month names (es)",))
    held: list[Person] = []
    layout = LeaverLayout(
        header=[["ID de empleado", "Nombre", "Apellidos", "Correo electrónico del trabajo",
                 "Correo electrónico personal", "Fecha de baja", "Motivo", "Departamento"]],
        fields=["id", "first", "last", "login", "home", "date", "reason", "dept"], subtotals=True,
    )  # fmt: skip
    cases = ["due"] * 3 + ["deferred"] * 2 + ["held", "held", "wrap_mailto", "bad_date", "unknown", "dup_cross"]
    leavers = leaver_sheet(build, "Bajas", "es", layout, cases, dates, held)
    rehires = staying_sheet(build, "Recontrataciones", "es", ["ID de empleado", "Nombre",
                            "Correo electrónico del trabajo", "Fecha de recontratación", "Fecha de baja anterior"],
                            ["id", "name", "login", "date", "date2"], held, dates, others=2)  # fmt: skip
    return Export("HiBob_Bajas_ES.xlsx", "HiBob", "es", [leavers, rehires])


def workday_nl(build: Builder) -> Export:
    """Workday in Dutch: a title row, dashed day-first dates as text settled by the days above 12, a blank row
    between departments, an Actieve medewerkers sheet."""
    dates = DatePlan(text_date("%d-%m-%Y"), ("dates: day first, decided by other values",), ambiguity="decided")
    layout = LeaverLayout(
        header=[["Medewerker-ID", "Medewerker", "E-mail - primair werk", "E-mail - primair privé",
                 "Datum uitdiensttreding", "Reden uitdiensttreding", "Organisatie"]],
        fields=["id", "name", "login", "home", "date", "reason", "dept"],
        titles=[["Uitstroom medewerkers - november 2026"]], merges=[(1, 1, 1, 7)], blank_between=True,
    )  # fmt: skip
    cases = ["due"] * 3 + ["deferred"] * 3 + ["inactive", "unknown", "wrap_trailing", "dup_same", "two_addresses"]
    leavers = leaver_sheet(build, "Uitstroom", "nl", layout, cases, dates, [],
                           features=["header: work vs home email"])  # fmt: skip
    active = staying_sheet(build, "Actieve medewerkers", "nl", ["Medewerker-ID", "Medewerker",
                           "E-mail - primair werk", "Datum in dienst", "Datum uitdiensttreding"],
                           ["id", "name", "login", "hire", "empty"], [], dates, others=3)  # fmt: skip
    return Export("Workday_Uitstroom_NL.xlsx", "Workday", "nl", [leavers, active])


def dayforce_us(build: Builder) -> Export:
    """Dayforce in US English: UTF-8 with BOM, every date ambiguous (day and month at most 12), so the column falls
    back to the setting: month first."""
    dates = DatePlan(text_date("%m/%d/%Y"), ("dates: wholly ambiguous, month-first fallback",),
                     ambiguity="all ambiguous")  # fmt: skip
    layout = LeaverLayout(
        header=[["Employee Number", "Employee Display Name", "Work Email", "Termination Date", "Termination Reason",
                 "Pay Group"]],
        fields=["id", "last_first", "login", "date", "reason", "dept"],
    )  # fmt: skip
    cases = ["due"] * 3 + ["deferred"] * 3 + ["unknown", "admin", "wrap_angle", "dup_cross", "inactive"]
    sheet = leaver_sheet(build, None, "en", layout, cases, dates, [], features=["csv: utf-8 with BOM, commas"])
    return Export("Dayforce_Terminations_US.csv", "Dayforce", "en", [sheet], encoding="utf-8-sig")


def personio_xlsx_de(build: Builder) -> Export:
    """Personio report as a workbook: German month-name dates, a Neueinstellungen sheet."""
    dates = DatePlan(in_words("de"), ("dates: month names (de)",))
    layout = LeaverLayout(
        header=[["ID", "Vorname", "Nachname", "E-Mail", "Austrittsdatum", "Abteilung", "Kostenstelle"]],
        fields=["id", "first", "last", "login", "date", "dept", "cost"],
    )  # fmt: skip
    cases = ["due"] * 3 + ["deferred"] * 2 + ["unknown", "wrap_mailto", "bad_date", "inactive"]
    leavers = leaver_sheet(build, "Offboarding", "de", layout, cases, dates, [])
    hires = staying_sheet(build, "Neueinstellungen", "de", ["ID", "Vorname", "Nachname", "E-Mail", "Eintrittsdatum"],
                          ["id", "first", "last", "login", "date"], [], dates, others=3)  # fmt: skip
    return Export("Personio_Offboarding_DE.xlsx", "Personio", "de", [leavers, hires])


#: The exports in the order they are given to a run (a duplicate across files names an earlier one).
EXPORTS: tuple[Callable[[Builder], Export], ...] = (
    workday_en, successfactors_de, personio_csv_de, bamboohr_csv, adp_xls, hibob_fr, ukg_csv_es, dayforce_nl,
    successfactors_en, hibob_es, workday_nl, dayforce_us, personio_xlsx_de,
)  # fmt: skip


# --- writing --------------------------------------------------------------------------------------------------------


def write_xlsx(export: Export, path: Path) -> None:
    book = openpyxl.Workbook()
    book.remove(book.worksheets[0])
    for sheet in export.sheets:
        target = book.create_sheet(sheet.name)
        for number, row in enumerate(sheet.rows, start=1):
            for column, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = target.cell(number, column, value)
                if isinstance(value, date):
                    cell.number_format = sheet.date_format
                else:
                    cell.data_type = "s"  # HR's text, never a formula
        for top, left, bottom, right in sheet.merges:
            target.merge_cells(start_row=top, start_column=left, end_row=bottom, end_column=right)
        for column in sheet.hidden_columns:
            target.column_dimensions[get_column_letter(column + 1)].hidden = True
    book.save(path)


def write_xls(export: Export, path: Path) -> None:
    book = xlwt.Workbook(encoding="utf-8")
    for sheet in export.sheets:
        target = book.add_sheet(sheet.name)
        dated = xlwt.easyxf(num_format_str=sheet.date_format)
        covered = {(r, c) for top, left, bottom, right in sheet.merges for r in range(top, bottom + 1)
                   for c in range(left, right + 1)}  # fmt: skip
        for top, left, bottom, right in sheet.merges:
            target.write_merge(top - 1, bottom - 1, left - 1, right - 1, sheet.rows[top - 1][left - 1])
        for number, row in enumerate(sheet.rows, start=1):
            for column, value in enumerate(row, start=1):
                if value is None or (number, column) in covered:
                    continue
                if isinstance(value, date):
                    target.write(number - 1, column - 1, value, dated)
                else:
                    target.write(number - 1, column - 1, value)
        for column in sheet.hidden_columns:
            target.col(column).hidden = True
    book.save(str(path))


def write_csv(export: Export, path: Path) -> None:
    (sheet,) = export.sheets
    text = io.StringIO()
    writer = csv.writer(text, delimiter=export.delimiter, lineterminator="\r\n")
    for row in sheet.rows:
        if any(isinstance(value, date) for value in row):
            raise TypeError(f"{export.name}: a CSV holds text; render dates before writing")
        writer.writerow(["" if value is None else value for value in row])
    if export.encoding == "utf-16":
        data = b"\xff\xfe" + text.getvalue().encode("utf-16-le")  # Excel's "Unicode Text"
    else:
        data = text.getvalue().encode(export.encoding)
    path.write_bytes(data)


WRITERS: dict[str, Callable[[Export, Path], None]] = {"xlsx": write_xlsx, "xls": write_xls, "csv": write_csv}


# --- the corpus -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    """The exports as written (``paths``, in the order a run is given them), the simulator's directory CSV, and the
    expected outcome of every row (:data:`EXPECTED_SCHEMA`)."""

    folder: Path
    paths: list[Path]
    directory: Path
    people: list[Person]
    exports: list[Export]
    expected: pl.DataFrame

    def due_logins(self) -> frozenset[str]:
        """Logins of due leavers: the people whose termination is right."""
        due = self.expected.filter(pl.col("status") == CONFIRMED)
        return frozenset(due.get_column("login").to_list())

    def due_box_ids(self) -> frozenset[str]:
        due = self.due_logins()
        return frozenset(p.box_id for p in self.people if p.login in due and p.box_id is not None)


def expected_frame(exports: Sequence[Export]) -> pl.DataFrame:
    records = [
        {"file": export.name, "sheet": sheet.name, "row": number, "status": expected.status, "why": expected.why,
         "features": list(expected.features), "login": expected.login, "marker": expected.marker,
         "system": export.system, "language": export.language}
        for export in exports for sheet in export.sheets for number, expected in sheet.expected.items()
    ]  # fmt: skip
    return pl.DataFrame(records, schema=EXPECTED_SCHEMA)


def build_corpus(folder: Path, *, seed: int = 0) -> Corpus:
    """Write the exports and the directory into ``folder`` (created if needed); the same seed writes the same
    content."""
    folder.mkdir(parents=True, exist_ok=True)
    build = Builder(random.Random(seed))
    exports: list[Export] = []
    for make in EXPORTS:
        exports.append(make(build))
        build.finish_export()
    paths = []
    for export in exports:
        path = folder / export.name
        WRITERS[export.kind](export, path)
        paths.append(path)
    directory = build.cast.directory_csv(folder / "directory.csv")
    return Corpus(folder, paths, directory, list(build.cast.people), exports, expected_frame(exports))
