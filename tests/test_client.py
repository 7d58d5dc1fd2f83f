"""The async Box client against the project's Box simulator (real HTTP on loopback), plus its token and limiter
parts on their own."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from box_offboarding.box import BoxClient, LocalRateLimiter
from box_offboarding.box.auth import ClientCredentialsAuth, IssuedToken
from box_offboarding.box.limiter import PrefectRateLimiter, default_burst, limiter_from_settings
from box_offboarding.box.models import AdminEvent, UploadedFile, parse_box_datetime
from box_offboarding.errors import (
    BoxAPIError,
    BoxAuthError,
    BoxConflictError,
    BoxPermissionError,
    BoxRateLimitError,
    BoxUnavailableError,
    ConfigurationError,
)
from box_offboarding.settings import BoxSettings
from box_offboarding.simulator import RunningSimulator, SimulatorConfig, run_simulator
from helpers import box_settings

# ---------------------------------------------------------------------------------------------------- token cache


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _token_source(lifetime: float) -> tuple[list[str], Any]:
    issued: list[str] = []

    async def fetch() -> IssuedToken:
        await asyncio.sleep(0)  # let concurrent callers pile up behind the lock
        issued.append(f"token-{len(issued)}")
        return IssuedToken(value=SecretStr(issued[-1]), expires_in=lifetime)

    return issued, fetch


async def test_token_fetched_once_for_concurrent_callers() -> None:
    """Fifty concurrent first callers share one token fetch."""
    issued, fetch = _token_source(3600)
    auth = ClientCredentialsAuth(fetch, refresh_margin_seconds=60)
    tokens = await asyncio.gather(*(auth.token() for _ in range(50)))
    assert issued == ["token-0"]
    assert {token.get_secret_value() for token in tokens} == {"token-0"}


@pytest.mark.parametrize(
    ("lifetime", "margin", "elapsed", "expected"),
    [
        (3600, 60, 3539, "token-0"),  # still fresh
        (3600, 60, 3540, "token-1"),  # renewed `margin` before expiry
        (10, 60, 4.9, "token-0"),  # margin capped at half a short lifetime...
        (10, 60, 5.0, "token-1"),  # ...so a short-lived token is not renewed on every call
    ],
)
async def test_token_renewed_before_expiry(lifetime: float, margin: float, elapsed: float, expected: str) -> None:
    """A token is renewed `margin` seconds before it expires (at most half its lifetime early)."""
    clock = FakeClock()
    _, fetch = _token_source(lifetime)
    auth = ClientCredentialsAuth(fetch, refresh_margin_seconds=margin, clock=clock)
    await auth.token()
    clock.now = elapsed
    assert (await auth.token()).get_secret_value() == expected


async def test_renew_replaces_only_the_stale_token() -> None:
    """After a 401, concurrent renewals of the same stale token make one fetch between them."""
    issued, fetch = _token_source(3600)
    auth = ClientCredentialsAuth(fetch, refresh_margin_seconds=60)
    stale = await auth.token()
    renewed = await asyncio.gather(*(auth.renew(stale) for _ in range(10)))
    assert issued == ["token-0", "token-1"]
    assert {token.get_secret_value() for token in renewed} == {"token-1"}


# ---------------------------------------------------------------------------------------------------- limiter


def test_limiter_budget_holds_for_any_60_second_window() -> None:
    """Burst plus a minute's drain equals the headroom budget, so no 60 s window can exceed it."""
    settings = BoxSettings(_env_file=None, rate_limit_per_minute=1000, rate_limit_headroom=0.97, max_in_flight=16)
    limiter = limiter_from_settings(settings)
    assert isinstance(limiter, LocalRateLimiter)
    assert limiter.burst == 16
    assert limiter.burst + limiter.rate_per_second * 60 == pytest.approx(970)


@pytest.mark.parametrize(
    ("per_minute", "max_in_flight", "expected"),
    [(970, 16, 16), (970, 4, 4), (30, 16, 1), (3492, 64, 58)],
)
def test_default_burst_is_small(per_minute: float, max_in_flight: int, expected: int) -> None:
    """The burst is at most one second's budget and at most max_in_flight, and at least one."""
    assert default_burst(per_minute, max_in_flight=max_in_flight) == expected


