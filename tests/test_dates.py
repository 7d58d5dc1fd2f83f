"""Termination dates: each column's day/month order decided from its own dates, and the forms HR writes."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Sequence
from typing import Any

import polars as pl
import pytest
from dateparser.date import DateDataParser  # type: ignore[import-untyped]

from box_offboarding.ingest.dates import (
    DAY_FIRST,
    DISAGREE,
    MAX_PARSED_LENGTH,
    MONTH_FIRST,
    NO_AMBIGUOUS,
    DateColumn,
    read_date_column,
)

D = dt.date
BY_COLUMN_DAY = "read day first, as the column's other dates say"
BY_COLUMN_MONTH = "read month first, as the column's other dates say"
SETTING_OFF = "ambiguous date: read month first (OFFBOARD_DAY_FIRST is off)"
SETTING_ON = "ambiguous date: read day first (OFFBOARD_DAY_FIRST is on)"
DISAGREE_NOTE = "dates in this column disagree (e.g. '13/02/2026' and '02/13/2026'): cannot tell day from month"


def read(texts: Sequence[str | None], *, day_first: bool = False) -> DateColumn:
    frame = pl.DataFrame({"row": range(len(texts)), "written": texts}, schema={"row": pl.Int64, "written": pl.String})
    return read_date_column(frame, "written", date_column="date", note_column="note", day_first=day_first)


def dates(column: DateColumn) -> list[Any]:
    return column.frame.get_column("date").to_list()


def notes(column: DateColumn) -> list[Any]:
    return column.frame.get_column("note").to_list()


def one(text: str, *, day_first: bool = False) -> tuple[Any, Any]:
    column = read([text], day_first=day_first)
    return column.frame.get_column("date").item(), column.frame.get_column("note").item()


# --- the order, per column -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("day_first", [False, True])
@pytest.mark.parametrize(
    ("texts", "expected", "expected_notes", "order"),
    [
        (  # French: 28/11 and 30/11 can only be day first, so 01/12 is 1 December
            ["28/11/2026", "30/11/2026", "01/12/2026"],
            [D(2026, 11, 28), D(2026, 11, 30), D(2026, 12, 1)],
            [None, None, BY_COLUMN_DAY],
            DAY_FIRST,
        ),
        (  # times and zones after the dates do not stop them voting
            ["28/11/2026 17:00 CET", "30/11/2026 5 PM", "01/12/2026 09:00:00"],
            [D(2026, 11, 28), D(2026, 11, 30), D(2026, 12, 1)],
            [None, None, BY_COLUMN_DAY],
            DAY_FIRST,
        ),
        (  # US: 11/28 can only be month first, so 12/01 is 1 December
            ["11/28/2026", "12/01/2026"],
            [D(2026, 11, 28), D(2026, 12, 1)],
            [None, BY_COLUMN_MONTH],
            MONTH_FIRST,
        ),
        (  # dashed, two-digit years, a time after the date
            ["12-01-26 17:00", "11-30-26"],
            [D(2026, 12, 1), D(2026, 11, 30)],
            [BY_COLUMN_MONTH, None],
            MONTH_FIRST,
        ),
        (  # a worded cell with a slashed day and month follows the column too
            ["13/02/2026", "Mon 01/02/2026"],
            [D(2026, 2, 13), D(2026, 2, 1)],
            [None, BY_COLUMN_DAY],
            DAY_FIRST,
        ),
        (  # so does one with the numbers apart by spaces
            ["11/28/2026", "Mon 12 01 2026 5 PM"],
            [D(2026, 11, 28), D(2026, 12, 1)],
            [None, BY_COLUMN_MONTH],
            MONTH_FIRST,
        ),
        (  # the same number twice reads one way only: no vote, no note
            ["05/05/2026", "2026-11-03"],
            [D(2026, 5, 5), D(2026, 11, 3)],
            [None, None],
            NO_AMBIGUOUS,
        ),
    ],
)
def test_column_decides_the_order(
    texts: list[str], expected: list[D], expected_notes: list[str | None], order: str, day_first: bool
) -> None:
    """A column's unambiguous slashed dates decide its ambiguous ones, whatever the setting, and say so per cell."""
    column = read(texts, day_first=day_first)

    assert (dates(column), notes(column), column.order) == (expected, expected_notes, order)


