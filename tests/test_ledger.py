"""The SQLite ledger, on real files: schema, durability, pending/confirmed semantics, round-trips, crash recovery."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from box_offboarding import ledger as ledger_module
from box_offboarding.columns import CONFIRMATION_SCHEMA, INPUT_SCHEMA, RELOGIN_SCHEMA, RESULT_SCHEMA, ROW_SCHEMA
from box_offboarding.ledger import Ledger, LedgerError
from box_offboarding.statuses import RunStatus

T0 = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)
AS_OF = date(2026, 3, 2)


def at(minutes: float) -> datetime:
    """A UTC timestamp ``minutes`` after T0."""
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "dir" / "ledger.sqlite"


@pytest.fixture
def ledger(ledger_path: Path) -> Iterator[Ledger]:
    with Ledger(ledger_path) as opened:
        yield opened


def start(ledger: Ledger, run_id: str = "run-1", *, key: str = "key-1", minutes: float = 0) -> None:
    ledger.start_run(
        run_id=run_id, run_key=key, as_of=AS_OF, dry_run=False, started_at=at(minutes), settings={"batch_size": "100"}
    )


def request(
    ledger: Ledger,
    request_id: str,
    user_ids: Sequence[str],
    *,
    run_id: str = "run-1",
    minutes: float = 1,
    http_status: int | None = 202,
    logins: Sequence[str] | None = None,
) -> None:
    ledger.record_request(
        run_id=run_id,
        request_id=request_id,
        user_ids=user_ids,
        logins=[f"{user_id}@example.com" for user_id in user_ids] if logins is None else logins,
        http_status=http_status,
        attempts=1,
        sent_at=at(minutes),
        finished_at=at(minutes + 0.1),
        message=None,
    )


def events(*items: tuple[str, str, float], proves: float | None = None) -> pl.DataFrame:
    """A confirmations frame from (box_user_id, event_id, minutes after T0), each event proving the requests made
    up to ``proves`` minutes after T0 (default: up to the event itself)."""
    return pl.DataFrame(
        {
            "box_user_id": [user_id for user_id, _, _ in items],
            "event_id": [event_id for _, event_id, _ in items],
            "confirmed_at": [at(minutes) for _, _, minutes in items],
            "requested_at": [at(minutes if proves is None else proves) for _, _, minutes in items],
        },
        schema=CONFIRMATION_SCHEMA,
    )


def sample_rows(count: int) -> pl.DataFrame:
    """Rows with every INPUT+RESULT column, some nulls, UTC datetimes with microseconds."""
    index = pl.int_range(0, count, eager=True)
    base = pl.DataFrame({"input_index": index}).with_columns(
        pl.lit("leavers.xlsx").alias("file"),
        pl.when(pl.col("input_index") % 2 == 0).then(pl.lit("Sheet1")).alias("sheet"),
        (pl.col("input_index") + 2).alias("row"),
        pl.format("User{}@Example.com", "input_index").alias("login_as_written"),
        pl.format("Name {}", "input_index").alias("name"),
        pl.when(pl.col("input_index") % 3 == 0).then(pl.format("E{}", "input_index")).alias("employee_id"),
        pl.lit(date(2026, 2, 28)).alias("termination_date"),
        pl.lit("28/02/2026").alias("termination_date_as_written"),
        pl.when(pl.col("input_index") % 2 == 0).then(pl.lit("date order decided: day first")).alias("input_note"),
        pl.format("user{}@example.com", "input_index").alias("login"),
        pl.format("{}", pl.col("input_index") + 1000).alias("box_user_id"),
        pl.lit("active").alias("box_status"),
        pl.lit("user").alias("box_role"),
        pl.lit("pending").alias("status"),
        pl.lit(None, pl.String).alias("reason"),
        pl.lit("req-1").alias("request_id"),
        (pl.lit(datetime(2026, 3, 2, 22, 0, 0, 123456, tzinfo=UTC)) + pl.duration(seconds="input_index")).alias(
            "requested_at"
        ),
        pl.when(pl.col("input_index") % 2 == 1)
        .then(pl.lit(datetime(2026, 3, 2, 22, 5, tzinfo=UTC)))
        .alias("confirmed_at"),
        pl.lit(None, pl.String).alias("event_id"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("relogin_after_termination"),
    )
    return base.select([pl.col(name).cast(dtype) for name, dtype in ROW_SCHEMA.items()])


def test_schema_and_pragmas(ledger: Ledger, ledger_path: Path) -> None:
    """A new file gets its parent dirs, every table, WAL, foreign keys, FULL sync and the current schema version."""
    assert ledger_path.exists()
    connection = ledger._connection
    tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "input_rows", "requests", "request_users", "confirmations", "relogins"} <= tables
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert connection.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    assert connection.execute("PRAGMA user_version").fetchone()[0] == len(ledger_module.MIGRATIONS)


def test_every_foreign_key_is_indexed(ledger: Ledger) -> None:
    """Each foreign key's column leads an index; without one, recording 200,000 confirmations turns quadratic."""
    connection = ledger._connection
    tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        leading = {
            connection.execute(f"PRAGMA index_info('{index[1]}')").fetchone()[2]
            for index in connection.execute(f"PRAGMA index_list('{table}')")
        }
        for foreign_key in connection.execute(f"PRAGMA foreign_key_list('{table}')"):
            assert foreign_key[3] in leading, f"{table}.{foreign_key[3]} has no index"