def test_limiter_refuses_a_burst_as_large_as_the_budget() -> None:
    """A burst that alone fills the budget is a configuration error."""
    with pytest.raises(ConfigurationError, match="burst"):
        LocalRateLimiter(per_minute=10, burst=10)


async def test_limiter_paces_requests_after_the_burst() -> None:
    """After the burst, acquisitions come at the drain rate (and amounts above the burst are accepted)."""
    limiter = LocalRateLimiter(per_minute=6010, burst=10)  # 100 slots per second after 10 at once
    started = time.monotonic()
    await limiter.acquire(10)
    assert time.monotonic() - started < 0.05
    await limiter.acquire(25)
    assert time.monotonic() - started >= 0.24


def test_prefect_limiter_chosen_by_setting() -> None:
    """global_rate_limit_name switches to Prefect's global concurrency limit."""
    settings = BoxSettings(_env_file=None, global_rate_limit_name="box-api")
    limiter = limiter_from_settings(settings)
    assert isinstance(limiter, PrefectRateLimiter)
    assert limiter.name == "box-api"


# ---------------------------------------------------------------------------------------------------- models


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2012-12-12T10:53:43-08:00", datetime(2012, 12, 12, 18, 53, 43, tzinfo=UTC)),
        ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T00:00:00", datetime(2024, 1, 1, tzinfo=UTC)),
    ],
)
def test_box_datetimes_become_utc(text: str, expected: datetime) -> None:
    """Box's offset timestamps are parsed into aware UTC datetimes."""
    parsed = parse_box_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_admin_event_reads_user_source_and_creator() -> None:
    """An event's source user and creator land in their fields; a non-user source leaves them empty."""
    raw = {
        "event_id": "e1",
        "event_type": "LOGIN",
        "created_at": "2024-05-01T10:00:00-07:00",
        "source": {"type": "user", "id": "11", "login": "a@example.com"},
        "created_by": {"type": "user", "id": "2"},
    }
    event = AdminEvent.from_api(raw)
    assert (event.source_user_id, event.source_login, event.created_by_id) == ("11", "a@example.com", "2")
    assert event.created_at == datetime(2024, 5, 1, 17, 0, tzinfo=UTC)
    folder_event = AdminEvent.from_api({**raw, "source": {"type": "folder", "id": "99"}})
    assert folder_event.source_user_id is None


def test_uploaded_file_from_files_listing() -> None:
    """An upload answer is a Files listing: the file is its first entry, the version its file_version."""
    body = {"total_count": 1, "entries": [{"type": "file", "id": "5", "name": "r.xlsx", "file_version": {"id": "9"}}]}
    assert UploadedFile.from_api(body) == UploadedFile(id="5", name="r.xlsx", version="9")


# ------------------------------------------------------------------------------------------- against the simulator

TERMINATE = "POST /users/terminate_sessions"
SECRET = "Sup3r-S3cret-9f2c-VALUE"


class MovableClock:
    """The simulator's wall clock, moved forward by the test instead of waiting."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


async def fresh_token(sim: RunningSimulator) -> str:
    """A token straight from the simulator's token endpoint, to use as a developer token."""
    async with httpx.AsyncClient() as raw:
        return str((await raw.post(sim.token_url, data=sim.token_form)).json()["access_token"])


@pytest.fixture
def sim_user_ids(simulator: RunningSimulator) -> list[str]:
    return [user.id for user in simulator.simulator.users]


async def test_concurrent_first_calls_share_one_token(simulator: RunningSimulator, sim_user_ids: list[str]) -> None:
    """Fifty concurrent first calls cause one token request, and every call succeeds."""
    issued_before = simulator.simulator.stats()["tokens_issued"]
    async with BoxClient(box_settings(simulator)) as box:
        users = await asyncio.gather(*(box.get_user(user_id) for user_id in sim_user_ids[:50]))
    assert [user.id for user in users] == sim_user_ids[:50]
    assert simulator.simulator.stats()["tokens_issued"] - issued_before == 1
    assert box.calls == {"POST /oauth2/token": 1, "GET /users/{user_id}": 50}