@pytest.mark.parametrize(
    ("day_first", "expected", "note", "order", "decision"),
    [
        (
            False,
            [D(2026, 1, 2), D(2026, 3, 4), D(2026, 1, 2)],
            SETTING_OFF,
            MONTH_FIRST,
            "all 3 slashed dates are ambiguous (e.g. '01/02/2026'): read month first, as OFFBOARD_DAY_FIRST is off",
        ),
        (
            True,
            [D(2026, 2, 1), D(2026, 4, 3), D(2026, 2, 1)],
            SETTING_ON,
            DAY_FIRST,
            "all 3 slashed dates are ambiguous (e.g. '01/02/2026'): read day first, as OFFBOARD_DAY_FIRST is on",
        ),
    ],
)
def test_wholly_ambiguous_column_follows_the_setting(
    day_first: bool, expected: list[D], note: str, order: str, decision: str
) -> None:
    """Only a column with nothing but ambiguous slashed dates falls back to OFFBOARD_DAY_FIRST, noting each cell."""
    column = read(["01/02/2026", "03/04/2026", "01/02/2026"], day_first=day_first)

    assert (dates(column), notes(column), column.order, column.decision) == (expected, [note] * 3, order, decision)


@pytest.mark.parametrize(
    ("texts", "day_first", "expected", "expected_notes"),
    [
        (  # dotted dates are always day first and do not vote: 01/02 still follows the setting
            ["03.11.2026", "01/02/2026"],
            False,
            [D(2026, 11, 3), D(2026, 1, 2)],
            [None, SETTING_OFF],
        ),
        (  # nor do ISO or month-name dates
            ["2026-11-28", "28 Nov 2026", "01/02/2026"],
            True,
            [D(2026, 11, 28), D(2026, 11, 28), D(2026, 2, 1)],
            [None, None, SETTING_ON],
        ),
        (  # a worded ambiguous date with no vote follows the setting too, noted
            ["Mon 01 02 2026", "Tue, 03/02/2026 PST"],
            True,
            [D(2026, 2, 1), D(2026, 2, 3)],
            [SETTING_ON, SETTING_ON],
        ),
        (  # an impossible date votes for nothing (31 February is a typo, not a day-first column)
            ["31/02/2026", "01/03/2026"],
            False,
            [None, D(2026, 1, 3)],
            [None, SETTING_OFF],
        ),
    ],
)
def test_what_does_not_vote(texts: list[str], day_first: bool, expected: list[Any], expected_notes: list[Any]) -> None:
    """Dotted, ISO, month-name and impossible dates leave the order to the column's slashed dates or the setting."""
    column = read(texts, day_first=day_first)

    assert (dates(column), notes(column)) == (expected, expected_notes)


@pytest.mark.parametrize("day_first", [False, True])
def test_disagreeing_column_reads_no_ambiguous_date(day_first: bool) -> None:
    """When some dates can only be day first and others only month first, ambiguous ones are null with a note."""
    column = read(["13/02/2026", "02/13/2026", "01/02/2026", "2026-03-04"], day_first=day_first)

    assert dates(column) == [D(2026, 2, 13), D(2026, 2, 13), None, D(2026, 3, 4)]
    assert notes(column) == [None, None, DISAGREE_NOTE, None]
    assert column.order == DISAGREE
    assert column.decision == (
        "day and month disagree: 1 of 3 slashed dates (e.g. '13/02/2026') can only be day first,"
        " 1 (e.g. '02/13/2026') only month first; 1 ambiguous date left unread"
    )


