"""The in-memory Box: directory, tokens, per-caller rate windows, termination jobs, admin events, uploads, counters.

Everything here is plain Python, guarded by one lock, and knows nothing of HTTP: the HTTP layer (:mod:`.app`) is
built on top of it and runs on uvicorn's loop thread while tests and benchmarks read the same object from theirs.
Randomness (faults, short pages, event ids) comes from one generator seeded with ``config.seed``, so a run is
reproducible for the same sequence of requests.
"""

from __future__ import annotations

import hashlib
import math
import random
import secrets
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from box_offboarding.simulator import bodies
from box_offboarding.simulator.config import SimulatorConfig
from box_offboarding.simulator.directory import (
    Directory,
    DirectoryUser,
    generate_directory,
    generate_external_users,
    load_directory,
    service_account_for,
)
from box_offboarding.simulator.events import EventLog, EventQuery
from box_offboarding.simulator.files import FileStore, StoredFile, file_full

JSON = dict[str, Any]
RELOGIN_EVENT_TYPE = "LOGIN"
Fault = Literal["drop", "rate_limit", "server_error"]


@dataclass(frozen=True, slots=True)
class IssuedToken:
    subject: DirectoryUser
    expires_at: float


class TokenRefused(Exception):
    """The token endpoint's ``OAuth2Error`` answer."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.body = bodies.oauth_error(error, description)


class Simulator:
    """One simulated Box enterprise. Build it, then serve it with :func:`.app.build_app` (as :func:`run_simulator`
    does)."""

    def __init__(self, config: SimulatorConfig | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config or SimulatorConfig()
        self.now = clock
        self.time = bodies.Clock(self.config.utc_offset_minutes)
        self._lock = threading.Lock()
        # built from the config alone and never changed by a request
        self.directory = _build_directory(self.config)
        self.service_account = self.directory.service_account
        self.groups: dict[str, tuple[str, ...]] = _build_groups(self.directory.people, self.config)
        self._start_afresh()

    def _start_afresh(self) -> None:
        """Set everything that requests change to what a new simulator has (see :meth:`reset`)."""
        self._rng = random.Random(self.config.seed)
        self.users: list[DirectoryUser] = list(self.directory.people)
        self._tokens: dict[str, IssuedToken] = {}
        self._windows: dict[str, deque[float]] = {}
        self._event_log = EventLog()
        self._files = FileStore()
        self._requests: Counter[tuple[str, str]] = Counter()
        self._counts: Counter[str] = Counter()
        self._terminations: Counter[str] = Counter()

    def reset(self) -> None:
        """Back to the state a new ``Simulator(config)`` starts in, without building the directory again.

        Gone: issued tokens, rate windows, admin events, uploads and every counter; the random generator is seeded
        again from ``config.seed``, so faults, short pages and event ids repeat as on a new simulator; :attr:`users`
        is the directory's listing again. Kept: the config, the clock, the directory and the groups (made from the
        config alone; no request changes them). A different config needs a new simulator. Unlike
        :meth:`reset_stats` (and ``POST /_sim/reset``), which clear the counters only. For tests that share one
        running simulator: call it between them, not while requests are in flight."""
        with self._lock:
            self._start_afresh()

    # --- tokens and callers ---------------------------------------------------------------------------------------

    def issue_token(self, form: Mapping[str, str]) -> JSON:
        """The client-credentials grant; :class:`TokenRefused` with Box's OAuth error otherwise."""
        if form.get("grant_type") != "client_credentials":
            raise TokenRefused("unsupported_grant_type", "Grant type is not supported (use client_credentials)")
        config = self.config
        if form.get("client_id") != config.client_id or form.get("client_secret") != config.client_secret:
            raise TokenRefused("invalid_client", "The client credentials are invalid")
        subject = self._token_subject(form.get("box_subject_type"), form.get("box_subject_id"))
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = IssuedToken(subject, self.now() + config.token_lifetime_seconds)
            self._counts["tokens_issued"] += 1
        return bodies.access_token(token, expires_in=int(config.token_lifetime_seconds))

    def _token_subject(self, subject_type: str | None, subject_id: str | None) -> DirectoryUser:
        if subject_type == "enterprise" and subject_id == self.config.enterprise_id:
            return self.service_account
        if subject_type == "user" and subject_id is not None and subject_id in self.directory.by_id:
            return self.directory.by_id[subject_id]
        if subject_type not in ("enterprise", "user"):
            raise TokenRefused("invalid_request", "box_subject_type must be enterprise or user")
        raise TokenRefused("invalid_grant", "Grant credentials are invalid")

    def caller_for(self, authorization: str | None) -> DirectoryUser | None:
        """Whom a ``Bearer`` header speaks for; ``None`` for a missing, unknown or expired token."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        with self._lock:
            issued = self._tokens.get(token.strip())
        if issued is None or issued.expires_at <= self.now():
            return None
        return issued.subject

    def admit(self, caller: DirectoryUser) -> int | None:
        """Count a request against the caller's sliding window: ``None`` when admitted, else the whole seconds
        (at least 1) until a slot frees, for ``retry-after``. Refused requests take no slot."""
        now = self.now()
        window = self.config.rate_window_seconds
        with self._lock:
            stamps = self._windows.setdefault(caller.id, deque())
            while stamps and stamps[0] <= now - window:
                stamps.popleft()
            if len(stamps) >= self.config.rate_limit:
                self._counts["rate_limited"] += 1
                return max(1, math.ceil(stamps[0] + window - now))
            stamps.append(now)
            return None

    # --- faults ---------------------------------------------------------------------------------------------------

    def latency_seconds(self) -> float:
        config = self.config
        if not config.latency_ms and not config.latency_jitter_ms:
            return 0.0
        with self._lock:
            jitter = self._rng.uniform(-config.latency_jitter_ms, config.latency_jitter_ms)
        return max(0.0, config.latency_ms + jitter) / 1000

    def roll_fault(self, fault: Fault) -> bool:
        """Whether this request suffers ``fault``: a dropped connection (before anything), a spurious 429 (at
        admission) or a 500/503 (after admission), each at its configured share."""
        share = {
            "drop": self.config.drop_rate,
            "rate_limit": self.config.rate_limit_fault_rate,
            "server_error": self.config.fault_rate,
        }[fault]
        if not share:
            return False
        with self._lock:
            if self._rng.random() >= share:
                return False
            self._counts[f"fault_{fault}"] += 1
            return True

    def choose(self, options: Sequence[int]) -> int:
        with self._lock:
            return self._rng.choice(options)

    # --- users ----------------------------------------------------------------------------------------------------

    def resolve(self, *, ids: Iterable[str], logins: Iterable[str]) -> tuple[list[DirectoryUser], list[str]]:
        """The distinct users named by id or login, and the names that match nobody."""
        named = [(user_id, self.directory.by_id.get(user_id)) for user_id in ids]
        named += [(login, self.directory.by_login.get(login.strip().lower())) for login in logins]
        found = {user.id: user for _, user in named if user is not None}
        unknown = [name for name, user in named if user is None]
        return list(found.values()), unknown

    def user_body(self, user: DirectoryUser, fields: Iterable[str] | None) -> JSON:
        return bodies.user_with_fields(user, fields, clock=self.time, enterprise_id=self.config.enterprise_id)

    # --- termination jobs and events ------------------------------------------------------------------------------

    def start_termination_job(self, caller: DirectoryUser, users: Sequence[DirectoryUser]) -> None:
        """Accept one terminate_sessions request: each user's event appears ``event_delay_seconds`` later, and the
        users in the ``relogin_share`` sign in again ``relogin_after_seconds`` after that."""
        config = self.config
        with self._lock:  # "now" taken inside the lock: events are never recorded behind what a reader has seen
            done_at = self.now() + config.event_delay_seconds
            self._counts["batches_accepted"] += 1
            for user in users:
                self._terminations[user.id] += 1
                self._record_event(config.termination_event_type, done_at, source=user, created_by=caller)
                if self._signs_in_again(user):
                    self._record_event(
                        RELOGIN_EVENT_TYPE, done_at + config.relogin_after_seconds, source=user, created_by=user
                    )

    def _record_event(
        self, event_type: str, occurs_at: float, *, source: DirectoryUser, created_by: DirectoryUser
    ) -> None:
        event_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        body = bodies.admin_event(
            event_id=event_id,
            event_type=event_type,
            created_at=self.time.render(occurs_at),
            source=source,
            created_by=created_by,
        )
        self._event_log.record(occurs_at=occurs_at, event_type=event_type, body=body)
        self._counts["events_total"] += 1

    def _signs_in_again(self, user: DirectoryUser) -> bool:
        """The same users every time for a given seed and share, whatever the order of requests."""
        digest = hashlib.blake2b(f"{self.config.seed}:{user.id}".encode(), digest_size=8).digest()
        return int.from_bytes(digest) / 2**64 < self.config.relogin_share

    def read_events(self, query: EventQuery, *, streaming: bool) -> tuple[list[JSON], int]:
        """One admin-events page and the next stream position (see :class:`EventLog`). Some pages are cut short
        (``short_page_share``); with ``streaming_repeats`` a streaming page also re-delivers a few earlier events and
        comes shuffled."""
        with self._lock:
            page_size = query.limit
            share = self.config.short_page_share
            if share and query.limit > 1 and self._rng.random() < share:
                page_size = self._rng.randint(1, query.limit - 1)
            found, next_position = self._event_log.read(query, now=self.now(), page_size=page_size)
            entries = [event.body for event in found]
            if streaming and self.config.streaming_repeats and entries:
                count = self._rng.randint(1, 3)
                repeats = self._event_log.repeats_before(
                    query.position, event_types=query.event_types, count=count, rng=self._rng
                )
                entries += [event.body for event in repeats]
                self._rng.shuffle(entries)
            return entries, next_position

    def stream_end(self) -> int:
        """The stream position of "now" (``stream_position=now``)."""
        with self._lock:
            return self._event_log.visible_end(self.now())

    # --- uploads --------------------------------------------------------------------------------------------------

    def upload(self, *, caller: DirectoryUser, folder_id: str, name: str, content: bytes) -> StoredFile:
        with self._lock:
            stored = self._files.create(folder_id=folder_id, name=name, content=content, owner=caller, now=self.now())
            self._counts["uploads"] += 1
            return stored

    def upload_version(self, file_id: str, *, name: str | None, content: bytes) -> StoredFile | None:
        with self._lock:
            stored = self._files.add_version(file_id, content=content, new_name=name, now=self.now())
            if stored is not None:
                self._counts["uploads"] += 1
            return stored

    def file_body(self, stored: StoredFile) -> JSON:
        with self._lock:
            return file_full(stored, clock=self.time)

    # --- counting and the Python API ------------------------------------------------------------------------------

    def count(self, endpoint: str, status: str) -> None:
        with self._lock:
            self._requests[(endpoint, status)] += 1

    def request_count(self, endpoint: str, status: int | str | None = None) -> int:
        """Requests answered on ``endpoint`` (e.g. ``"POST /oauth2/token"``), optionally with one status."""
        with self._lock:
            return sum(
                count
                for (seen, answered), count in self._requests.items()
                if seen == endpoint and (status is None or answered == str(status))
            )

    def stats(self) -> JSON:
        """Everything counted since the start or the last :meth:`reset_stats` (the ``/_sim/stats`` JSON)."""
        with self._lock:
            endpoints: dict[str, dict[str, int]] = {}
            statuses: Counter[str] = Counter()
            for (endpoint, status), count in sorted(self._requests.items()):
                endpoints.setdefault(endpoint, {})[status] = count
                statuses[status] += count
            return {
                "requests_total": sum(statuses.values()),
                "endpoints": endpoints,
                "statuses": dict(sorted(statuses.items())),
                "tokens_issued": self._counts["tokens_issued"],
                "rate_limited": self._counts["rate_limited"],
                "faults": {
                    "dropped": self._counts["fault_drop"],
                    "rate_limit": self._counts["fault_rate_limit"],
                    "server_error": self._counts["fault_server_error"],
                },
                "batches_accepted": self._counts["batches_accepted"],
                "users_terminated": sum(self._terminations.values()),
                "distinct_users_terminated": len(self._terminations),
                "terminations_per_user": dict(self._terminations),
                "events_total": self._counts["events_total"],
                "uploads": self._counts["uploads"],
            }

    def reset_stats(self) -> None:
        """Clear the counters; the enterprise's state (events, files, tokens, rate windows) stays."""
        with self._lock:
            self._requests.clear()
            self._counts.clear()
            self._terminations.clear()

    def terminations_per_user(self) -> dict[str, int]:
        """How many accepted terminate_sessions jobs included each user id (by id, login or group)."""
        with self._lock:
            return dict(self._terminations)

    def events(self) -> list[JSON]:
        """Every recorded admin event, visible yet or not, in ``created_at`` order (the simulator's own dicts:
        read them, do not change them)."""
        with self._lock:
            return self._event_log.all()

    def uploads(self) -> dict[str, bytes]:
        """``"<folder id>/<name>"`` → the latest version's bytes."""
        with self._lock:
            return {f"{stored.folder_id}/{stored.name}": stored.current.content for stored in self._files.all()}

    def uploaded_files(self) -> list[JSON]:
        """What ``/_sim/uploads`` lists: one entry per file, without the bytes."""
        with self._lock:
            return [
                {
                    "id": stored.id,
                    "folder_id": stored.folder_id,
                    "name": stored.name,
                    "size": len(stored.current.content),
                    "sha1": stored.current.sha1,
                    "versions": len(stored.versions),
                }
                for stored in self._files.all()
            ]

    def uploaded_etag(self, file_id: str) -> str | None:
        """The current ``etag`` of an uploaded file (for ``if-match``); ``None`` when there is no such file."""
        with self._lock:
            stored = self._files.get(file_id)
            return None if stored is None else stored.etag

    def uploaded_content(self, file_id: str) -> bytes | None:
        with self._lock:
            stored = self._files.get(file_id)
            return None if stored is None else stored.current.content


def _build_directory(config: SimulatorConfig) -> Directory:
    if config.directory_path is not None:
        people = load_directory(config.directory_path)
    else:
        people = generate_directory(config.users, config.seed, domain=config.domain)
    ids = [user.id for user in people]
    first_external_id = max((int(user_id) for user_id in ids), default=10_000_000) + 1_000_000
    external = generate_external_users(config.external_users, config.seed, first_id=first_external_id)
    service = service_account_for(
        config.enterprise_id, role=config.service_account_role, taken_ids=[*ids, *(user.id for user in external)]
    )
    return Directory(people, service_account=service, external=external)


def _build_groups(users: Sequence[DirectoryUser], config: SimulatorConfig) -> dict[str, tuple[str, ...]]:
    """``config.groups`` groups (ids ``5000001``...) of ``group_size`` members drawn from the seed."""
    rng = random.Random(config.seed + 2)
    size = min(config.group_size, len(users))
    return {
        str(5_000_001 + index): tuple(user.id for user in rng.sample(list(users), k=size))
        for index in range(config.groups)
    }