async def test_token_renewed_before_it_expires() -> None:
    """A 1-second token is renewed after half its life, before Box would refuse it (no 401 ever)."""
    with run_simulator(SimulatorConfig(users=5, token_lifetime_seconds=1)) as short:
        user_id = short.simulator.users[0].id
        async with BoxClient(box_settings(short)) as box:
            deadline = time.monotonic() + 3
            while short.simulator.stats()["tokens_issued"] < 2 and time.monotonic() < deadline:
                await box.get_user(user_id)  # real calls while the token ages (no sleep)
        assert short.simulator.stats()["tokens_issued"] == 2
        assert short.simulator.stats()["statuses"].get("401", 0) == 0


async def test_token_renewed_once_on_401_then_request_retried() -> None:
    """When Box refuses an expired token, the client fetches one new token and repeats the request once."""
    clock = MovableClock()
    with run_simulator(SimulatorConfig(users=5), clock=clock) as moved:
        user_id = moved.simulator.users[0].id
        async with BoxClient(box_settings(moved)) as box:
            await box.get_user(user_id)
            clock.offset += 7200  # Box's token expired; the client's clock says it is fresh
            user = await box.get_user(user_id)
        assert user.id == user_id
        assert moved.simulator.stats()["tokens_issued"] == 2
        assert moved.simulator.request_count("GET /2.0/users/{user_id}", 401) == 1
        assert box.calls == {"POST /oauth2/token": 2, "GET /users/{user_id}": 3}
        assert box.retries == 0


async def test_expired_developer_token_raises_auth_error_naming_it() -> None:
    """A developer token cannot be renewed: a 401 raises BoxAuthError that says the developer token expired."""
    clock = MovableClock()
    with run_simulator(SimulatorConfig(users=5), clock=clock) as moved:
        token = await fresh_token(moved)
        settings = box_settings(moved, developer_token=SecretStr(token), client_id="", client_secret=SecretStr(""))
        user_id = moved.simulator.users[0].id
        async with BoxClient(settings) as box:
            assert (await box.get_user(user_id)).id == user_id
            clock.offset += 7200
            with pytest.raises(BoxAuthError, match="developer token expired") as caught:
                await box.get_user(user_id)
        assert caught.value.status == 401
        assert box.calls == {"GET /users/{user_id}": 2}
        assert token not in str(caught.value) + repr(caught.value) + repr(box)


async def test_429_waits_at_least_retry_after() -> None:
    """Over Box's budget, the client waits the retry-after Box sends (whole seconds, here the 1 s window) before
    trying again, although its own back-off is 10 ms at most."""
    sim_window_seconds = 1.0
    config = SimulatorConfig(users=5, rate_limit=3, rate_window_seconds=sim_window_seconds)
    with run_simulator(config) as tight:
        user_id = tight.simulator.users[0].id
        async with BoxClient(box_settings(tight)) as box:
            for _ in range(3):
                await box.get_user(user_id)
            started = time.monotonic()
            await box.get_user(user_id)
            waited = time.monotonic() - started
        assert tight.simulator.request_count("GET /2.0/users/{user_id}", 429) == 1
        assert waited >= sim_window_seconds
        assert box.retries_by_reason == {"429": 1}
        assert box.calls["GET /users/{user_id}"] == 5


@pytest.mark.parametrize(
    ("knob", "reason", "sim_fault"),
    [("fault_rate", "5xx", "server_error"), ("drop_rate", "transport", "dropped")],
)
async def test_server_errors_and_dropped_connections_are_retried(knob: str, reason: str, sim_fault: str) -> None:
    """5xx answers and dropped connections are retried until the call succeeds; each retry is counted."""
    with run_simulator(SimulatorConfig(users=40, seed=11, **{knob: 0.3})) as faulty:
        ids = [user.id for user in faulty.simulator.users]
        async with BoxClient(box_settings(faulty, max_attempts=15)) as box:
            users = [await box.get_user(user_id) for user_id in ids]
        faults = faulty.simulator.stats()["faults"][sim_fault]
    assert [user.id for user in users] == ids
    assert faults > 0
    assert box.retries_by_reason == {reason: faults}
    assert box.calls["GET /users/{user_id}"] == len(ids) + faults


