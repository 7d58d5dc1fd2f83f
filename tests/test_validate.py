"""Whether a row may be terminated: login syntax, duplicates, the protected list, termination dates, then what Box
and the ledger say of its user."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from box_offboarding.columns import CONFIRMED_SCHEMA, HOLD_SCHEMA, INPUT_SCHEMA
from box_offboarding.errors import ConfigurationError
from box_offboarding.validate import check_box_users, check_rows, load_protected, skip_confirmed_earlier
from helpers import decided_rows, statuses

AS_OF = date(2026, 11, 29)
ADMIN_REASON = "Box admin (admins are protected)"


def rows(*records: dict[str, object]) -> pl.DataFrame:
    """An ingest frame; unspecified columns are null, positions follow the order given."""
    return decided_rows(*records, schema=INPUT_SCHEMA)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("  Ann.Lee@Example.COM ", "ann.lee@example.com"),
        ("\u00a0bob@example.com\u200b", "bob@example.com"),
        ("ZOË@example.com", "zoë@example.com"),
    ],
)
def test_login_is_trimmed_and_lowercased(written: str, expected: str) -> None:
    """Whitespace of every kind goes, case folds, the row stays undecided."""
    checked = check_rows(rows({"login_as_written": written}), as_of=AS_OF)
    assert checked.get_column("login").to_list() == [expected]
    assert statuses(checked) == [(None, None)]


@pytest.mark.parametrize(
    ("written", "reason_part"),
    [
        (None, "no login"),
        ("   ", "no login"),
        ("not-an-email", "@-sign"),
        ("a@@example.com", "invalid characters"),
        ('=HYPERLINK("x")@example.com', "not a valid email login"),
    ],
)
def test_invalid_logins(written: str | None, reason_part: str) -> None:
    """A missing or malformed login is invalid and the reason says which."""
    (status, reason), = statuses(check_rows(rows({"login_as_written": written}), as_of=AS_OF))  # fmt: skip
    assert status == "invalid"
    assert reason is not None
    assert reason_part in reason


def test_duplicate_names_first_occurrence_in_input_order() -> None:
    """The second and later copies (after normalising) are duplicates of the first, across files and sheets."""
    frame = rows(
        {"login_as_written": "ann@example.com", "file": "a.xlsx", "sheet": "Leavers", "row": 5},
        {"login_as_written": "bob@example.com"},
        {"login_as_written": " ANN@example.com", "file": "b.csv", "row": 9},
    )
    checked = check_rows(frame, as_of=AS_OF)
    assert statuses(checked) == [(None, None), (None, None), ("duplicate", "duplicate of a.xlsx sheet 'Leavers' row 5")]


@pytest.mark.parametrize(
    ("written", "login"),
    [
        ("mailto:Jane.Doe@Example.com", "jane.doe@example.com"),
        ("Jane Doe <jane@example.com>", "jane@example.com"),
        ("<jane@example.com>", "jane@example.com"),
        ("jane@example.com.", "jane@example.com"),
        ("jane@example.com;", "jane@example.com"),
        ('"jane@example.com"', "jane@example.com"),
        ("Jane <jane@example.com>, jane@example.com", "jane@example.com"),
    ],
)
def test_wrapped_login_is_extracted_and_noted(written: str, login: str) -> None:
    """The one address a cell holds is the login, undecided, and the input note says where it was taken from."""
    checked = check_rows(rows({"login_as_written": written}), as_of=AS_OF)
    assert checked.get_column("login").to_list() == [login]
    assert statuses(checked) == [(None, None)]
    assert checked.get_column("input_note").to_list() == [f"login taken from '{written}'"]


def test_plain_login_gets_no_note_and_apostrophes_stay() -> None:
    """A login that is its cell trimmed and lower-cased is not noted; o'brien@ keeps its apostrophe."""
    checked = check_rows(rows({"login_as_written": " O'Brien@Example.com "}), as_of=AS_OF)
    assert checked.get_column("login").to_list() == ["o'brien@example.com"]
    assert checked.get_column("input_note").to_list() == [None]