def test_decision_counts_cells_and_names_an_example() -> None:
    """The run note counts the column's cells (repeats included) and quotes the first date that decided it."""
    day_first_only = [f"{day}/11/2026" for day in range(30, 12, -1)]  # 18 dates, 30/11 first
    column = read([*day_first_only, "30/11/2026", "01/12/2026", None, "2026-11-03"])

    assert column.decision == (
        "dates read day first: 19 of 20 slashed dates (e.g. '30/11/2026') can only be day first,"
        " so 1 ambiguous date read day first"
    )


def test_frame_keeps_rows_order_and_columns() -> None:
    """The output is the input frame, rows in order (nulls and repeats too), plus the date and note columns."""
    column = read(["01/12/2026", None, "30/11/2026", "01/12/2026"])

    assert column.frame.columns == ["row", "written", "date", "note"]
    assert column.frame.get_column("row").to_list() == [0, 1, 2, 3]
    assert dates(column) == [D(2026, 12, 1), None, D(2026, 11, 30), D(2026, 12, 1)]
    assert notes(column) == [BY_COLUMN_DAY, None, None, BY_COLUMN_DAY]


# --- the forms -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("day_first", [False, True])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nov 27, 2026 5:00 PM PST", D(2026, 11, 27)),
        ("Nov 27, 2026 11:30 PM PST", D(2026, 11, 27)),  # 28 November in UTC: the date as written wins
        ("27 Nov 2026 17:00 CET", D(2026, 11, 27)),
        ("Tue, 1 Dec 2026 00:30:00 +0900", D(2026, 12, 1)),  # 30 November in UTC
        ("Monday, November 30, 2026", D(2026, 11, 30)),
        ("3-Nov-2026", D(2026, 11, 3)),
        ("Dec 1st, 2026", D(2026, 12, 1)),
        ("2 déc. 2026", D(2026, 12, 2)),
        ("mardi 1 décembre 2026", D(2026, 12, 1)),
        ("3. Dezember 2026", D(2026, 12, 3)),
        ("Mo., 03.11.2026", D(2026, 11, 3)),  # dotted inside words: still day first, not ambiguous
        ("Montag, 30. November 2026", D(2026, 11, 30)),
        ("1. März 2026", D(2026, 3, 1)),
        ("1 de diciembre de 2026", D(2026, 12, 1)),
        ("12 januari 2026", D(2026, 1, 12)),
        ("1 mrt 2026", D(2026, 3, 1)),
        ("30 Nov 26", D(2026, 11, 30)),  # two-digit years are 20xx
        ("3 Nov 99", D(2099, 11, 3)),
        ("November 3, 1999", D(1999, 11, 3)),  # a year written in full stays
    ],
)
def test_worded_dates(text: str, expected: D, day_first: bool) -> None:
    """Month names, weekdays, times and zones in five languages give the calendar date as written, with no note."""
    assert one(text, day_first=day_first) == (expected, None)


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "today 5 PM",
        "in 2 days",
        "2 weeks ago",
        "next Friday",
        "gestern",
        "demain",
        "hace 2 días",
        "morgen",
    ],
)
def test_relative_words_refused(text: str) -> None:
    """Relative dates are not termination dates: null, so the row is held for a person."""
    assert one(text) == (None, None)


@pytest.mark.parametrize("day_first", [False, True])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("03.11.2026", D(2026, 11, 3)),  # German / SAP: day first whatever the setting
        ("3.4.26", D(2026, 4, 3)),
        ("3. 11. 2026", D(2026, 11, 3)),
        ("03.11.2026 17:45", D(2026, 11, 3)),
        ("46000", D(2025, 12, 9)),  # Excel serials
        ("46000.75", D(2025, 12, 9)),
        ("45658", D(2025, 1, 1)),
        ("2026-11-03 00:00:00", D(2026, 11, 3)),  # an Excel date cell as the reader renders it
        ("2026-11-03T23:30:00-08:00", D(2026, 11, 3)),
        ("2026-11-03T08:00:00.123Z", D(2026, 11, 3)),
        ("2026-11-03 17:45 CET", D(2026, 11, 3)),
        ("13/02/2026 11:30 PM PST", D(2026, 2, 13)),
        ("2026/11/03", D(2026, 11, 3)),
        ("20261103", D(2026, 11, 3)),
        ("13/02/2026", D(2026, 2, 13)),  # slashed, one way only
        ("02/13/2026", D(2026, 2, 13)),
    ],
)
def test_numeric_dates(text: str, expected: D, day_first: bool) -> None:
    """Dotted, serial, ISO and one-way slashed dates read the same under either setting, with no note."""
    assert one(text, day_first=day_first) == (expected, None)


