"""The SQLite ledger: the audit trail of every run and the product's memory across runs.

It records runs, the input rows with their statuses, every termination request (one batch sent to
``POST /2.0/users/terminate_sessions``) with its outcome, the admin events that confirm a termination, and the
sign-ins seen after one. Because a request is committed before the pipeline moves on, a run killed at any point
(SIGKILL included) leaves a ledger from which the next run knows who was already sent (*pending*) and who was
already proven terminated (*confirmed*).

Storage choices:

- stdlib :mod:`sqlite3`, one file, WAL journal (a reader such as the reconcile flow never blocks the writer),
  ``synchronous=FULL`` (a committed request survives a power cut), foreign keys on, a busy timeout for the
  rare moment two processes write.
- Timestamps are stored as fixed-width UTC text (``2026-01-02T03:04:05.000000Z``): readable in the ``sqlite3``
  shell and ordered correctly by plain text comparison. Dates are ``YYYY-MM-DD``.
- The schema version lives in ``PRAGMA user_version``; :data:`MIGRATIONS` holds one step per version.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import polars as pl

from box_offboarding.columns import (
    ACCEPTED_SCHEMA,
    APPROVAL_SCHEMA,
    CONFIRMATION_SCHEMA,
    CONFIRMED_SCHEMA,
    INPUT_SCHEMA,
    RELOGIN_SCHEMA,
    REQUEST_SCHEMA,
    ROW_SCHEMA,
    RUN_SCHEMA,
)
from box_offboarding.errors import OffboardingError
from box_offboarding.statuses import RunStatus

_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # Python's spelling
_POLARS_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%.6fZ"  # the same format in polars' (chrono's) spelling
_DATE_FORMAT = "%Y-%m-%d"

#: Message of a request recorded before sending (see :meth:`Ledger.record_intent`).
IN_FLIGHT_MESSAGE = "sent; no answer recorded (in flight)"


FINISHED_RUN_STATUSES = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.ABORTED})


def run_key(paths: Sequence[Path], *, as_of: date, dry_run: bool, shard: tuple[int, int] = (0, 1)) -> str:
    """Same inputs, as-of date, mode and shard: same key. Lets a rerun after a crash find the interrupted run
    (:meth:`Ledger.find_unfinished_run`)."""
    digest = hashlib.sha256(f"{as_of.isoformat()}|{dry_run}|{shard[0]}/{shard[1]}".encode())
    for path in paths:
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest() if path.is_file() else b"missing")
    return digest.hexdigest()


class LedgerError(OffboardingError):
    """The ledger file cannot be used as asked (written by a newer version, unknown run, run already finished)."""


#: The input-row columns version 1 created, frozen: later columns are added by their own migration step.
_V1_ROW_COLUMNS = (
    "input_index INTEGER",
    "file TEXT",
    "sheet TEXT",
    "row INTEGER",
    "login_as_written TEXT",
    "name TEXT",
    "employee_id TEXT",
    "termination_date TEXT",
    "termination_date_as_written TEXT",
    "login TEXT",
    "box_user_id TEXT",
    "box_status TEXT",
    "box_role TEXT",
    "status TEXT",
    "reason TEXT",
    "request_id TEXT",
    "requested_at TEXT",
    "confirmed_at TEXT",
    "event_id TEXT",
    "relogin_after_termination TEXT",
)


def _create_schema_v1(connection: sqlite3.Connection) -> None:
    """Version 1: runs, input rows, requests with one link per user, confirmations, re-logins."""
    row_columns = ",\n".join(f"    {column}" for column in _V1_ROW_COLUMNS)
    statements = (
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            run_key TEXT NOT NULL,
            as_of TEXT NOT NULL,
            dry_run INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
            status TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            report_path TEXT,
            settings TEXT NOT NULL,
            summary TEXT
        )""",
        "CREATE INDEX runs_by_key ON runs (run_key, status)",
        f"""CREATE TABLE input_rows (
            run_id TEXT NOT NULL REFERENCES runs (run_id),
{row_columns},
            PRIMARY KEY (run_id, input_index)
        )""",
        """CREATE TABLE requests (
            request_id TEXT PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs (run_id),
            http_status INTEGER,
            attempts INTEGER NOT NULL,
            sent_at TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            message TEXT
        )""",
        "CREATE INDEX requests_by_run ON requests (run_id)",
        """CREATE TABLE confirmations (
            event_id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            confirmed_at TEXT NOT NULL
        )""",
        "CREATE INDEX confirmations_by_user ON confirmations (user_id)",
        # One row per user of a request. ``accepted`` (a 2xx answer) makes it a link the pipeline relies on;
        # ``event_id``/``confirmed_at`` are filled when an admin event proves the termination.
        """CREATE TABLE request_users (
            request_id TEXT NOT NULL REFERENCES requests (request_id),
            user_id TEXT NOT NULL,
            login TEXT,
            run_id TEXT NOT NULL REFERENCES runs (run_id),
            requested_at TEXT NOT NULL,
            accepted INTEGER NOT NULL CHECK (accepted IN (0, 1)),
            event_id TEXT REFERENCES confirmations (event_id) DEFERRABLE INITIALLY DEFERRED,
            confirmed_at TEXT,
            PRIMARY KEY (request_id, user_id)
        )""",
        "CREATE INDEX request_users_by_user ON request_users (user_id, requested_at)",
        "CREATE INDEX request_users_by_login ON request_users (login)",
        "CREATE INDEX request_users_by_run ON request_users (run_id)",
        # Needed by the foreign key: inserting an event looks up the links that point at it.
        "CREATE INDEX request_users_by_event ON request_users (event_id)",
        """CREATE TABLE relogins (
            event_id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            login_at TEXT NOT NULL
        )""",
        "CREATE INDEX relogins_by_user ON relogins (user_id)",
    )
    for statement in statements:
        connection.execute(statement)


