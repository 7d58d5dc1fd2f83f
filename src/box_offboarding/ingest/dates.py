"""Reading termination dates as HR wrote them, as one polars expression (no per-cell Python).

Understood, first match wins:

* ISO and year-first: ``2026-11-03``, ``2026/11/03``, with a time after it or not. Excel date cells arrive in this
  form too (the reader renders them ``2026-11-03 00:00:00``).
* Compact ``20261103``.
* Dotted ``03.11.2026`` / ``3.11.26``: always day first (German, SAP).
* Slashed or dashed ``11/03/2026`` / ``11-03-26``: month first unless ``day_first``; a first number above 12 is a day
  and a second above 12 is a day whatever the setting, so ``13/02/2026`` reads the same either way.
* Month names ``3-Nov-2026``, ``3 November 2026``, ``Nov 3, 2026`` (English, and the German names that differ).
* Excel serial numbers with five digits (``46000`` or ``46000.5``: 1927 to 2173), from a date cell Excel saw as a
  number.

Two-digit years are 20xx: a termination date is recent or ahead. Anything else, or an impossible date such as
``31.02.2026``, gives null and the caller keeps the text.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

_TIME_TAIL = r"(?:[T\s].*)?"
YEAR_FIRST = rf"^(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}}){_TIME_TAIL}$"
COMPACT = r"^(\d{4})(\d{2})(\d{2})$"
DOTTED = rf"^(\d{{1,2}})\.\s?(\d{{1,2}})\.\s?(\d{{4}}|\d{{2}}){_TIME_TAIL}$"
SLASHED = rf"^(\d{{1,2}})[/-](\d{{1,2}})[/-](\d{{4}}|\d{{2}}){_TIME_TAIL}$"
DAY_MONTH_NAME = r"^(\d{1,2})[-\s.]+([A-Za-zäÄ]{3,9})\.?[-\s,]+(\d{4}|\d{2})$"
MONTH_NAME_DAY = r"^([A-Za-zäÄ]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$"
SERIAL = r"^\d{5}(?:\.\d+)?$"

EXCEL_EPOCH = dt.date(1899, 12, 30)

#: First three letters of a month name (English, plus German where it differs) -> month number.
MONTH_ABBREVIATIONS: dict[str, int] = {
    **{
        name: number
        for number, name in enumerate(
            ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
        )
    },
    "mär": 3,
    "mrz": 3,
    "mai": 5,
    "okt": 10,
    "dez": 12,
}


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
    """The three captured groups of ``pattern`` in ``text`` (null when it does not match), in one regex pass."""
    groups = text.str.extract_groups(pattern)
    return groups.struct.field("1"), groups.struct.field("2"), groups.struct.field("3")


def _as_int(text: pl.Expr) -> pl.Expr:
    return text.cast(pl.Int32, strict=False)


def _slashed(text: pl.Expr, *, day_first: bool) -> pl.Expr:
    first, second, year = (_as_int(part) for part in _groups(text, SLASHED))
    first_is_day = (first > 12) | ((second <= 12) & pl.lit(day_first))
    month = pl.when(first_is_day).then(second).otherwise(first)
    day = pl.when(first_is_day).then(first).otherwise(second)
    return _date_from_parts(year, month, day)


def _month_number(name: pl.Expr) -> pl.Expr:
    abbreviation = name.str.to_lowercase().str.slice(0, 3)
    return abbreviation.replace_strict(MONTH_ABBREVIATIONS, default=None, return_dtype=pl.Int32)


def _named_month(text: pl.Expr) -> pl.Expr:
    day, month_name, year = _groups(text, DAY_MONTH_NAME)
    day_first_form = _date_from_parts(_as_int(year), _month_number(month_name), _as_int(day))
    month_name, day, year = _groups(text, MONTH_NAME_DAY)
    month_first_form = _date_from_parts(_as_int(year), _month_number(month_name), _as_int(day))
    return pl.coalesce(day_first_form, month_first_form)


def _serial(text: pl.Expr) -> pl.Expr:
    days = pl.when(text.str.contains(SERIAL)).then(text.cast(pl.Float64, strict=False).floor().cast(pl.Int64))
    return pl.lit(EXCEL_EPOCH) + pl.duration(days=days)


def parse_dates(text: pl.Expr, *, day_first: bool) -> pl.Expr:
    """Dates from trimmed text cells (see the module docstring for the forms); null where none applies."""
    year, month, day = (_as_int(part) for part in _groups(text, YEAR_FIRST))
    compact_year, compact_month, compact_day = (_as_int(part) for part in _groups(text, COMPACT))
    dot_day, dot_month, dot_year = (_as_int(part) for part in _groups(text, DOTTED))
    return pl.coalesce(
        _date_from_parts(year, month, day),
        _date_from_parts(compact_year, compact_month, compact_day),
        _date_from_parts(dot_year, dot_month, dot_day),
        _slashed(text, day_first=day_first),
        _named_month(text),
        _serial(text),
    )


def with_parsed_dates(frame: pl.DataFrame, text_column: str, date_column: str, *, day_first: bool) -> pl.DataFrame:
    """``frame`` with ``date_column`` parsed from ``text_column``; each distinct text is parsed once (exports repeat
    the same few dates, and the parser runs a dozen regular expressions per value)."""
    distinct = frame.select(pl.col(text_column).unique())
    parsed = distinct.with_columns(parse_dates(pl.col(text_column), day_first=day_first).alias(date_column))
    return frame.join(parsed, on=text_column, how="left", maintain_order="left")
