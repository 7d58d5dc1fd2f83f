"""Reading termination dates as HR wrote them, deciding day-first or month-first once per column.

:func:`read_date_column` reads a column of text cells. Each distinct text is read once, first by polars expressions
(no per-cell Python), which understand:

* ISO and year-first: ``2026-11-03``, ``2026/11/03``. Excel date cells arrive in this form too (the reader renders
  them ``2026-11-03 00:00:00``).
* Compact ``20261103``.
* Dotted ``03.11.2026`` / ``3.11.26``: always day first (German, SAP).
* Slashed or dashed ``11/03/2026`` / ``11-03-26``: see the order below.

Each may have a time after it (``17:45``, ``5:00 PM PST``, ``T23:30:00-08:00``); other words after a date
(``2026-11-03 tbc``) make it unreadable, for a person to look at.
* Excel serial numbers with five digits (``46000`` or ``46000.5``: 1927 to 2173), from a date cell Excel saw as a
  number.

What that leaves unread and holds a letter and a digit (month names, weekdays, times with zones: ``Nov 27, 2026
5:00 PM PST``, ``Monday, November 30, 2026``, ``2 déc. 2026``, ``3. Dezember 2026``, ``1 de diciembre de 2026``,
``12 januari 2026``) goes to dateparser, in English, German, French, Spanish and Dutch, absolute dates only (no
"yesterday" or "in 2 days") and only with a day, a month and a year. Text over :data:`MAX_PARSED_LENGTH` characters is
not a date and is not handed to it.

**Times and zones do not move the date**: the date is the calendar date as written, so ``Nov 27, 2026 11:30 PM PST``
is 27 November 2026 (it is 28 November in UTC). HR writes the last day of work in its own zone, and that day is what
the row means.

**Day first or month first** is decided per column, because a run can read a French file and a US file together:

* A slashed date that is a real date only one way votes: ``28/11/2026`` can only be day first, ``11/28/2026`` only
  month first. An impossible date (``31/02/2026``) votes for nothing. Dotted, ISO and worded dates do not vote (a
  worded one with numbers for both, ``Mon 01/02/2026``, is ambiguous when dateparser reads it differently each way).
* If the votes agree, the column's ambiguous dates (``01/12/2026``) are read that way, with a note on each.
* If they disagree, the ambiguous dates are left null with a note: nobody can tell day from month there.
* If there is no vote at all, the ambiguous dates follow the caller's fallback (``day_first``, with ``because``
  saying where it comes from: the ``OFFBOARD_DAY_FIRST`` setting, or the language of the column's header), with a
  note on each.

Two-digit years are 20xx: a termination date is recent or ahead. Anything else, or an impossible date such as
``31.02.2026``, gives null and the caller keeps the text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import polars as pl
from dateparser.date import DateDataParser  # type: ignore[import-untyped]

# A time after a date, which does not move it: 17:45, 5:00 PM, 08:00:00.123Z, 23:30:00-08:00, 17:00 CET, 5 PM. Any other
# tail ("2026-11-03 tbc", "03.11.2026 (last day)") is not a date the expressions read.
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s*[AaPp]\.?[Mm]\.?)?"
_HOUR = r"\d{1,2}\s*[AaPp]\.?[Mm]\.?"
_ZONE = r"(?:\s*(?:Z|[+-]\d{2}:?\d{2}|[A-Z]{3,5}))?"
_TIME_TAIL = rf"(?:(?:T|\s+)(?:{_CLOCK}|{_HOUR}){_ZONE})?"
YEAR_FIRST = rf"^(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}}){_TIME_TAIL}$"
COMPACT = r"^(\d{4})(\d{2})(\d{2})$"
DOTTED = rf"^(\d{{1,2}})\.\s?(\d{{1,2}})\.\s?(\d{{4}}|\d{{2}}){_TIME_TAIL}$"
SLASHED = rf"^(\d{{1,2}})[/-](\d{{1,2}})[/-](\d{{4}}|\d{{2}}){_TIME_TAIL}$"
SERIAL = r"^\d{5}(?:\.\d+)?$"
#: Worth handing to dateparser: a letter (a month, a weekday, a zone) and a digit (a date needs a day and a year).
WORDED = r"\p{L}.*\d|\d.*\p{L}"
#: Inside worded text: a day and a month in numbers, dotted (always day first) or else apart (either way:
#: ``Mon 01/02/2026``, ``01 02 2026 5 PM``; not a time such as ``5:00``).
DOTTED_PAIR = re.compile(r"(?<!\d)\d{1,2}\.\s?\d{1,2}\.")
NUMBER_PAIR = re.compile(r"(?<![\d:.])\d{1,2}[\s/,-]+\d{1,2}(?![\d:])")

EXCEL_EPOCH = dt.date(1899, 12, 30)
#: Longer text is not a date; dateparser's cost grows with the length, so it never sees more.
MAX_PARSED_LENGTH = 60
LANGUAGES = ("en", "de", "fr", "es", "nl")

DAY_FIRST, MONTH_FIRST, NO_AMBIGUOUS, DISAGREE = "day first", "month first", "no ambiguous dates", "disagree"
_DAY, _MONTH = "day", "month"  # votes
_TEXT, _COUNT, _READ, _AS_DAY_FIRST, _AS_MONTH_FIRST, _VOTE, _SLASHED = (
    "__text__",
    "__count__",
    "__read__",
    "__as_day_first__",
    "__as_month_first__",
    "__vote__",
    "__slashed__",
)


@dataclass(frozen=True)
class DateColumn:
    """A column of dates read together, and how its day/month order was decided."""

    frame: pl.DataFrame  # the input plus the date column (pl.Date, null when unreadable) and the note column
    order: str  # DAY_FIRST | MONTH_FIRST | NO_AMBIGUOUS | DISAGREE
    decision: str  # one line for the run notes


# --- the vectorised reading ----------------------------------------------------------------------------------------


def _date_from_parts(year: pl.Expr, month: pl.Expr, day: pl.Expr) -> pl.Expr:
    """A date from integer parts; null when the parts are missing or make no date (month 13, 31 February)."""
    full_year = pl.when(year < 100).then(year + 2000).otherwise(year)
    iso = pl.concat_str(
        [
            full_year.cast(pl.String).str.zfill(4),
            month.cast(pl.String).str.zfill(2),
            day.cast(pl.String).str.zfill(2),
        ],
        separator="-",
    )
    return iso.str.to_date("%Y-%m-%d", strict=False)


def _groups(text: pl.Expr, pattern: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """The three captured groups of ``pattern`` in ``text`` as integers (null when it does not match)."""
    groups = text.str.extract_groups(pattern)
    first, second, third = (groups.struct.field(name).cast(pl.Int32, strict=False) for name in ("1", "2", "3"))
    return first, second, third


def _serial(text: pl.Expr) -> pl.Expr:
    days = pl.when(text.str.contains(SERIAL)).then(text.cast(pl.Float64, strict=False).floor().cast(pl.Int64))
    return pl.lit(EXCEL_EPOCH) + pl.duration(days=days)


def _fixed_order(text: pl.Expr) -> pl.Expr:
    """The forms whose order is fixed: ISO, compact, dotted, serial."""
    year, month, day = _groups(text, YEAR_FIRST)
    compact_year, compact_month, compact_day = _groups(text, COMPACT)
    dot_day, dot_month, dot_year = _groups(text, DOTTED)
    return pl.coalesce(
        _date_from_parts(year, month, day),
        _date_from_parts(compact_year, compact_month, compact_day),
        _date_from_parts(dot_year, dot_month, dot_day),
        _serial(text),
    )


def _fast_readings(text: pl.Expr) -> list[pl.Expr]:
    """Per text: the date when there is one reading, both readings when a slashed date is ambiguous, its vote."""
    first, second, year = _groups(text, SLASHED)
    as_day_first = _date_from_parts(year, second, first)
    as_month_first = _date_from_parts(year, first, second)
    vote = (
        pl.when(as_day_first.is_not_null() & as_month_first.is_null())
        .then(pl.lit(_DAY))
        .when(as_month_first.is_not_null() & as_day_first.is_null())
        .then(pl.lit(_MONTH))
    )
    ambiguous = as_day_first.is_not_null() & as_month_first.is_not_null() & (as_day_first != as_month_first)
    return [
        pl.coalesce(_fixed_order(text), pl.when(~ambiguous).then(pl.coalesce(as_day_first, as_month_first))).alias(
            _READ
        ),
        pl.when(ambiguous).then(as_day_first).alias(_AS_DAY_FIRST),
        pl.when(ambiguous).then(as_month_first).alias(_AS_MONTH_FIRST),
        vote.alias(_VOTE),
        first.is_not_null().alias(_SLASHED),
    ]


# --- the worded reading (dateparser) -------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _parser(date_order: str) -> DateDataParser:
    settings = {"PARSERS": ["absolute-time"], "REQUIRE_PARTS": ["day", "month", "year"], "DATE_ORDER": date_order}
    return DateDataParser(languages=list(LANGUAGES), settings=settings)


def _parse_worded(text: str, date_order: str) -> dt.date | None:
    """The calendar date written in ``text`` (its time and zone ignored, a two-digit year taken as 20xx)."""
    found = _parser(date_order).get_date_data(text).date_obj
    if found is None:
        return None
    day: dt.date = found.date()
    if day.year < 2000 and not re.search(rf"(?<!\d){day.year}(?!\d)", text):
        return _in_century(day)
    return day


def _in_century(day: dt.date) -> dt.date | None:
    """``day`` a hundred years on (``3 Nov 99`` is 2099); null for 29 February in a year that has none."""
    try:
        return day.replace(year=day.year + 100)
    except ValueError:
        return None


def _worded_readings(texts: Iterable[str], *, day_first: bool) -> pl.DataFrame:
    """Readings of worded texts. A dotted day and month inside one (``Mo., 03.11.2026``) is day first; other
    numbers for both (``Mon 01/02/2026``) are read both ways, ambiguous when the two differ; the rest is read once, in
    the column's order."""
    rows: list[tuple[str, dt.date | None, dt.date | None, dt.date | None, bool]] = []
    # NUMBER_PAIR only spares the second parse where the order cannot matter; the two readings decide.
    for text in texts:
        if DOTTED_PAIR.search(text):
            rows.append((text, _parse_worded(text, "DMY"), None, None, False))
        elif NUMBER_PAIR.search(text):
            as_day_first, as_month_first = _parse_worded(text, "DMY"), _parse_worded(text, "MDY")
            if as_day_first is not None and as_month_first is not None and as_day_first != as_month_first:
                rows.append((text, None, as_day_first, as_month_first, True))
            else:
                rows.append((text, as_day_first or as_month_first, None, None, True))
        else:
            rows.append((text, _parse_worded(text, "DMY" if day_first else "MDY"), None, None, False))
    schema = {_TEXT: pl.String, _READ: pl.Date, _AS_DAY_FIRST: pl.Date, _AS_MONTH_FIRST: pl.Date, _SLASHED: pl.Boolean}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _with_worded(readings: pl.DataFrame, *, day_first: bool) -> pl.DataFrame:
    """``readings`` with the texts the expressions could not read, and that look worded, read by dateparser."""
    unread = pl.col(_READ).is_null() & pl.col(_AS_DAY_FIRST).is_null()
    short = pl.col(_TEXT).str.len_chars() <= MAX_PARSED_LENGTH
    texts = readings.filter(unread & short & pl.col(_TEXT).str.contains(WORDED)).get_column(_TEXT)
    if texts.is_empty():
        return readings
    worded = _worded_readings(texts, day_first=day_first)
    return readings.update(worded, on=_TEXT, how="left")