def _name_box_user_id_v2(connection: sqlite3.Connection) -> None:
    """Version 2: a Box user is ``box_user_id`` in every table, as in every frame and the report."""
    for table in ("request_users", "confirmations", "relogins"):
        connection.execute(f"ALTER TABLE {table} RENAME COLUMN user_id TO box_user_id")


def _add_input_note_v3(connection: sqlite3.Connection) -> None:
    """Version 3: each input row keeps ``input_note``, how ingest and validation read its cells."""
    connection.execute("ALTER TABLE input_rows ADD COLUMN input_note TEXT")


def _add_approvals_v4(connection: sqlite3.Connection) -> None:
    """Version 4: a person's decision on a run's plan before anything was sent (issue 10's approval step)."""
    connection.execute(
        """CREATE TABLE approvals (
            run_id TEXT NOT NULL REFERENCES runs (run_id),
            decided_at TEXT NOT NULL,
            approved INTEGER NOT NULL CHECK (approved IN (0, 1)),
            approver TEXT NOT NULL,
            comment TEXT NOT NULL,
            why TEXT,
            fingerprint TEXT NOT NULL,
            PRIMARY KEY (run_id, decided_at)
        )"""
    )


#: Schema migrations: step ``i`` takes a ledger from version ``i`` to ``i + 1`` (inside one transaction).
#: Add a step here (never edit a shipped one) to change the schema; opening an older file applies the rest.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _create_schema_v1,
    _name_box_user_id_v2,
    _add_input_note_v3,
    _add_approvals_v4,
]