def test_pending_migration_applied_on_open(ledger_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening an older file runs the missing migration steps and keeps the data."""
    with Ledger(ledger_path) as ledger:
        start(ledger)

    def add_notes_table(connection: sqlite3.Connection) -> None:
        connection.execute("CREATE TABLE notes (text TEXT)")

    shipped = len(ledger_module.MIGRATIONS)
    monkeypatch.setattr(ledger_module, "MIGRATIONS", [*ledger_module.MIGRATIONS, add_notes_table])
    with Ledger(ledger_path) as ledger:
        assert ledger._connection.execute("PRAGMA user_version").fetchone()[0] == shipped + 1
        ledger._connection.execute("SELECT count(*) FROM notes").fetchone()
        assert ledger.runs()["run_id"].to_list() == ["run-1"]


def test_newer_schema_refused(ledger_path: Path) -> None:
    """A file written by a newer version is refused, not silently misread."""
    Ledger(ledger_path).close()
    with sqlite3.connect(ledger_path) as connection:
        connection.execute(f"PRAGMA user_version = {len(ledger_module.MIGRATIONS) + 1}")
    with pytest.raises(LedgerError, match="newer"):
        Ledger(ledger_path)


def test_reopen_keeps_data(ledger_path: Path) -> None:
    """Runs, requests and confirmations survive closing and reopening the file."""
    with Ledger(ledger_path) as ledger:
        start(ledger)
        request(ledger, "req-1", ["1", "2"])
        ledger.record_confirmations(events(("1", "ev-1", 2)))
    with Ledger(ledger_path) as ledger:
        assert ledger.runs()["status"].to_list() == ["running"]
        assert ledger.requests()["user_count"].to_list() == [2]
        assert ledger.accepted()["box_user_id"].to_list() == ["2"]
        assert ledger.confirmed()["event_id"].to_list() == ["ev-1"]


def test_request_visible_to_second_connection_before_close(ledger: Ledger, ledger_path: Path) -> None:
    """A recorded request is committed at once: another Ledger and a raw connection see it while the first is open."""
    start(ledger)
    request(ledger, "req-1", ["1", "2", "3"])
    with Ledger(ledger_path) as other:
        assert other.accepted()["request_id"].to_list() == ["req-1"] * 3
    raw = sqlite3.connect(ledger_path)
    try:
        assert raw.execute("SELECT count(*) FROM request_users").fetchone()[0] == 3
    finally:
        raw.close()


@pytest.mark.parametrize(
    ("http_status", "accepted"),
    [(202, True), (200, True), (400, False), (429, False), (500, False), (None, False)],
)
def test_only_2xx_requests_make_users_pending(ledger: Ledger, http_status: int | None, accepted: bool) -> None:
    """Only a 2xx answer makes its users pending; every outcome is kept in requests()."""
    start(ledger)
    request(ledger, "req-1", ["1", "2"], http_status=http_status)
    assert (ledger.accepted().height == 2) is accepted
    recorded = ledger.requests("run-1").row(0, named=True)
    assert recorded["http_status"] == http_status
    assert recorded["sent_at"] == at(1)
    assert recorded["user_count"] == 2


def test_accepted_excludes_confirmed_and_keeps_latest_request(ledger: Ledger) -> None:
    """accepted() lists unconfirmed users once, with their latest accepted request, filtered by user id."""
    start(ledger)
    request(ledger, "req-1", ["1", "2", "3"], minutes=1)
    request(ledger, "req-2", ["3"], minutes=5)
    ledger.record_confirmations(events(("1", "ev-1", 2)))
    pending = ledger.accepted()
    assert pending.select("box_user_id", "login", "request_id").rows() == [
        ("2", "2@example.com", "req-1"),
        ("3", "3@example.com", "req-2"),
    ]
    assert pending.schema["requested_at"] == pl.Datetime("us", "UTC")
    assert pending.filter(pl.col("box_user_id") == "3")["requested_at"].item() == at(5)
    assert ledger.accepted(["1", "3", "99"])["box_user_id"].to_list() == ["3"]
    assert ledger.accepted([]).height == 0


@pytest.mark.parametrize(
    ("event_minutes", "confirmed_count"),
    [(0.5, 0), (1, 1), (2, 1)],
    ids=["before-request", "same-instant", "after-request"],
)
def test_confirmation_only_for_requests_made_before_event(
    ledger: Ledger, event_minutes: float, confirmed_count: int
) -> None:
    """An event confirms a request only when the request was made at or before the event."""
    start(ledger)
    request(ledger, "req-1", ["1"], minutes=1)
    assert ledger.record_confirmations(events(("1", "ev-1", event_minutes))) == confirmed_count
    assert ledger.confirmed().height == confirmed_count
    assert ledger.accepted().height == 1 - confirmed_count


def test_confirmations_idempotent_by_event_id(ledger: Ledger) -> None:
    """Recording the same event twice (even in one frame) confirms once and changes nothing the second time."""
    start(ledger)
    request(ledger, "req-1", ["1", "2"])
    batch = events(("1", "ev-1", 2), ("1", "ev-1", 2), ("9", "ev-9", 2))
    assert ledger.record_confirmations(batch) == 1
    first = ledger.confirmed()
    assert ledger.record_confirmations(batch) == 0
    assert_frame_equal(ledger.confirmed(), first)
    count = ledger._connection.execute("SELECT count(*) FROM confirmations").fetchone()[0]
    assert count == 2


def test_confirmation_updates_every_earlier_pending_link(ledger: Ledger) -> None:
    """One event confirms all pending links of its user requested before it, not a later one; earliest event wins."""
    start(ledger)
    request(ledger, "req-1", ["1"], minutes=1)
    request(ledger, "req-2", ["1"], minutes=2)
    request(ledger, "req-3", ["1"], minutes=10)
    assert ledger.record_confirmations(events(("1", "ev-late", 4), ("1", "ev-early", 3))) == 2
    links = ledger._connection.execute("SELECT request_id, event_id FROM request_users ORDER BY request_id").fetchall()
    assert links == [("req-1", "ev-early"), ("req-2", "ev-early"), ("req-3", None)]
    assert ledger.accepted()["request_id"].to_list() == ["req-3"]


def test_confirmed_by_login_and_user_id(ledger: Ledger) -> None:
    """confirmed() finds users by login or id and reports run, request, event and time of the confirmation."""
    start(ledger)
    request(ledger, "req-1", ["1", "2", "3"])
    ledger.record_confirmations(events(("1", "ev-1", 2), ("2", "ev-2", 3)))
    by_login = ledger.confirmed(logins=["2@example.com", "nobody@example.com"])
    assert by_login.rows() == [("2", "2@example.com", "run-1", "req-1", "ev-2", at(3))]
    assert ledger.confirmed(user_ids=["1"], logins=["2@example.com"])["box_user_id"].to_list() == ["1", "2"]
    assert ledger.confirmed(user_ids=["3"]).height == 0
    assert ledger.confirmed()["box_user_id"].to_list() == ["1", "2"]


def test_confirmed_returns_latest_confirmation_per_user(ledger: Ledger) -> None:
    """A user terminated (forced) and confirmed twice shows its latest confirmation only."""
    start(ledger, "run-1")
    request(ledger, "req-1", ["1"], minutes=1)
    ledger.record_confirmations(events(("1", "ev-1", 2)))
    ledger.finish_run("run-1", status=RunStatus.SUCCEEDED, finished_at=at(3), report_path=None, summary={})
    start(ledger, "run-2", key="key-2", minutes=60)
    request(ledger, "req-2", ["1"], run_id="run-2", minutes=61)
    ledger.record_confirmations(events(("1", "ev-2", 62)))
    assert ledger.confirmed().select("run_id", "event_id").rows() == [("run-2", "ev-2")]


def test_unfinished_run_lookup(ledger: Ledger) -> None:
    """find_unfinished_run returns the latest still-running run of that key, none once finished or for other keys."""
    start(ledger, "run-1", key="key-A", minutes=0)
    start(ledger, "run-2", key="key-A", minutes=5)
    start(ledger, "run-3", key="key-B", minutes=6)
    assert ledger.find_unfinished_run("key-A") == "run-2"
    ledger.finish_run("run-2", status=RunStatus.FAILED, finished_at=at(7), report_path="r.xlsx", summary={"n": 1})
    assert ledger.find_unfinished_run("key-A") == "run-1"
    ledger.finish_run("run-1", status=RunStatus.ABORTED, finished_at=at(8), report_path=None, summary={})
    assert ledger.find_unfinished_run("key-A") is None
    assert ledger.find_unfinished_run("key-C") is None
    runs = ledger.runs()
    assert runs.filter(pl.col("run_id") == "run-2").select("status", "report_path", "summary").row(0) == (
        "failed",
        "r.xlsx",
        '{"n": 1}',
    )
    assert runs.schema["as_of"] == pl.Date
    assert runs["dry_run"].to_list() == [False, False, False]


@pytest.mark.parametrize(
    ("status", "run_id", "error"),
    [
        (RunStatus.RUNNING, "run-1", ValueError),
        ("done", "run-1", ValueError),
        (RunStatus.SUCCEEDED, "run-404", LedgerError),
    ],
)
def test_finish_run_refuses_bad_status_or_unknown_run(
    ledger: Ledger, status: Any, run_id: str, error: type[Exception]
) -> None:
    """finish_run takes only a final status and a known run."""
    start(ledger)
    with pytest.raises(error):
        ledger.finish_run(run_id, status=status, finished_at=at(1), report_path=None, summary={})
    assert ledger.runs()["status"].to_list() == ["running"]


def test_start_run_again_resumes_only_a_running_run_of_same_key(ledger: Ledger) -> None:
    """Starting a running run again is a no-op; a finished run or another key is refused."""
    start(ledger, "run-1", key="key-A")
    start(ledger, "run-1", key="key-A", minutes=30)
    assert ledger.runs()["started_at"].to_list() == [at(0)]
    with pytest.raises(LedgerError):
        start(ledger, "run-1", key="key-B")
    ledger.finish_run("run-1", status=RunStatus.SUCCEEDED, finished_at=at(1), report_path=None, summary={})
    with pytest.raises(LedgerError):
        start(ledger, "run-1", key="key-A")


def test_rows_round_trip_with_dtypes(ledger: Ledger) -> None:
    """Rows come back with the same columns, dtypes, nulls and microsecond UTC datetimes, in input order."""
    start(ledger)
    rows = sample_rows(50)
    ledger.record_rows("run-1", rows.reverse())
    assert_frame_equal(ledger.rows("run-1"), rows)
    assert ledger.rows("run-2").schema == pl.Schema(ROW_SCHEMA)


def test_rows_upsert_by_input_index_and_fill_absent_results(ledger: Ledger) -> None:
    """Recording rows again replaces them by input_index; frames with only input columns store null results."""
    start(ledger)
    rows = sample_rows(4)
    ledger.record_rows("run-1", rows.select(list(INPUT_SCHEMA)))
    assert ledger.rows("run-1").select(list(RESULT_SCHEMA)).null_count().row(0) == (4,) * len(RESULT_SCHEMA)
    ledger.record_rows("run-1", rows.with_columns(pl.lit("confirmed").alias("status"), pl.lit(1).alias("extra")))
    stored = ledger.rows("run-1")
    assert stored.height == 4
    assert stored["status"].to_list() == ["confirmed"] * 4


def test_rows_datetimes_in_other_zones_stored_as_utc(ledger: Ledger) -> None:
    """A timezone-aware datetime in another zone is stored as the same instant in UTC; naive ones are refused."""
    start(ledger)
    paris = sample_rows(1).with_columns(pl.col("requested_at").dt.convert_time_zone("Europe/Paris"))
    ledger.record_rows("run-1", paris)
    assert ledger.rows("run-1")["requested_at"].item() == datetime(2026, 3, 2, 22, 0, 0, 123456, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        ledger.record_rows("run-1", sample_rows(1).with_columns(pl.col("requested_at").dt.replace_time_zone(None)))


def test_rows_require_input_columns(ledger: Ledger) -> None:
    """A frame without the input columns is refused."""
    start(ledger)
    with pytest.raises(ValueError, match="input columns"):
        ledger.record_rows("run-1", sample_rows(1).drop("login_as_written"))


@pytest.mark.parametrize(
    "sent_at",
    [datetime(2026, 3, 2, 22, 0), datetime(2026, 3, 2, 23, 0, tzinfo=timezone(timedelta(hours=1)))],
    ids=["naive", "plus-one-hour"],
)
def test_request_timestamps_must_be_aware_and_are_normalised(ledger: Ledger, sent_at: datetime) -> None:
    """Naive timestamps are refused; aware ones in any zone are stored as UTC."""
    start(ledger)
    record = {
        "run_id": "run-1", "request_id": "req-1", "user_ids": ["1"], "logins": [], "http_status": 202,
        "attempts": 1, "sent_at": sent_at, "finished_at": at(1), "message": None,
    }  # fmt: skip
    if sent_at.tzinfo is None:
        with pytest.raises(ValueError, match="naive"):
            ledger.record_request(**record)  # type: ignore[arg-type]
        return
    ledger.record_request(**record)  # type: ignore[arg-type]
    assert ledger.accepted().select("login", "requested_at").row(0) == (None, T0)


def test_request_logins_must_be_parallel(ledger: Ledger) -> None:
    """Logins that do not line up with user ids are refused and nothing is recorded."""
    start(ledger)
    with pytest.raises(ValueError, match="parallel"):
        request(ledger, "req-1", ["1", "2"], logins=["1@example.com"])
    assert ledger.requests().height == 0


def test_request_for_unknown_run_refused(ledger: Ledger) -> None:
    """Foreign keys hold: a request of a run that was never started is refused."""
    with pytest.raises(sqlite3.IntegrityError):
        request(ledger, "req-1", ["1"], run_id="ghost")


def test_relogins_idempotent(ledger: Ledger) -> None:
    """Re-login events are stored once per event id and read back by user."""
    frame = pl.DataFrame(
        {
            "box_user_id": ["2", "1", "1"],
            "relogin_event_id": ["e3", "e1", "e2"],
            "relogin_after_termination": [at(5), at(9), at(4)],
        },
        schema=RELOGIN_SCHEMA,
    )
    assert ledger.record_relogins(frame) == 3
    assert ledger.record_relogins(frame) == 0
    assert ledger.relogins().select("box_user_id", "relogin_event_id").rows() == [
        ("1", "e2"),
        ("1", "e1"),
        ("2", "e3"),
    ]
    assert ledger.relogins(["2"])["relogin_after_termination"].to_list() == [at(5)]


@pytest.mark.parametrize(
    "frame",
    [
        pl.DataFrame({"box_user_id": ["1"], "event_id": ["e1"], "requested_at": [T0]}),
        pl.DataFrame({"box_user_id": ["1"], "event_id": [None], "confirmed_at": [T0], "requested_at": [T0]}),
    ],
    ids=["missing-column", "null-event-id"],
)
def test_confirmations_refuse_incomplete_events(ledger: Ledger, frame: pl.DataFrame) -> None:
    """An events frame without a column or with nulls is refused."""
    with pytest.raises(ValueError, match="events"):
        ledger.record_confirmations(frame)


CRASHING_CHILD = textwrap.dedent(
    """
    import sys
    from datetime import UTC, date, datetime
    from pathlib import Path

    from box_offboarding.ledger import Ledger

    ledger = Ledger(Path(sys.argv[1]))
    now = datetime.now(UTC)
    ledger.start_run(run_id="run-crash", run_key="key-crash", as_of=date(2026, 3, 2), dry_run=False,
                     started_at=now, settings={})
    ledger.record_request(run_id="run-crash", request_id="req-crash", user_ids=["1", "2"], logins=[],
                          http_status=202, attempts=1, sent_at=now, finished_at=now, message=None)
    print("recorded", flush=True)
    sys.stdin.read()  # blocks until killed: the run is never finished
    """
)


def test_crash_after_request_leaves_request_and_running_run(ledger_path: Path) -> None:
    """A process SIGKILLed after recording a request leaves the request pending and its run findable as running."""
    with subprocess.Popen(  # leaving the block closes the pipes
        [sys.executable, "-c", CRASHING_CHILD, str(ledger_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "recorded"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with Ledger(ledger_path) as ledger:
        assert ledger.find_unfinished_run("key-crash") == "run-crash"
        assert ledger.runs()["status"].to_list() == ["running"]
        assert ledger.accepted()["box_user_id"].to_list() == ["1", "2"]
        assert ledger.requests("run-crash")["user_count"].to_list() == [2]


@pytest.mark.slow
def test_200k_rows_and_confirmations(ledger: Ledger) -> None:
    """A 200,000-row run records and reads back, and 200,000 confirmations apply, each in one transaction."""
    start(ledger)
    rows = sample_rows(200_000)
    ledger.record_rows("run-1", rows)
    assert_frame_equal(ledger.rows("run-1"), rows)
    user_ids = rows["box_user_id"].to_list()
    for first in range(0, len(user_ids), 1000):
        request(ledger, f"req-{first}", user_ids[first : first + 1000], logins=[])
    assert ledger.accepted(user_ids).height == 200_000
    confirmations = pl.DataFrame(
        {
            "box_user_id": user_ids,
            "event_id": [f"ev-{u}" for u in user_ids],
            "confirmed_at": [at(5)] * len(user_ids),
            "requested_at": [at(1)] * len(user_ids),
        }
    )
    assert ledger.record_confirmations(confirmations) == 200_000
    assert ledger.confirmed(user_ids=user_ids).height == 200_000


@pytest.mark.parametrize(("proves_minutes", "expected"), [(0.9, 0), (1, 1), (5, 1)])
def test_confirmation_proves_the_request_reconcile_matched(
    ledger: Ledger, proves_minutes: float, expected: int
) -> None:
    """The ledger takes reconcile's pairing as is: an event confirms the request it proves and earlier ones only,
    whatever its own time (the tolerance rule lives in reconcile)."""
    start(ledger)
    request(ledger, "req-1", ["u1"], minutes=1)
    confirmed = ledger.record_confirmations(events(("u1", "ev-1", 0.9), proves=proves_minutes))
    assert confirmed == expected


def test_version_1_ledger_migrates_keeping_its_data(ledger_path: Path) -> None:
    """A ledger written by version 1 (user_id columns, no input_note) opens with its requests, confirmations and
    rows intact."""
    ledger_path.parent.mkdir(parents=True)
    connection = sqlite3.connect(ledger_path, isolation_level=None)
    ledger_module.MIGRATIONS[0](connection)
    connection.execute("PRAGMA user_version = 1")
    connection.execute(
        "INSERT INTO runs (run_id, run_key, as_of, dry_run, status, started_at, settings)"
        " VALUES ('run-1', 'key-1', '2026-03-02', 0, 'running', '2026-03-02T22:00:00.000000Z', '{}')"
    )
    connection.execute(
        "INSERT INTO requests (request_id, run_id, http_status, attempts, sent_at, finished_at)"
        " VALUES ('req-1', 'run-1', 202, 1, '2026-03-02T22:01:00.000000Z', '2026-03-02T22:01:00.000000Z')"
    )
    connection.executemany(
        "INSERT INTO request_users (request_id, user_id, login, run_id, requested_at, accepted)"
        " VALUES ('req-1', ?, ?, 'run-1', '2026-03-02T22:01:00.000000Z', 1)",
        [("1", "1@example.com"), ("2", "2@example.com")],
    )
    connection.execute(
        "INSERT INTO input_rows (run_id, input_index, file, row, login_as_written, status)"
        " VALUES ('run-1', 0, 'leavers.csv', 2, '1@example.com', 'pending')"
    )
    connection.close()
    with Ledger(ledger_path) as ledger:
        assert ledger.accepted().select("box_user_id", "login").rows() == [
            ("1", "1@example.com"),
            ("2", "2@example.com"),
        ]
        assert ledger.record_confirmations(events(("1", "ev-1", 2))) == 1
        assert ledger.confirmed().select("box_user_id", "event_id").rows() == [("1", "ev-1")]
        kept = ledger.rows("run-1").select("file", "row", "login_as_written", "status", "input_note").rows()
        assert kept == [("leavers.csv", 2, "1@example.com", "pending", None)]
        assert ledger.approvals("run-1").is_empty()  # version 4's table, there and empty
        version = ledger._connection.execute("PRAGMA user_version").fetchone()[0]
    assert version == len(ledger_module.MIGRATIONS) == 4


def test_intent_is_in_flight_until_its_answer_settles_it(ledger: Ledger) -> None:
    """An intent lists its users as in flight; the answer that settles it replaces it in the same transaction."""
    start(ledger)
    ledger.record_intent(run_id="run-1", intent_id="intent-1", user_ids=["u1", "u2"], logins=[], sent_at=at(1))
    assert ledger.in_flight().get_column("box_user_id").to_list() == ["u1", "u2"]
    assert ledger.accepted().is_empty()
    ledger.record_request(
        run_id="run-1", request_id="box-req-9", user_ids=["u1", "u2"], logins=[], http_status=202, attempts=1,
        sent_at=at(1), finished_at=at(1.1), message=None, settles="intent-1",
    )  # fmt: skip
    assert ledger.in_flight().is_empty()
    assert ledger.requests().get_column("request_id").to_list() == ["box-req-9"]
    assert ledger.accepted().get_column("request_id").to_list() == ["box-req-9", "box-req-9"]


def test_new_ledger_file_is_owner_only(tmp_path: Path) -> None:
    """The ledger holds personal data: created 0600 (and so are SQLite's -wal/-shm files) whatever the umask."""
    previous = os.umask(0o022)
    try:
        with Ledger(tmp_path / "ledger.sqlite") as opened:
            start(opened)
            files = sorted(tmp_path.glob("ledger.sqlite*"))
            modes = {path.name: path.stat().st_mode & 0o777 for path in files}
    finally:
        os.umask(previous)
    assert modes["ledger.sqlite"] == 0o600
    assert set(modes.values()) == {0o600}, modes