# --- the column decision -------------------------------------------------------------------------------------------


def _first_text(readings: pl.DataFrame, where: pl.Expr) -> str:
    return str(readings.filter(where).get_column(_TEXT).first())


def _count(readings: pl.DataFrame, where: pl.Expr) -> int:
    return int(readings.filter(where).get_column(_COUNT).sum())


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass(frozen=True)
class _Decision:
    order: str
    decision: str
    reading: pl.Expr  # the date of an ambiguous text
    note: pl.Expr  # the note on an ambiguous text


@dataclass(frozen=True)
class _Tally:
    """The column's cells counted by what their reading says about the order (repeated texts count each time)."""

    day_only: int
    month_only: int
    slashed: int
    ambiguous: int


def _tally(readings: pl.DataFrame) -> _Tally:
    return _Tally(
        day_only=_count(readings, pl.col(_VOTE) == _DAY),
        month_only=_count(readings, pl.col(_VOTE) == _MONTH),
        slashed=_count(readings, pl.col(_SLASHED)),
        ambiguous=_count(readings, pl.col(_AS_DAY_FIRST).is_not_null()),
    )


def _decide(readings: pl.DataFrame, *, day_first: bool, because: str) -> _Decision:
    """The column's order from its votes (see the module docstring), with what to do with its ambiguous dates."""
    tally = _tally(readings)
    if tally.day_only and tally.month_only:
        return _disagreeing(readings, tally)
    if tally.day_only or tally.month_only:
        return _voted(readings, tally)
    if not tally.ambiguous:
        decision = "no ambiguous dates: each slashed date reads one way only" if tally.slashed else "no slashed dates"
        return _Decision(NO_AMBIGUOUS, decision, pl.lit(None, dtype=pl.Date), pl.lit(None, dtype=pl.String))
    return _by_setting(readings, tally, day_first=day_first, because=because)