class Ledger:
    """The ledger file, opened for one process. Usable as a context manager; safe to share between threads."""

    def __init__(self, path: Path | str, *, busy_timeout_seconds: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():  # owner-only, like the reports: it holds the same personal data
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))  # SQLite gives -wal/-shm the same mode
        # Transactions are explicit (BEGIN IMMEDIATE ... COMMIT), so the module's implicit ones are turned off.
        self._connection = sqlite3.connect(
            self.path, timeout=busy_timeout_seconds, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.RLock()
        try:
            self._connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_seconds * 1000)}")
            self._connection.execute("PRAGMA journal_mode = WAL")
            self._connection.execute("PRAGMA synchronous = FULL")
            self._connection.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except BaseException:
            self._connection.close()
            raise

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (idempotent). Committed data is already on disk."""
        with self._lock:
            self._connection.close()

    # runs

    def start_run(
        self,
        *,
        run_id: str,
        run_key: str,
        as_of: date,
        dry_run: bool,
        started_at: datetime,
        settings: Mapping[str, str],
    ) -> None:
        """Create the run row, status ``running``. ``settings`` is stored as JSON: pass no secrets.

        Starting again a run that is still ``running`` under the same key (a resumed run) keeps the original row.
        """
        with self._transaction() as connection:
            existing = connection.execute("SELECT run_key, status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if existing is not None:
                if existing != (run_key, RunStatus.RUNNING):
                    raise LedgerError(f"run {run_id} already exists (status {existing[1]}) and cannot be started again")
                return
            connection.execute(
                "INSERT INTO runs (run_id, run_key, as_of, dry_run, status, started_at, settings)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    run_key,
                    as_of.isoformat(),
                    int(dry_run),
                    RunStatus.RUNNING.value,
                    _timestamp_text(started_at),
                    json.dumps(dict(settings), sort_keys=True),
                ),
            )

    def find_unfinished_run(self, run_key: str) -> str | None:
        """The id of the latest run with this key still marked ``running`` (it crashed, or is running now)."""
        row = self._fetch(
            "SELECT run_id FROM runs WHERE run_key = ? AND status = ? ORDER BY started_at DESC, rowid DESC LIMIT 1",
            (run_key, RunStatus.RUNNING.value),
        )
        return str(row[0][0]) if row else None

    def finish_run(
        self,
        run_id: str,
        *,
        status: RunStatus,
        finished_at: datetime,
        report_path: str | None,
        summary: Mapping[str, object],
    ) -> None:
        """Mark a run finished (``succeeded``, ``failed`` or ``aborted``) with its report path and summary (JSON)."""
        if status not in FINISHED_RUN_STATUSES:
            raise ValueError(f"a run finishes as one of {sorted(FINISHED_RUN_STATUSES)}, not {status!r}")
        with self._transaction() as connection:
            updated = connection.execute(
                "UPDATE runs SET status = ?, finished_at = ?, report_path = ?, summary = ? WHERE run_id = ?",
                (status, _timestamp_text(finished_at), report_path, json.dumps(summary, default=str), run_id),
            ).rowcount
            if updated == 0:
                raise LedgerError(f"run {run_id} is not in the ledger")

    def record_approval(
        self,
        run_id: str,
        *,
        approved: bool,
        approver: str,
        comment: str,
        why: str | None,
        fingerprint: str,
        decided_at: datetime,
    ) -> None:
        """Keep a person's decision on a run's plan (or that nobody decided in time)."""
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO approvals (run_id, decided_at, approved, approver, comment, why, fingerprint)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, _timestamp_text(decided_at), int(approved), approver, comment, why, fingerprint),
            )

    def approvals(self, run_id: str) -> pl.DataFrame:
        """The decisions taken on a run's plan, oldest first (see :data:`APPROVAL_SCHEMA`)."""
        columns = ", ".join(APPROVAL_SCHEMA)
        return self._frame(
            f"SELECT {columns} FROM approvals WHERE run_id = ? ORDER BY decided_at", (run_id,), APPROVAL_SCHEMA
        )

    def runs(self) -> pl.DataFrame:
        """Every run, oldest first (see :data:`RUN_SCHEMA`)."""
        columns = ", ".join(RUN_SCHEMA)
        return self._frame(f"SELECT {columns} FROM runs ORDER BY started_at, rowid", (), RUN_SCHEMA)

    # input rows

    def record_rows(self, run_id: str, rows: pl.DataFrame) -> None:
        """Upsert a run's rows by ``(run_id, input_index)``, in one transaction.

        ``rows`` must hold the :data:`~box_offboarding.columns.INPUT_SCHEMA` columns; absent
        :data:`~box_offboarding.columns.RESULT_SCHEMA` columns are stored as null; other columns are ignored.
        """
        missing = [name for name in INPUT_SCHEMA if name not in rows.columns]
        if missing:
            raise ValueError(f"rows lack the input columns {missing}")
        values = _frame_to_sql(rows, ROW_SCHEMA)
        names = ", ".join(ROW_SCHEMA)
        placeholders = ", ".join("?" * (len(ROW_SCHEMA) + 1))
        updates = ", ".join(f"{name} = excluded.{name}" for name in ROW_SCHEMA if name != "input_index")
        with self._transaction() as connection:
            connection.executemany(
                f"INSERT INTO input_rows (run_id, {names}) VALUES ({placeholders})"
                f" ON CONFLICT (run_id, input_index) DO UPDATE SET {updates}",
                ((run_id, *row) for row in values.iter_rows()),
            )

    def rows(self, run_id: str) -> pl.DataFrame:
        """A run's rows in input order, with the INPUT + RESULT columns and dtypes."""
        columns = ", ".join(ROW_SCHEMA)
        return self._frame(
            f"SELECT {columns} FROM input_rows WHERE run_id = ? ORDER BY input_index", (run_id,), ROW_SCHEMA
        )

    # termination requests

    def record_request(
        self,
        *,
        run_id: str,
        request_id: str,
        user_ids: Sequence[str],
        logins: Sequence[str],
        http_status: int | None,
        attempts: int,
        sent_at: datetime,
        finished_at: datetime,
        message: str | None,
        settles: str | None = None,
    ) -> None:
        """Durably record one terminate-sessions call and the users it carried (committed before returning).

        ``settles`` names the intent (see :meth:`record_intent`) this answer replaces, in the same transaction.

        ``logins`` is parallel to ``user_ids`` (or empty). ``http_status`` None means no answer was ever received.
        A 2xx answer makes each user's link *accepted*, with ``requested_at = sent_at``: ``sent_at`` is the first
        attempt, so it is never later than the call Box acted on, and events after it may confirm it.
        Recording the same ``request_id`` again updates it and keeps confirmations already made.
        """
        if logins and len(logins) != len(user_ids):
            raise ValueError(f"{len(logins)} logins for {len(user_ids)} user ids: pass them in parallel, or none")
        requested_at = _timestamp_text(sent_at)
        accepted = int(http_status is not None and 200 <= http_status < 300)
        user_logins: Sequence[str | None] = logins or [None] * len(user_ids)
        with self._transaction() as connection:
            if settles is not None and settles != request_id:
                connection.execute("DELETE FROM request_users WHERE request_id = ?", (settles,))
                connection.execute("DELETE FROM requests WHERE request_id = ?", (settles,))
            connection.execute(
                "INSERT INTO requests (request_id, run_id, http_status, attempts, sent_at, finished_at, message)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id) DO UPDATE SET run_id = excluded.run_id,"
                " http_status = excluded.http_status, attempts = excluded.attempts, sent_at = excluded.sent_at,"
                " finished_at = excluded.finished_at, message = excluded.message",
                (request_id, run_id, http_status, attempts, requested_at, _timestamp_text(finished_at), message),
            )
            connection.executemany(
                "INSERT INTO request_users (request_id, box_user_id, login, run_id, requested_at, accepted)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (request_id, box_user_id)"
                " DO UPDATE SET login = excluded.login,"
                " run_id = excluded.run_id, requested_at = excluded.requested_at, accepted = excluded.accepted",
                (
                    (request_id, box_user_id, login, run_id, requested_at, accepted)
                    for box_user_id, login in zip(user_ids, user_logins, strict=True)
                ),
            )

    def record_intent(
        self, *, run_id: str, intent_id: str, user_ids: Sequence[str], logins: Sequence[str], sent_at: datetime
    ) -> None:
        """Durably note that a request is about to be sent (``attempts`` 0, no answer).

        If the process dies before the answer is recorded, :meth:`in_flight` lists these users, so a resumed run
        can look for Box's admin events before deciding to send them again.
        """
        self.record_request(
            run_id=run_id, request_id=intent_id, user_ids=user_ids, logins=logins, http_status=None, attempts=0,
            sent_at=sent_at, finished_at=sent_at, message=IN_FLIGHT_MESSAGE,
        )  # fmt: skip

    def in_flight(self, run_id: str | None = None) -> pl.DataFrame:
        """Users of requests sent but never answered (the process died in between): ``ACCEPTED_SCHEMA`` columns."""
        return self._frame(
            "SELECT u.box_user_id, u.login, u.request_id, u.run_id, u.requested_at FROM request_users AS u"
            " JOIN requests AS r ON r.request_id = u.request_id"
            " WHERE r.attempts = 0 AND (?1 IS NULL OR r.run_id = ?1) ORDER BY u.requested_at, u.box_user_id",
            (run_id,),
            ACCEPTED_SCHEMA,
        )

    def requests(self, run_id: str | None = None) -> pl.DataFrame:
        """Requests (of one run, or all), in sending order, with how many users each carried."""
        return self._frame(
            "SELECT r.request_id, r.run_id, r.http_status, r.attempts, r.sent_at, r.finished_at, r.message,"
            " (SELECT count(*) FROM request_users AS u WHERE u.request_id = r.request_id)"
            " FROM requests AS r WHERE ?1 IS NULL OR r.run_id = ?1 ORDER BY r.sent_at, r.request_id",
            (run_id,),
            REQUEST_SCHEMA,
        )

    def accepted(self, user_ids: Sequence[str] | None = None) -> pl.DataFrame:
        """Pending users: one row per user with an accepted, unconfirmed request (the latest such request).

        ``user_ids`` limits the answer to those users; None means every pending user.
        """
        return self._frame(
            "SELECT box_user_id, login, request_id, run_id, requested_at FROM ("
            " SELECT box_user_id, login, request_id, run_id, requested_at, row_number() OVER"
            "  (PARTITION BY box_user_id ORDER BY requested_at DESC, request_id DESC) AS recency"
            " FROM request_users WHERE accepted = 1 AND event_id IS NULL"
            "  AND (?1 IS NULL OR box_user_id IN (SELECT value FROM json_each(?1)))"
            ") WHERE recency = 1 ORDER BY box_user_id",
            (_json_list(user_ids),),
            ACCEPTED_SCHEMA,
        )

    # confirmations

    def record_confirmations(self, confirmations: pl.DataFrame) -> int:
        """Record admin events that prove terminations; return how many pending links they confirmed.

        Columns of :data:`~box_offboarding.columns.CONFIRMATION_SCHEMA`: each event with the request it proves
        (by ``requested_at``; :mod:`~box_offboarding.reconcile` decides which event proves which request). An event
        confirms that pending link of its user and every earlier one; the earliest event wins. An event already in
        the ledger is ignored, so recording the same events twice changes nothing.
        """
        events = (
            _events_to_sql(confirmations, CONFIRMATION_SCHEMA)
            .unique(subset="event_id", keep="first", maintain_order=True)
            .sort("confirmed_at", "event_id")  # fixed-width UTC text sorts chronologically
        )
        with self._transaction() as connection:
            # Links first, while "the event is new" can still be read from the table; then the events themselves.
            confirmed = connection.executemany(
                "UPDATE request_users SET event_id = ?2, confirmed_at = ?3"
                " WHERE box_user_id = ?1 AND accepted = 1 AND event_id IS NULL AND requested_at <= ?4"
                " AND NOT EXISTS (SELECT 1 FROM confirmations WHERE event_id = ?2)",
                events.iter_rows(),
            ).rowcount
            connection.executemany(
                "INSERT INTO confirmations (box_user_id, event_id, confirmed_at) VALUES (?, ?, ?)"
                " ON CONFLICT (event_id) DO NOTHING",
                events.select("box_user_id", "event_id", "confirmed_at").iter_rows(),
            )
        return max(confirmed, 0)

    def confirmed(self, *, user_ids: Sequence[str] | None = None, logins: Sequence[str] | None = None) -> pl.DataFrame:
        """Confirmed users: one row per user, its latest confirmation.

        With ``user_ids`` and/or ``logins`` (the normalised ``login`` column), users matching any of them;
        with neither, every confirmed user.
        """
        return self._frame(
            "SELECT box_user_id, login, run_id, request_id, event_id, confirmed_at FROM ("
            " SELECT box_user_id, login, run_id, request_id, event_id, confirmed_at, row_number() OVER"
            "  (PARTITION BY box_user_id ORDER BY confirmed_at DESC, requested_at DESC, request_id DESC) AS recency"
            " FROM request_users WHERE event_id IS NOT NULL AND ((?1 IS NULL AND ?2 IS NULL)"
            "  OR box_user_id IN (SELECT value FROM json_each(?1)) OR login IN (SELECT value FROM json_each(?2)))"
            ") WHERE recency = 1 ORDER BY box_user_id",
            (_json_list(user_ids), _json_list(logins)),
            CONFIRMED_SCHEMA,
        )

    # re-logins

    def record_relogins(self, relogins: pl.DataFrame) -> int:
        """Record sign-ins after termination (:data:`~box_offboarding.columns.RELOGIN_SCHEMA`); return how many
        were new."""
        events = _events_to_sql(relogins, RELOGIN_SCHEMA)
        with self._transaction() as connection:
            inserted = connection.executemany(
                "INSERT INTO relogins (box_user_id, event_id, login_at) VALUES (?, ?, ?)"
                " ON CONFLICT (event_id) DO NOTHING",
                events.iter_rows(),
            ).rowcount
        return max(inserted, 0)

    def relogins(self, user_ids: Sequence[str] | None = None) -> pl.DataFrame:
        """Recorded sign-ins (of these users, or all), by user then time."""
        return self._frame(
            "SELECT box_user_id, event_id, login_at FROM relogins"
            " WHERE ?1 IS NULL OR box_user_id IN (SELECT value FROM json_each(?1))"
            " ORDER BY box_user_id, login_at, event_id",
            (_json_list(user_ids),),
            RELOGIN_SCHEMA,
        )

    # plumbing

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taking the write lock up front so it never fails half-way on a busy file."""
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def _fetch(self, sql: str, parameters: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._connection.execute(sql, parameters).fetchall()

    def _frame(self, sql: str, parameters: Sequence[Any], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
        return _frame_from_sql(self._fetch(sql, parameters), schema)

    def _migrate(self) -> None:
        with self._transaction() as connection:
            version: int = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise LedgerError(
                    f"{self.path} has schema version {version}, newer than this program's {len(MIGRATIONS)}"
                )
            for target, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                migration(connection)
                connection.execute(f"PRAGMA user_version = {target}")


def _sql_type(dtype: pl.DataType) -> str:
    return "INTEGER" if dtype.is_integer() or dtype == pl.Boolean() else "TEXT"


def _timestamp_text(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"timestamps must be timezone-aware (got naive {value.isoformat()})")
    return value.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)


def _json_list(values: Sequence[str] | None) -> str | None:
    """A filter list as one JSON parameter (read with ``json_each``), so any length fits in one statement."""
    return None if values is None else json.dumps(list(values))


def _events_to_sql(frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """An events frame for SQLite: every column of ``schema`` present and never null."""
    if missing := [name for name in schema if name not in frame.columns]:
        raise ValueError(f"events lack the columns {missing}")
    events = _frame_to_sql(frame, schema)
    if nulls := [name for name in schema if events[name].null_count()]:
        raise ValueError(f"events have nulls in {nulls}")
    return events


def _frame_to_sql(frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """``frame`` cast to ``schema`` and turned into SQLite's types (timestamps and dates as text).

    Absent columns become null. Datetimes must be timezone-aware; they are stored in UTC.
    """
    expressions = []
    for name, dtype in schema.items():
        column = pl.col(name) if name in frame.columns else pl.lit(None, dtype)
        actual = frame.schema.get(name)
        if isinstance(dtype, pl.Datetime):
            if isinstance(actual, pl.Datetime):
                if actual.time_zone is None:
                    raise ValueError(f"column {name!r} holds naive datetimes; timestamps must be timezone-aware")
                column = column.dt.convert_time_zone("UTC")
            column = column.cast(dtype).dt.to_string(_POLARS_TIMESTAMP_FORMAT)
        elif isinstance(dtype, pl.Date):
            column = column.cast(dtype).dt.to_string(_DATE_FORMAT)
        elif dtype == pl.Boolean():
            column = column.cast(dtype).cast(pl.Int64())
        else:
            column = column.cast(dtype)
        expressions.append(column.alias(name))
    return frame.select(expressions)


def _frame_from_sql(rows: list[tuple[Any, ...]], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Rows fetched from SQLite as a frame of ``schema`` (parsing the text timestamps and dates back)."""

    def stored_type(dtype: pl.DataType) -> pl.DataType:
        if isinstance(dtype, pl.Datetime | pl.Date):
            return pl.String()
        return pl.Int64() if dtype == pl.Boolean() else dtype

    raw = pl.DataFrame(rows, schema={name: stored_type(dtype) for name, dtype in schema.items()}, orient="row")
    expressions = []
    for name, dtype in schema.items():
        if isinstance(dtype, pl.Datetime):
            expressions.append(
                pl.col(name).str.to_datetime(_POLARS_TIMESTAMP_FORMAT, time_zone="UTC", time_unit=dtype.time_unit)
            )
        elif isinstance(dtype, pl.Date):
            expressions.append(pl.col(name).str.to_date(_DATE_FORMAT))
        else:
            expressions.append(pl.col(name).cast(dtype))
    return raw.select(expressions)