@pytest.mark.parametrize(
    "text",
    [
        "31.02.2026",
        "13/13/2026",
        "31/04/2026",
        "00/05/2026",
        "2026-02-30",
        "20261301",
        "29 Feb 2026",
        "February 30, 2026",
        "30 février 2026",
        "Nov 2026",  # no day
        "2026-11-03 tbc",  # words after a date: a person decides
        "03.11.2026 (last day)",
        "13/02/2026 or later",
        "2026-11-03 cancelled",
        "1234",
        "soon, ask Bob",
    ],
)
def test_impossible_or_partial_dates_are_null(text: str) -> None:
    """Impossible dates and dates missing a part give null (the caller marks the row invalid and keeps the text)."""
    assert one(text) == (None, None)


# --- the cost ------------------------------------------------------------------------------------------------------


def junk(length: int, seed: int) -> str:
    """Random printable unicode (no surrogates), with digits and letters among it."""
    rng = random.Random(seed)
    return "".join(chr(rng.choice([rng.randrange(32, 0xD800), rng.randrange(0xE000, 0x10000)])) for _ in range(length))


def test_long_junk_is_null_quickly_and_never_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """10 kB junk strings are null with a note, fast, and dateparser never sees text over the length cap."""
    seen: list[str] = []
    original = DateDataParser.get_date_data

    def spy(self: DateDataParser, date_string: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(date_string)
        return original(self, date_string, *args, **kwargs)

    monkeypatch.setattr(DateDataParser, "get_date_data", spy)
    texts = [junk(10_000, seed) for seed in range(100)] + ["1 December 2026 " + "x" * 60]

    started = time.perf_counter()
    column = read(texts)
    elapsed = time.perf_counter() - started

    assert dates(column) == [None] * len(texts)
    assert notes(column)[:2] == ["not read as a date: 10000 characters long"] * 2
    assert all(len(text) <= MAX_PARSED_LENGTH for text in seen)
    assert elapsed < 2.0, elapsed


def test_dateparser_sees_each_unread_worded_text_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Numeric, ISO and serial cells stay on the vectorised path; a repeated month-name text is parsed once."""
    seen: list[str] = []
    original = DateDataParser.get_date_data

    def spy(self: DateDataParser, date_string: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(date_string)
        return original(self, date_string, *args, **kwargs)

    monkeypatch.setattr(DateDataParser, "get_date_data", spy)
    column = read(["2 déc. 2026", "2026-11-03 00:00:00", "46000", "28/11/2026", "2 déc. 2026", "no date", "03.11.2026"])

    assert seen == ["2 déc. 2026"]
    assert dates(column)[0] == dates(column)[4] == D(2026, 12, 2)


def test_the_column_reading_adds_only_the_date_and_note_columns() -> None:
    """The frame comes back with its own columns, then the date and the note, the dates decided per column."""
    frame = pl.DataFrame({"written": ["28/11/2026", "01/12/2026", "Nov 27, 2026 5:00 PM PST"]})

    result = read_date_column(frame, "written", date_column="date", note_column="note", day_first=False).frame

    assert result.columns == ["written", "date", "note"]
    assert result.get_column("date").to_list() == [D(2026, 11, 28), D(2026, 12, 1), D(2026, 11, 27)]