@pytest.mark.parametrize("written", ["a@example.com; b@example.com", "Ann <a@example.com> / Bob <b@example.com>"])
def test_two_addresses_in_one_cell_are_invalid(written: str) -> None:
    """Two different addresses in one cell: nobody can tell which person is meant."""
    (status, reason), = statuses(check_rows(rows({"login_as_written": written}), as_of=AS_OF))  # fmt: skip
    assert status == "invalid"
    assert reason == f"two addresses in one cell: '{written}'"


def test_first_usable_row_wins_over_an_earlier_invalid_one() -> None:
    """A valid row is not the duplicate of an earlier row with an unreadable date; a third copy is its duplicate."""
    frame = rows(
        {
            "login_as_written": "ann@example.com",
            "file": "a.xlsx",
            "row": 2,
            "termination_date_as_written": "31.02.2026",
        },
        {"login_as_written": "ann@example.com", "file": "b.csv", "row": 7, "termination_date": date(2026, 11, 1)},
        {"login_as_written": "ann@example.com", "file": "c.csv", "row": 3},
    )
    assert statuses(check_rows(frame, as_of=AS_OF)) == [
        ("invalid", "termination date not understood: 31.02.2026"),
        (None, None),
        ("duplicate", "duplicate of b.csv row 7"),
    ]


def test_people_listed_as_staying_are_held_before_duplicate_and_protected() -> None:
    """Every leaver row of a person a rehire sheet lists is held, with where; invalid still comes first."""
    frame = rows(
        {"login_as_written": "ann@example.com", "file": "hr.xlsx", "sheet": "Terminations", "row": 4},
        {"login_as_written": "ANN@example.com", "file": "hr.xlsx", "sheet": "Terminations", "row": 9},
        {"login_as_written": "bob@example.com", "termination_date_as_written": "soon"},
        {"login_as_written": "cy@example.com"},
    )
    holds = pl.DataFrame(
        [
            ("Ann@Example.com ", None, "hr.xlsx", "Rehires", 6, "rehired"),
            ("bob@example.com", None, "hr.xlsx", "Rehires", 7, "rehired"),
            ("ann@example.com", None, "hr.xlsx", "Transfers", 2, "transferred"),
        ],
        schema=HOLD_SCHEMA,
        orient="row",
    )
    checked = check_rows(frame, as_of=AS_OF, protected=frozenset({"ann@example.com"}), holds=holds)
    held = "listed as rehired in hr.xlsx sheet 'Rehires' row 6"
    assert statuses(checked) == [
        ("held", held),
        ("held", held),
        ("invalid", "termination date not understood: soon"),
        (None, None),
    ]


def test_deferred_when_date_after_as_of_and_due_on_the_day() -> None:
    """A future termination date waits; the as-of day itself and missing dates are due."""
    frame = rows(
        {"login_as_written": "a@example.com", "termination_date": date(2026, 11, 30)},
        {"login_as_written": "b@example.com", "termination_date": AS_OF},
        {"login_as_written": "c@example.com"},
    )
    checked = check_rows(frame, as_of=AS_OF)
    assert statuses(checked) == [
        ("deferred", "termination date 2026-11-30 is after 2026-11-29"),
        (None, None),
        (None, None),
    ]


def test_unreadable_date_is_invalid() -> None:
    """A date HR wrote but nobody can read is never guessed."""
    frame = rows({"login_as_written": "a@example.com", "termination_date_as_written": "31.31.2026"})
    assert statuses(check_rows(frame, as_of=AS_OF)) == [("invalid", "termination date not understood: 31.31.2026")]


def test_protected_list_beats_deferred_but_not_invalid_or_duplicate() -> None:
    """Precedence: invalid, duplicate, protected, deferred."""
    frame = rows(
        {"login_as_written": "ceo@example.com", "termination_date": date(2027, 1, 1)},
        {"login_as_written": "CEO@example.com"},
    )
    checked = check_rows(frame, as_of=AS_OF, protected=frozenset({"ceo@example.com"}))
    assert [status for status, _ in statuses(checked)] == ["protected", "duplicate"]