@pytest.mark.parametrize(
    ("knob", "cause"),
    [("fault_rate", BoxAPIError), ("drop_rate", httpx.TransportError)],
)
async def test_gives_up_after_max_attempts(knob: str, cause: type[Exception]) -> None:
    """A Box that keeps failing gets exactly max_attempts requests, then BoxUnavailableError with the last cause."""
    with run_simulator(SimulatorConfig(users=5, **{knob: 1.0})) as broken:
        async with BoxClient(box_settings(broken, max_attempts=3)) as box:
            with pytest.raises(BoxUnavailableError, match="failed 3 times") as caught:
                await box.get_user(broken.simulator.users[0].id)
    assert isinstance(caught.value.__cause__, cause)
    assert box.calls["GET /users/{user_id}"] == 3
    assert box.retries == 2


async def test_429_beyond_max_retry_seconds_gives_up_at_once() -> None:
    """When retry-after would outlast max_retry_seconds, the client raises BoxRateLimitError without waiting."""
    with run_simulator(SimulatorConfig(users=5, rate_limit_fault_rate=1.0)) as limited:
        async with BoxClient(box_settings(limited, max_retry_seconds=0.5)) as box:
            started = time.monotonic()
            with pytest.raises(BoxRateLimitError) as caught:
                await box.get_user(limited.simulator.users[0].id)
            assert time.monotonic() - started < 0.5
    assert (caught.value.status, caught.value.code) == (429, "rate_limit_exceeded")
    assert box.calls["GET /users/{user_id}"] == 1


async def test_not_found_is_not_retried_and_carries_box_fields(simulator: RunningSimulator) -> None:
    """A 404 raises BoxAPIError with Box's code, message and request id after a single request."""
    async with BoxClient(box_settings(simulator)) as box:
        with pytest.raises(BoxAPIError) as caught:
            await box.get_user("999")
    error = caught.value
    assert type(error) is BoxAPIError
    assert (error.status, error.code, error.message) == (404, "not_found", "Not Found")
    assert len(error.request_id or "") == 32
    assert error.url.endswith("/2.0/users/999")
    assert box.calls["GET /users/{user_id}"] == 1
    assert box.retries == 0


async def test_bad_request_is_not_retried(simulator: RunningSimulator) -> None:
    """A 400 surfaces at once as BoxAPIError with Box's message."""
    async with BoxClient(box_settings(simulator)) as box:
        with pytest.raises(BoxAPIError, match="user_type") as caught:
            [user async for user in box.iter_users(user_type="robots")]
    assert (caught.value.status, caught.value.code) == (400, "bad_request")
    assert box.calls["GET /users"] == 1


async def test_missing_admin_permission_is_a_permission_error() -> None:
    """A service account without admin rights gets BoxPermissionError (403) from terminate_sessions."""
    with run_simulator(SimulatorConfig(users=5, service_account_role="user")) as plain:
        async with BoxClient(box_settings(plain)) as box:
            with pytest.raises(BoxPermissionError) as caught:
                await box.terminate_sessions(user_ids=[plain.simulator.users[0].id])
    assert (caught.value.status, caught.value.code) == (403, "forbidden")
    assert box.calls[TERMINATE] == 1


async def test_refused_credentials_raise_auth_error_without_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    """Wrong client credentials: BoxAuthError with Box's OAuth error, one token request, and the secret nowhere."""
    caplog.set_level(logging.DEBUG)
    with run_simulator(SimulatorConfig(users=5, client_secret="the-right-one")) as strict:
        settings = box_settings(strict, client_secret=SecretStr(SECRET))
        async with BoxClient(settings) as box:
            with pytest.raises(BoxAuthError) as caught:
                await box.get_user(strict.simulator.users[0].id)
    assert (caught.value.status, caught.value.code) == (400, "invalid_client")
    assert box.calls == {"POST /oauth2/token": 1}
    exposed = [str(caught.value), repr(caught.value), repr(box), repr(settings), caplog.text]
    assert not [text for text in exposed if SECRET in text]