def _disagreeing(readings: pl.DataFrame, tally: _Tally) -> _Decision:
    day_only, month_only = (_first_text(readings, pl.col(_VOTE) == vote) for vote in (_DAY, _MONTH))
    note = f"dates in this column disagree (e.g. '{day_only}' and '{month_only}'): cannot tell day from month"
    decision = (
        f"day and month disagree: {tally.day_only} of {tally.slashed} slashed dates (e.g. '{day_only}') can only be"
        f" day first, {tally.month_only} (e.g. '{month_only}') only month first;"
        f" {_plural(tally.ambiguous, 'ambiguous date')} left unread"
    )
    return _Decision(DISAGREE, decision, pl.lit(None, dtype=pl.Date), pl.lit(note))


def _voted(readings: pl.DataFrame, tally: _Tally) -> _Decision:
    order, vote, votes = (
        (DAY_FIRST, _DAY, tally.day_only) if tally.day_only else (MONTH_FIRST, _MONTH, tally.month_only)
    )
    example = _first_text(readings, pl.col(_VOTE) == vote)
    decision = f"dates read {order}: {votes} of {tally.slashed} slashed dates (e.g. '{example}') can only be {order}"
    if tally.ambiguous:
        decision += f", so {_plural(tally.ambiguous, 'ambiguous date')} read {order}"
    return _Decision(order, decision, _ambiguous_as(order), pl.lit(f"read {order}, as the column's other dates say"))