def test_load_protected_ignores_comments_and_case(tmp_path: Path) -> None:
    """One login a line, BOM, comments and blank lines tolerated, logins lower-cased."""
    path = tmp_path / "protected.txt"
    path.write_text("\ufeffCEO@Example.com  # the boss\n\n# all of IT\nit@example.com\n", encoding="utf-8")
    assert load_protected(path) == frozenset({"ceo@example.com", "it@example.com"})


def test_load_protected_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    """A protected list that cannot be read stops the run before anything is sent."""
    with pytest.raises(ConfigurationError, match="protected list"):
        load_protected(tmp_path / "absent.txt")


@pytest.mark.parametrize(
    ("user", "protect_admins", "expected"),
    [
        ({"box_user_id": None}, True, ("not_found", "no Box user has this login")),
        ({"box_user_id": "1", "box_role": "admin", "box_status": "active"}, True, ("protected", ADMIN_REASON)),
        ({"box_user_id": "1", "box_role": "coadmin", "box_status": "inactive"}, True,
         ("protected", "Box coadmin (admins are protected)")),
        ({"box_user_id": "1", "box_role": "admin", "box_status": "active"}, False, (None, None)),
        ({"box_user_id": "1", "box_role": "user", "box_status": "inactive"}, True, ("skipped", "inactive in Box")),
        ({"box_user_id": "1", "box_role": "user", "box_status": "active"}, True, (None, None)),
    ],
    ids=["unknown", "admin", "admin-before-inactive", "admins-not-protected", "inactive", "eligible"],
)  # fmt: skip
def test_box_users_decide_not_found_protected_skipped(
    user: dict[str, object], protect_admins: bool, expected: tuple[str | None, str | None]
) -> None:
    """What Box says of a user decides the row, in the order not found, admin, inactive."""
    checked = check_box_users(decided_rows({"login": "a@x.com", **user}), protect_admins=protect_admins)
    assert statuses(checked) == [expected]


def test_box_users_leave_decided_rows_alone() -> None:
    """A row already decided (a duplicate of an unknown login) keeps its status."""
    rows = decided_rows({"login": "a@x.com", "status": "duplicate", "reason": "duplicate of leavers.csv row 2"})
    assert statuses(check_box_users(rows, protect_admins=True)) == [("duplicate", "duplicate of leavers.csv row 2")]


def test_users_confirmed_earlier_are_skipped_naming_the_run() -> None:
    """Undecided rows of a user an earlier run confirmed are skipped with that run and date; others stay undecided."""
    rows = decided_rows({"box_user_id": "1"}, {"box_user_id": "2"}, {"box_user_id": "1", "status": "duplicate"})
    confirmed = pl.DataFrame(
        {
            "box_user_id": ["1"], "login": ["a@x.com"], "run_id": ["20261101-aaaa"], "request_id": ["r"],
            "event_id": ["e"], "confirmed_at": [datetime(2026, 11, 1, 23, 0, tzinfo=UTC)],
        },
        schema=CONFIRMED_SCHEMA,
    )  # fmt: skip
    skipped = skip_confirmed_earlier(rows, confirmed)
    assert statuses(skipped) == [
        ("skipped", "already confirmed in run 20261101-aaaa on 2026-11-01"),
        (None, None),
        ("duplicate", None),
    ]
    assert skipped.columns == rows.columns


def test_a_rehire_listed_by_employee_id_holds_rows_of_the_same_file_only() -> None:
    """A rehire with a new login is matched by employee id within the file that lists them; another file's E7 is
    another system's person."""
    frame = rows(
        {"login_as_written": "ann.old@example.com", "employee_id": " E7 ", "file": "hr.xlsx", "row": 3},
        {"login_as_written": "zed@example.com", "employee_id": "E7", "file": "other.csv", "row": 2},
    )
    holds = pl.DataFrame(
        [("ann.new@example.com", "e7", "hr.xlsx", "Rehires", 4, "rehired")], schema=HOLD_SCHEMA, orient="row"
    )
    assert statuses(check_rows(frame, as_of=AS_OF, holds=holds)) == [
        ("held", "listed as rehired in hr.xlsx sheet 'Rehires' row 4 (same employee id)"),
        (None, None),
    ]