async def test_secrets_never_reach_logs_reprs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    """With DEBUG logging, neither the client secret nor the access token appears in logs, reprs or errors."""
    caplog.set_level(logging.DEBUG)
    with run_simulator(SimulatorConfig(users=5, client_secret=SECRET, fault_rate=0.5, seed=3)) as sim:
        token = await fresh_token(sim)
        errors: list[Exception] = []
        for settings in (box_settings(sim), box_settings(sim, developer_token=SecretStr(token))):
            async with BoxClient(settings) as box:
                await box.get_user(sim.simulator.users[0].id)
                try:
                    await box.get_user("404")
                except BoxAPIError as error:
                    errors.append(error)
            exposed = [repr(box), repr(settings), caplog.text, *map(str, errors), *map(repr, errors)]
            assert not [text for text in exposed if SECRET in text or token in text]
    assert len(errors) == 2
    assert "retrying" in caplog.text  # the faults were logged, so the logs were really looked at


async def test_marker_pagination_lists_every_user_once() -> None:
    """25,000 users come back through marker pagination (beyond offset's 10,000 limit): all, once, in 25 pages."""
    with run_simulator(SimulatorConfig(users=25_000, event_delay_seconds=0)) as big:
        async with BoxClient(box_settings(big)) as box:
            users = [user async for user in box.iter_users(page_size=1000)]
        expected = {user.id for user in big.simulator.users}
    ids = [user.id for user in users]
    assert len(ids) == 25_000
    assert set(ids) == expected
    assert all(user.login and user.status and user.role for user in users)
    assert box.calls["GET /users"] == 25


async def test_find_users_and_count(simulator: RunningSimulator) -> None:
    """find_users is one prefix search; count_users reads the directory size in one call."""
    target = simulator.simulator.users[7]
    async with BoxClient(box_settings(simulator)) as box:
        found = await box.find_users(target.login)
        total = await box.count_users()
    assert target.id in {user.id for user in found}
    assert total == len(simulator.simulator.users)
    assert box.calls["GET /users"] == 2


@pytest.mark.parametrize("stream_type", ["admin_logs", "admin_logs_streaming"])
async def test_event_paging_survives_short_pages_and_repeats(stream_type: str) -> None:
    """Half the pages come back short (and streaming repeats events): every event is seen, none twice."""
    config = SimulatorConfig(users=300, event_delay_seconds=0, short_page_share=0.5, streaming_repeats=True)
    with run_simulator(config) as sim:
        ids = [user.id for user in sim.simulator.users]
        started = datetime.now(UTC) - timedelta(minutes=1)
        async with BoxClient(box_settings(sim)) as box:
            for start in range(0, len(ids), 100):
                result = await box.terminate_sessions(user_ids=ids[start : start + 100])
                assert result.status == 202
            events = [
                event
                async for event in box.iter_admin_events(
                    created_after=started,
                    created_before=None,
                    event_types=["TERMINATE_USER_SESSIONS"],
                    stream_type=stream_type,
                    page_size=40,
                )
            ]
        expected = {event["event_id"] for event in sim.simulator.events()}
    event_ids = [event.event_id for event in events]
    assert len(event_ids) == len(set(event_ids)) == 300
    assert set(event_ids) == expected
    assert {event.source_user_id for event in events} == set(ids)
    assert box.calls["GET /events"] > 300 // 40 + 1  # short pages did not end the reading early


async def test_terminate_sessions_result(simulator: RunningSimulator, sim_user_ids: list[str]) -> None:
    """A 202 comes back as a TerminationResult with Box's request id, message, attempts and times."""
    async with BoxClient(box_settings(simulator)) as box:
        before = datetime.now(UTC)
        result = await box.terminate_sessions(user_ids=sim_user_ids[:3], user_logins=[])
    assert result.status == 202
    assert result.message.startswith("Request is successful")
    assert len(result.request_id) == 32
    assert result.attempts == 1
    assert before <= result.sent_at <= result.finished_at


async def test_terminate_group_sessions(simulator: RunningSimulator) -> None:
    """Group termination posts group ids and is accepted."""
    async with BoxClient(box_settings(simulator)) as box:
        result = await box.terminate_group_sessions(group_ids=[next(iter(simulator.simulator.groups))])
    assert result.status == 202
    assert box.calls["POST /groups/terminate_sessions"] == 1