def _by_setting(readings: pl.DataFrame, tally: _Tally, *, day_first: bool, because: str) -> _Decision:
    order = DAY_FIRST if day_first else MONTH_FIRST
    example = _first_text(readings, pl.col(_AS_DAY_FIRST).is_not_null())
    if tally.ambiguous == tally.slashed:
        which = "the one slashed date is" if tally.slashed == 1 else f"all {tally.slashed} slashed dates are"
    else:
        which = f"{tally.ambiguous} of {tally.slashed} slashed dates are"
    decision = f"{which} ambiguous (e.g. '{example}'): read {order}, as {because}"
    note = f"ambiguous date: read {order} ({because})"
    return _Decision(order, decision, _ambiguous_as(order), pl.lit(note))


def _ambiguous_as(order: str) -> pl.Expr:
    return pl.col(_AS_DAY_FIRST) if order == DAY_FIRST else pl.col(_AS_MONTH_FIRST)


# --- the entry points ----------------------------------------------------------------------------------------------


def _readings(texts: pl.DataFrame, *, day_first: bool) -> pl.DataFrame:
    """Readings of the distinct texts in ``texts`` (a frame of ``_TEXT`` and ``_COUNT``). Worded texts are read in
    the order the slashed dates vote for (``day_first`` when they do not agree), so that a lone ``Mon 2/3/2026`` in a
    day-first column reads day first."""
    readings = texts.with_columns(_fast_readings(pl.col(_TEXT)))
    tally = _tally(readings)
    voted_day_first = tally.day_only > 0 if bool(tally.day_only) != bool(tally.month_only) else day_first
    return _with_worded(readings, day_first=voted_day_first)


def read_date_column(
    frame: pl.DataFrame,
    text_column: str,
    *,
    date_column: str,
    note_column: str,
    day_first: bool,
    because: str | None = None,
) -> DateColumn:
    """``frame`` with ``date_column`` read from the trimmed texts of ``text_column`` and ``note_column`` saying how an
    ambiguous or unreadable cell was read; the day/month order is decided from the column (module docstring), and
    ``day_first`` applies only when nothing in it says, ``because`` saying why (default: the setting)."""
    texts = (
        frame.lazy()
        .select(pl.col(text_column).alias(_TEXT))
        .filter(pl.col(_TEXT).is_not_null())
        .group_by(_TEXT, maintain_order=True)
        .agg(pl.len().alias(_COUNT))
        .collect()
    )
    readings = _readings(texts, day_first=day_first)
    because = because or f"OFFBOARD_DAY_FIRST is {'on' if day_first else 'off'}"
    decided = _decide(readings, day_first=day_first, because=because)
    ambiguous = pl.col(_AS_DAY_FIRST).is_not_null()
    too_long = pl.col(_READ).is_null() & (pl.col(_TEXT).str.len_chars() > MAX_PARSED_LENGTH)
    read = readings.select(
        pl.col(_TEXT).alias(text_column),
        pl.when(ambiguous).then(decided.reading).otherwise(pl.col(_READ)).alias(date_column),
        pl.when(ambiguous)
        .then(decided.note)
        .when(too_long)
        .then(pl.format("not read as a date: {} characters long", pl.col(_TEXT).str.len_chars()))
        .alias(note_column),
    )
    joined = frame.join(read, on=text_column, how="left", maintain_order="left")
    return DateColumn(frame=joined, order=decided.order, decision=decided.decision)