async def test_terminate_records_attempts_across_retries() -> None:
    """attempts counts every request sent for the call, retries included."""
    with run_simulator(SimulatorConfig(users=5, fault_rate=0.6, seed=5)) as faulty:
        async with BoxClient(box_settings(faulty, max_attempts=20)) as box:
            results = [await box.terminate_sessions(user_ids=[user.id]) for user in faulty.simulator.users]
    assert sum(result.attempts for result in results) == box.calls[TERMINATE]
    assert any(result.attempts > 1 for result in results)


async def test_terminate_without_users_sends_nothing(simulator: RunningSimulator) -> None:
    """An empty terminate_sessions is refused before any request (Box would answer 400 and bill a call)."""
    async with BoxClient(box_settings(simulator)) as box:
        with pytest.raises(ValueError, match="at least one"):
            await box.terminate_sessions()
    assert box.calls == {}


async def test_upload_conflict_then_new_version(simulator: RunningSimulator) -> None:
    """A second upload of the same name raises BoxConflictError naming the existing file; a new version replaces it."""
    async with BoxClient(box_settings(simulator)) as box:
        first = await box.upload_file(folder_id="0", name="report.xlsx", content=b"v1")
        with pytest.raises(BoxConflictError) as caught:
            await box.upload_file(folder_id="0", name="report.xlsx", content=b"v2")
        second = await box.upload_new_version(file_id=first.id, name="report.xlsx", content=b"v2")
    assert (caught.value.status, caught.value.conflict_file_id) == (409, first.id)
    assert second.id == first.id
    assert second.version != first.version
    assert simulator.simulator.uploads()["0/report.xlsx"] == b"v2"
    assert box.calls["POST /files/content"] == 2


class RecordingLimiter:
    """The real in-process limiter, recording what is asked of it."""

    def __init__(self) -> None:
        self.inner = LocalRateLimiter(per_minute=600_000, burst=100)
        self.amounts: list[int] = []

    async def acquire(self, amount: int = 1) -> None:
        self.amounts.append(amount)
        await self.inner.acquire(amount)


async def test_acquire_reserves_slots_for_the_next_requests(
    simulator: RunningSimulator, sim_user_ids: list[str]
) -> None:
    """acquire(n) takes n slots at once; the next n requests use them; token requests never take a slot."""
    limiter = RecordingLimiter()
    async with BoxClient(box_settings(simulator), limiter=limiter) as box:
        await box.acquire(3)
        for user_id in sim_user_ids[:4]:
            await box.get_user(user_id)
    assert limiter.amounts == [3, 1]
    assert box.calls["POST /oauth2/token"] == 1


def test_missing_credentials_are_a_configuration_error() -> None:
    """Without client credentials or a developer token the client refuses to start, naming what is missing."""
    with pytest.raises(ConfigurationError, match="BOX_CLIENT_SECRET, BOX_ENTERPRISE_ID"):
        BoxClient(BoxSettings(_env_file=None, client_id="x"))


async def test_prefect_global_limit_paces_requests(
    simulator: RunningSimulator, sim_user_ids: list[str], prefect_harness: None
) -> None:
    """With global_rate_limit_name set, requests take slots from Prefect's limit, ten at a time; a missing limit
    is a configuration error (strict), never a silent "no limit"."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    async with get_client() as prefect:
        await prefect.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name="box-api-client-test", limit=10, slot_decay_per_second=100)
        )
    settings = box_settings(simulator, global_rate_limit_name="box-api-client-test")
    limiter = limiter_from_settings(settings)
    assert isinstance(limiter, PrefectRateLimiter)
    async with BoxClient(settings, limiter=limiter) as box:
        users = [await box.get_user(user_id) for user_id in sim_user_ids[:25]]
    assert len(users) == 25
    assert limiter.spare == 5  # three acquisitions of ten slots served 25 requests
    async with BoxClient(box_settings(simulator, global_rate_limit_name="no-such-limit")) as box:
        with pytest.raises(ConfigurationError, match="no-such-limit"):
            await box.get_user(sim_user_ids[0])
    assert box.calls == {"POST /oauth2/token": 1}
