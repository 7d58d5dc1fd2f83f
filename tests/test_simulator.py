"""The Box API simulator over real HTTP on loopback: every documented behaviour of every endpoint it serves."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send

from box_offboarding.simulator import (
    DirectoryFileError,
    RunningSimulator,
    Simulator,
    SimulatorConfig,
    cli_banner,
    generate_directory,
    load_directory,
    run_simulator,
    run_simulator_process,
)
from box_offboarding.simulator.app import Gateway

ACCEPTED = {"message": "Request is successful, please check the admin events for the status of the job"}
START = 1_780_000_000.0  # a fixed "now" for simulators on a fake clock

DIRECTORY_CSV = """id,login,name,status,role
101,ann.lee@example.com,Ann Lee,active,user
102,anna.berg@example.com,Anna Berg,active,user
103,bob.annan@example.com,Bob Annan,inactive,admin
104,zoe.muller@example.com,Zoë Müller,active,coadmin
105,carl.zeiss@example.com,Carl Zeiss,cannot_delete_edit,user
"""


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextmanager
def authorised_client(running: RunningSimulator) -> Iterator[httpx.Client]:
    """An httpx client for ``running`` already holding a bearer token."""
    with httpx.Client(base_url=running.base_url) as client:
        token = client.post("/oauth2/token", data=running.token_form).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


@contextmanager
def serve(clock: FakeClock | None = None, **config: Any) -> Iterator[tuple[RunningSimulator, httpx.Client]]:
    """A simulator of its own (small defaults, events at once) and an httpx client already holding a bearer token."""
    settings = SimulatorConfig(**{"users": 200, "event_delay_seconds": 0, **config})
    with run_simulator(settings, clock=clock) as running, authorised_client(running) as client:
        yield running, client


@pytest.fixture
def default_sim(simulator: RunningSimulator) -> Iterator[tuple[RunningSimulator, httpx.Client]]:
    """The session's simulator, reset, and a client holding a bearer token for it."""
    with authorised_client(simulator) as client:
        yield simulator, client


@pytest.fixture(scope="module")
def csv_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningSimulator, httpx.Client]]:
    path = tmp_path_factory.mktemp("directory") / "users.csv"
    path.write_text(DIRECTORY_CSV, encoding="utf-8")
    with serve(directory_path=path) as pair:
        yield pair


def terminate(client: httpx.Client, *, ids: list[str] | None = None, logins: list[str] | None = None) -> httpx.Response:
    return client.post("/2.0/users/terminate_sessions", json={"user_ids": ids or [], "user_logins": logins or []})


def admin_events(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = client.get("/2.0/events", params={"stream_type": "admin_logs", **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def read_all_events(client: httpx.Client, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Page until an empty page; the events and the pages."""
    position = "0"
    events: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    while True:
        page = admin_events(client, stream_position=position, **params)
        pages.append(page)
        if not page["entries"]:
            assert page["next_stream_position"] == position  # an empty page keeps the position for a later poll
            return events, pages
        events += page["entries"]
        position = page["next_stream_position"]


def box_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(epoch))


# --- token endpoint -------------------------------------------------------------------------------------------------


def test_token_is_issued_for_client_credentials(default_sim: tuple[RunningSimulator, httpx.Client]) -> None:
    """The client-credentials grant returns a bearer token with the configured lifetime."""
    running, client = default_sim
    body = httpx.post(running.token_url, data=running.token_form).json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"] not in client.headers["Authorization"]  # a new token each time


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"client_secret": "wrong"}, "invalid_client"),
        ({"client_id": "someone-else"}, "invalid_client"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"box_subject_id": "123"}, "invalid_grant"),
        ({"box_subject_type": "group"}, "invalid_request"),
    ],
)
def test_token_refusals_use_the_oauth_error_body(
    default_sim: tuple[RunningSimulator, httpx.Client], change: dict[str, str], error: str
) -> None:
    """Wrong credentials or grants get 400 with Box's OAuth2Error body."""
    running, _ = default_sim
    response = httpx.post(running.token_url, data={**running.token_form, **change})
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_token_request_must_be_form_encoded(default_sim: tuple[RunningSimulator, httpx.Client]) -> None:
    """A JSON token request is refused as invalid_request."""
    running, _ = default_sim
    response = httpx.post(running.token_url, json=running.token_form)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_token_for_a_user_subject_acts_as_that_user(default_sim: tuple[RunningSimulator, httpx.Client]) -> None:
    """``box_subject_type=user`` yields a token for that user: a plain user may not read admin events."""
    running, _ = default_sim
    plain = next(user for user in running.simulator.users if user.role == "user")
    form = {**running.token_form, "box_subject_type": "user", "box_subject_id": plain.id}
    token = httpx.post(running.token_url, data=form).json()["access_token"]
    response = httpx.get(
        f"{running.api_url}/events", params={"stream_type": "admin_logs"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403


# --- authentication -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "challenge_has_error"),
    [(None, False), ("Bearer not-a-token", True), ("Basic abc", True)],
)
def test_missing_or_unknown_token_gets_401(
    default_sim: tuple[RunningSimulator, httpx.Client], authorization: str | None, challenge_has_error: bool
) -> None:
    """No token, an unknown one or another scheme: 401, Box's ClientError and a WWW-Authenticate challenge."""
    running, _ = default_sim
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(f"{running.api_url}/users", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith('Bearer realm="Service"')
    assert ('error="invalid_token"' in response.headers["www-authenticate"]) is challenge_has_error


def test_expired_token_gets_401() -> None:
    """A token stops working once its lifetime has passed (on the simulator's clock)."""
    clock = FakeClock()
    with serve(clock, token_lifetime_seconds=30) as (_, client):
        assert client.get("/2.0/users", params={"limit": 1}).status_code == 200
        clock.advance(30)
        response = client.get("/2.0/users", params={"limit": 1})
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


# --- users ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "expected_ids"),
    [
        ("ann", ["101", "102"]),  # login and name prefixes
        ("ANNA", ["102"]),  # case-insensitive
        ("annan", []),  # inside a name or login is not a prefix
        ("bob", ["103"]),
        ("zoë", ["104"]),  # the name, with its accent
        ("zoe.", ["104"]),  # the login
        ("carl zeiss", ["105"]),  # the full name
        ("ann.lee@example.com", ["101"]),  # an exact login is a prefix too
    ],
)
def test_filter_term_is_a_prefix_of_login_or_name(
    csv_sim: tuple[RunningSimulator, httpx.Client], term: str, expected_ids: list[str]
) -> None:
    """filter_term matches users whose login or name starts with it, ignoring case."""
    _, client = csv_sim
    body = client.get("/2.0/users", params={"filter_term": term}).json()
    assert [user["id"] for user in body["entries"]] == expected_ids
    assert body["total_count"] == len(expected_ids)


@pytest.mark.parametrize(
    ("user_type", "term", "expected"),
    [
        ("all", "external login", {"external"}),
        ("external", "external login", {"external"}),
        ("managed", "external login", set()),
        ("all", "external prefix", set()),  # external users need their whole login
        ("external", "external prefix", set()),
        ("all", "managed login", {"managed"}),
        ("managed", "managed login", {"managed"}),
        ("external", "managed login", set()),
    ],
)
def test_user_type_selects_managed_or_external_users(
    default_sim: tuple[RunningSimulator, httpx.Client], user_type: str, term: str, expected: set[str]
) -> None:
    """External users are found only by their exact login; ``managed`` never returns them."""
    running, client = default_sim
    external, managed = running.simulator.directory.external[0], running.simulator.users[0]
    terms = {"external login": external.login, "external prefix": external.login[:-1], "managed login": managed.login}
    params = {"filter_term": terms[term], "user_type": user_type}
    found = {entry["id"] for entry in client.get("/2.0/users", params=params).json()["entries"]}
    assert found == {{"external": external.id, "managed": managed.id}[kind] for kind in expected}


def test_fields_add_to_the_mini_representation(default_sim: tuple[RunningSimulator, httpx.Client]) -> None:
    """With ``fields`` Box returns the mini fields plus those asked for; without, the standard set (no role)."""
    _, client = default_sim
    chosen = client.get("/2.0/users", params={"limit": 1, "fields": "status,role"}).json()["entries"][0]
    standard = client.get("/2.0/users", params={"limit": 1}).json()["entries"][0]
    assert set(chosen) == {"type", "id", "name", "login", "status", "role"}
    assert "role" not in standard
    assert {"created_at", "status", "space_used"} <= set(standard)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"limit": "1000"}, 200),
        ({"limit": "1001"}, 400),
        ({"limit": "0"}, 400),
        ({"limit": "ten"}, 400),
        ({"offset": "10000"}, 200),
        ({"offset": "10001"}, 400),
        ({"user_type": "robots"}, 400),
        ({"usemarker": "true", "marker": "not-a-marker"}, 400),
    ],
)
def test_users_paging_bounds(
    default_sim: tuple[RunningSimulator, httpx.Client], params: dict[str, str], status: int
) -> None:
    """limit is 1..1000; offsets past 10000 are refused (use markers); bad values get Box's 400."""
    _, client = default_sim
    response = client.get("/2.0/users", params=params)
    assert response.status_code == status
    if status == 400:
        assert response.json()["code"] == "bad_request"


@pytest.fixture(scope="module")
def big_sim() -> Iterator[tuple[RunningSimulator, httpx.Client]]:
    with serve(users=25_000) as pair:
        yield pair


def test_marker_pagination_walks_25000_users(big_sim: tuple[RunningSimulator, httpx.Client]) -> None:
    """usemarker pages carry next_marker and no total_count/offset, and walk every user exactly once."""
    running, client = big_sim
    seen: list[str] = []
    params: dict[str, str] = {"usemarker": "true", "limit": "1000", "fields": "id,login"}
    while True:
        body = client.get("/2.0/users", params=params).json()
        assert not {"total_count", "offset"} & set(body)
        seen += [user["id"] for user in body["entries"]]
        if not body["next_marker"]:
            break
        params["marker"] = body["next_marker"]
    assert len(seen) == len(set(seen)) == 25_000
    assert seen == [user.id for user in running.simulator.users]


def test_offset_pagination_counts_all_users(big_sim: tuple[RunningSimulator, httpx.Client]) -> None:
    """Offset pages report total_count and slice the listing."""
    running, client = big_sim
    body = client.get("/2.0/users", params={"offset": "10000", "limit": "5"}).json()
    assert body["total_count"] == 25_000
    assert [user["id"] for user in body["entries"]] == [user.id for user in running.simulator.users[10000:10005]]


def test_get_user_by_id(default_sim: tuple[RunningSimulator, httpx.Client]) -> None:
    """GET /users/{id} returns that user; an unknown id gets Box's 404 body."""
    running, client = default_sim
    user = running.simulator.users[3]
    assert client.get(f"/2.0/users/{user.id}", params={"fields": "login"}).json()["login"] == user.login
    missing = client.get("/2.0/users/999")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert missing.json()["context_info"]["errors"][0]["name"] == "user"


# --- terminate sessions ---------------------------------------------------------------------------------------------


def test_terminate_sessions_accepts_and_records_one_event_per_user(
    default_sim: tuple[RunningSimulator, httpx.Client],
) -> None:
    """202 with Box's exact body; each named user (by id or login) gets one event by the service account."""
    running, client = default_sim
    first, second = running.simulator.users[:2]
    response = terminate(client, ids=[first.id], logins=[second.login.upper(), first.login])
    assert (response.status_code, response.json()) == (202, ACCEPTED)
    assert response.headers["box-request-id"]
    events = admin_events(client)["entries"]
    assert sorted(event["source"]["id"] for event in events) == sorted([first.id, second.id])
    assert {event["event_type"] for event in events} == {"TERMINATE_USER_SESSIONS"}
    assert {event["created_by"]["id"] for event in events} == {running.simulator.service_account.id}
    assert running.simulator.terminations_per_user() == {first.id: 1, second.id: 1}


@pytest.mark.parametrize(
    ("content", "headers", "message"),
    [
        (json.dumps({"user_ids": [], "user_logins": []}), {}, "Users can not be NULL or EMPTY"),
        (json.dumps({}), {}, "Users can not be NULL or EMPTY"),
        (json.dumps({"user_ids": None, "user_logins": None}), {}, "Users can not be NULL or EMPTY"),
        (json.dumps({"user_ids": [12345], "user_logins": []}), {}, "User id format is string"),
        (json.dumps({"user_ids": "12345", "user_logins": []}), {}, "User id format is string"),
        ("user_ids=1", {"content-type": "application/x-www-form-urlencoded"}, "Supported payload format is JSON"),
        ("{not json", {}, "Supported payload format is JSON"),
        (json.dumps(["12345"]), {}, "Supported payload format is JSON"),
    ],
)
def test_terminate_sessions_400_messages(
    default_sim: tuple[RunningSimulator, httpx.Client], content: str, headers: dict[str, str], message: str
) -> None:
    """Each documented 400 message, in Box's ClientError body."""
    _, client = default_sim
    response = client.post(
        "/2.0/users/terminate_sessions", content=content, headers={"content-type": "application/json", **headers}
    )
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["message"]) == ("bad_request", message)


def test_terminate_sessions_refuses_batches_over_the_maximum() -> None:
    """More users than max_batch_size in one call: 400 naming the limit."""
    with serve(max_batch_size=2) as (running, client):
        response = terminate(client, ids=[user.id for user in running.simulator.users[:3]])
        assert response.status_code == 400
        assert "at most 2" in response.json()["message"]
        assert terminate(client, ids=[user.id for user in running.simulator.users[:2]]).status_code == 202


def test_terminate_sessions_needs_an_admin() -> None:
    """A service account that is not an admin gets 403 and nothing is recorded."""
    with serve(service_account_role="user") as (running, client):
        response = terminate(client, ids=[running.simulator.users[0].id])
        assert response.status_code == 403
        assert running.simulator.events() == []


@pytest.mark.parametrize(("reject", "status", "events"), [(True, 404, 0), (False, 202, 1)])
def test_unknown_users_in_a_batch(reject: bool, status: int, events: int) -> None:
    """A batch naming an unknown user is refused whole (404), or the unknown user is ignored when configured."""
    with serve(reject_unknown_users=reject) as (running, client):
        response = terminate(client, ids=[running.simulator.users[0].id], logins=["nobody@example.com"])
        assert response.status_code == status
        assert len(running.simulator.events()) == events


def test_group_termination_records_an_event_per_member(default_sim: tuple[RunningSimulator, httpx.Client]) -> None:
    """groups/terminate_sessions terminates every member of the named groups."""
    running, client = default_sim
    group_id, members = next(iter(running.simulator.groups.items()))
    response = client.post("/2.0/groups/terminate_sessions", json={"group_ids": [group_id]})
    assert (response.status_code, response.json()) == (202, ACCEPTED)
    assert sorted(event["source"]["id"] for event in running.simulator.events()) == sorted(members)
    assert running.simulator.stats()["batches_accepted"] == 1


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"group_ids": []}, 400, "Groups can not be NULL or EMPTY"),
        ({"group_ids": [5]}, 400, "group id format is string"),
        ({"group_ids": ["1"]}, 404, "Group not found"),
    ],
)
def test_group_termination_refusals(
    default_sim: tuple[RunningSimulator, httpx.Client], body: dict[str, Any], status: int, message: str
) -> None:
    """Empty, malformed or unknown group lists are refused with Box's messages."""
    _, client = default_sim
    response = client.post("/2.0/groups/terminate_sessions", json=body)
    assert (response.status_code, response.json()["message"]) == (status, message)


# --- events ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("delay", "visible_at_once"), [(0, True), (600, False)])
def test_events_appear_after_the_job_delay(delay: float, visible_at_once: bool) -> None:
    """A termination's event is recorded at once but visible only event_delay_seconds later."""
    clock = FakeClock()
    with serve(clock, event_delay_seconds=delay) as (running, client):
        terminate(client, ids=[running.simulator.users[0].id])
        assert len(running.simulator.events()) == 1
        assert bool(admin_events(client)["entries"]) is visible_at_once
        clock.advance(delay)
        assert len(admin_events(client)["entries"]) == 1


def test_event_times_are_rfc3339_in_the_configured_offset() -> None:
    """created_at is to the second, in Box's Pacific offset by default, and equals the job's completion time."""
    clock = FakeClock(START)
    with serve(clock, event_delay_seconds=5) as (running, client):
        terminate(client, ids=[running.simulator.users[0].id])
        clock.advance(5)
        created_at = admin_events(client)["entries"][0]["created_at"]
        assert created_at.endswith("-08:00")
        assert datetime.fromisoformat(created_at).timestamp() == START + 5


def test_relogins_follow_a_share_of_terminations() -> None:
    """relogin_share of terminated users get a LOGIN event relogin_after_seconds after their termination."""
    clock = FakeClock()
    with serve(clock, users=400, relogin_share=0.5, relogin_after_seconds=60) as (running, client):
        ids = [user.id for user in running.simulator.users]
        assert terminate(client, ids=ids).status_code == 202
        assert {event["event_type"] for event in read_all_events(client)[0]} == {"TERMINATE_USER_SESSIONS"}
        clock.advance(60)
        logins = read_all_events(client, event_type="LOGIN")[0]
        assert 150 < len(logins) < 250
        assert all(event["source"]["id"] == event["created_by"]["id"] for event in logins)
        again = Simulator(running.config)  # the same users sign in again for the same seed
        again.start_termination_job(again.service_account, again.users)
        assert {event["source"]["id"] for event in again.events() if event["event_type"] == "LOGIN"} == {
            event["source"]["id"] for event in logins
        }


def test_short_pages_still_deliver_every_event_once() -> None:
    """With short pages, paging until an empty page yields every event exactly once, in time order."""
    with serve(users=300, short_page_share=1.0) as (running, client):
        terminate(client, ids=[user.id for user in running.simulator.users])
        events, pages = read_all_events(client, limit=50)
        ids = [event["event_id"] for event in events]
        assert len(ids) == len(set(ids)) == 300
        assert all(0 < page["chunk_size"] < 50 for page in pages[:-1])
        assert [event["created_at"] for event in events] == sorted(event["created_at"] for event in events)


def test_stream_position_now_returns_the_end_then_new_events(
    default_sim: tuple[RunningSimulator, httpx.Client],
) -> None:
    """``stream_position=now`` answers an empty page and the current end; later events follow it."""
    running, client = default_sim
    terminate(client, ids=[running.simulator.users[0].id])
    now = admin_events(client, stream_position="now")
    assert (now["entries"], now["next_stream_position"]) == ([], "1")
    terminate(client, ids=[running.simulator.users[1].id])
    after = admin_events(client, stream_position=now["next_stream_position"])
    assert [event["source"]["id"] for event in after["entries"]] == [running.simulator.users[1].id]


def test_created_after_and_before_bound_the_events() -> None:
    """created_after / created_before (RFC 3339, any offset) keep events inside the bounds."""
    clock = FakeClock()
    with serve(clock) as (running, client):
        early, late = running.simulator.users[:2]
        terminate(client, ids=[early.id])
        clock.advance(100)
        terminate(client, ids=[late.id])
        middle = box_time(START + 50)
        after = read_all_events(client, created_after=middle)[0]
        before = read_all_events(client, created_before=middle)[0]
        assert [event["source"]["id"] for event in after] == [late.id]
        assert [event["source"]["id"] for event in before] == [early.id]
        naive = client.get("/2.0/events", params={"stream_type": "admin_logs", "created_after": middle[:19]})
        assert naive.status_code == 400


def test_event_type_filter() -> None:
    """event_type (comma-separated) keeps only those types."""
    with serve(relogin_share=1.0, relogin_after_seconds=0) as (running, client):
        terminate(client, ids=[user.id for user in running.simulator.users[:3]])
        assert {event["event_type"] for event in read_all_events(client, event_type="LOGIN")[0]} == {"LOGIN"}
        both = read_all_events(client, event_type="LOGIN,TERMINATE_USER_SESSIONS")[0]
        assert len(both) == 6


def test_streaming_may_repeat_and_reorder() -> None:
    """admin_logs_streaming with streaming_repeats re-delivers some events, yet every event arrives."""
    with serve(streaming_repeats=True) as (running, client):
        terminate(client, ids=[user.id for user in running.simulator.users[:100]])
        position, delivered = "0", []
        while True:
            page = client.get(
                "/2.0/events", params={"stream_type": "admin_logs_streaming", "stream_position": position, "limit": 20}
            ).json()
            if not page["entries"]:
                break
            delivered += [event["event_id"] for event in page["entries"]]
            position = page["next_stream_position"]
        assert set(delivered) == {event["event_id"] for event in running.simulator.events()}
        assert len(delivered) > len(set(delivered))


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"stream_type": "admin_logs", "limit": "500"}, 200),
        ({"stream_type": "admin_logs", "limit": "501"}, 400),
        ({"stream_type": "admin_logs", "stream_position": "abc"}, 400),
        ({"stream_type": "nonsense"}, 400),
        ({"stream_type": "changes"}, 200),
    ],
)
def test_events_parameter_checks(
    default_sim: tuple[RunningSimulator, httpx.Client], params: dict[str, str], status: int
) -> None:
    """limit is 1..500; positions are numbers or ``now``; unknown stream types are refused."""
    _, client = default_sim
    assert client.get("/2.0/events", params=params).status_code == status


def test_admin_events_need_an_admin() -> None:
    """A non-admin caller gets 403 on the admin streams."""
    with serve(service_account_role="user") as (_, client):
        for stream_type in ("admin_logs", "admin_logs_streaming"):
            response = client.get("/2.0/events", params={"stream_type": stream_type})
            assert (response.status_code, response.json()["code"]) == (403, "forbidden")


# --- rate limit and faults ------------------------------------------------------------------------------------------


def test_rate_limit_is_a_sliding_window_per_caller() -> None:
    """Over the budget: 429, rate_limit_exceeded and retry-after until the oldest request leaves the window."""
    clock = FakeClock()
    with serve(clock, rate_limit=3, rate_window_seconds=60) as (running, client):
        for _ in range(3):
            assert client.get("/2.0/users", params={"limit": 1}).status_code == 200
            clock.advance(10)
        refused = client.get("/2.0/users", params={"limit": 1})
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limit_exceeded"
        assert refused.headers["retry-after"] == "30"  # the first request leaves the window at +60
        clock.advance(30)
        assert client.get("/2.0/users", params={"limit": 1}).status_code == 200
        assert client.post("/oauth2/token", data=running.token_form).status_code == 200  # tokens do not count
        assert running.simulator.stats()["rate_limited"] == 1


def test_fault_rate_answers_500_or_503() -> None:
    """fault_rate=1 answers every API request with a Box-shaped 500 or 503."""
    with serve(fault_rate=1.0) as (running, client):
        answers = {client.get("/2.0/users").status_code for _ in range(20)}
        assert answers == {500, 503}
        assert running.simulator.stats()["faults"]["server_error"] == 20


def test_rate_limit_fault_rate_answers_spurious_429s() -> None:
    """rate_limit_fault_rate=1 answers 429 with retry-after although the budget is untouched."""
    with serve(rate_limit_fault_rate=1.0) as (_, client):
        response = client.get("/2.0/users")
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) >= 1


def test_drop_rate_closes_the_connection_without_an_answer() -> None:
    """drop_rate=1: the client sees the connection closed (httpx RemoteProtocolError), counted as dropped."""
    with serve(drop_rate=1.0) as (running, client):
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/2.0/users")
        assert running.simulator.stats()["statuses"] == {"200": 1, "dropped": 1}  # the token, then the drop
        assert client.post("/oauth2/token", data=running.token_form).status_code == 200  # the server lives on


async def test_latency_delays_without_blocking_other_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Concurrent requests wait out their latency side by side: all five are waiting before the first is answered."""
    # A blocking wait (or none) would answer each before the next began. The timings are in bench/simulator.py.
    with serve(latency_ms=500) as (running, sync_client):  # 500 ms: ample for five requests to arrive
        simulator, log = running.simulator, []
        draw_latency, count_answer = simulator.latency_seconds, simulator.count

        def latency_drawn() -> float:
            delay = draw_latency()
            log.append(f"wait {delay:g} s")
            return delay

        def answer_counted(endpoint: str, status: str) -> None:
            log.append(f"answer {status}")
            count_answer(endpoint, status)

        monkeypatch.setattr(simulator, "latency_seconds", latency_drawn)
        monkeypatch.setattr(simulator, "count", answer_counted)
        headers = {"Authorization": sync_client.headers["Authorization"]}
        async with httpx.AsyncClient(base_url=running.base_url, headers=headers) as client:
            responses = await asyncio.gather(*(client.get("/2.0/users", params={"limit": 1}) for _ in range(5)))
    assert {response.status_code for response in responses} == {200}
    assert log == ["wait 0.5 s"] * 5 + ["answer 200"] * 5


def test_small_answers_are_not_held_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small answers leave at once: the server's end of each connection has TCP_NODELAY (no ~40 ms Nagle wait)."""
    # Without it, Nagle holds each answer's body for the client's delayed ACK. The timings are in bench/simulator.py.
    nodelay: list[int] = []
    gateway_call = Gateway.__call__

    async def spied(gateway: Gateway, scope: Scope, receive: Receive, send: Send) -> None:
        cycle: Any = getattr(send, "__self__", None)  # uvicorn's request cycle, as drop_connection finds it
        nodelay.append(cycle.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        await gateway_call(gateway, scope, receive, send)

    monkeypatch.setattr(Gateway, "__call__", spied)
    with serve() as (running, client):  # its token request on the pooled connection
        for _ in range(3):
            client.get(f"/2.0/users/{running.simulator.users[0].id}", params={"fields": "login"})
        httpx.get(f"{running.base_url}/_sim/stats")  # a second connection
    assert len(nodelay) == 5
    assert all(nodelay), nodelay


SERVE_SCRIPT = """
from box_offboarding.simulator import SimulatorConfig, serve_forever
serve_forever(SimulatorConfig(users=20), port=0, on_ready=lambda running: print(running.base_url, flush=True))
print("stopped", flush=True)
"""


def test_serve_forever_answers_until_sigterm() -> None:
    """The CLI's blocking server answers on the reported URL and stops cleanly on SIGTERM."""
    with subprocess.Popen([sys.executable, "-c", SERVE_SCRIPT], stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().strip()
            assert httpx.get(f"{base_url}/_sim/stats").json()["requests_total"] == 0
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
            assert process.stdout.read().strip() == "stopped"
        finally:
            if process.poll() is None:
                process.kill()


def test_simulator_in_its_own_process_is_read_over_http() -> None:
    """run_simulator_process serves from a child process; its counts and events are read through /_sim."""
    with run_simulator_process(SimulatorConfig(users=30, event_delay_seconds=0)) as remote:
        token = httpx.post(f"{remote.base_url}/oauth2/token", data=remote.token_form).json()["access_token"]
        user_id = httpx.get(
            f"{remote.base_url}/2.0/users", params={"limit": 1}, headers={"Authorization": f"Bearer {token}"}
        ).json()["entries"][0]["id"]
        response = httpx.post(
            f"{remote.base_url}/2.0/users/terminate_sessions",
            json={"user_ids": [user_id], "user_logins": []},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 202
        assert remote.terminations_per_user() == {user_id: 1}
        assert [event["source"]["id"] for event in remote.events()] == [user_id]
        remote.reset_stats()
        assert remote.stats()["requests_total"] == 0


# --- uploads --------------------------------------------------------------------------------------------------------


def upload(client: httpx.Client, name: str, content: bytes, *, folder: str = "0") -> httpx.Response:
    attributes = json.dumps({"name": name, "parent": {"id": folder}})
    return client.post("/api/2.0/files/content", files=[("attributes", (None, attributes)), ("file", (name, content))])


def test_upload_conflict_and_new_version(default_sim: tuple[RunningSimulator, httpx.Client]) -> None:
    """201 with a Files body; the same name again is 409 naming the file; a new version replaces the bytes."""
    running, client = default_sim
    created = upload(client, "report.xlsx", b"first", folder="123")
    assert created.status_code == 201
    entry = created.json()["entries"][0]
    assert (entry["name"], entry["size"], entry["parent"]["id"]) == ("report.xlsx", 5, "123")
    clash = upload(client, "REPORT.xlsx", b"second", folder="123")
    assert (clash.status_code, clash.json()["code"]) == (409, "item_name_in_use")
    assert clash.json()["context_info"]["conflicts"][0]["id"] == entry["id"]
    assert upload(client, "report.xlsx", b"elsewhere", folder="0").status_code == 201
    version = client.post(
        f"/api/2.0/files/{entry['id']}/content",
        files=[("attributes", (None, json.dumps({"name": "report.xlsx"}))), ("file", ("report.xlsx", b"second"))],
    )
    assert (version.status_code, version.json()["entries"][0]["version_number"]) == (200, "2")
    assert running.simulator.uploads() == {"123/report.xlsx": b"second", "0/report.xlsx": b"elsewhere"}
    listed = httpx.get(f"{running.base_url}/_sim/uploads").json()["entries"]
    assert {(item["folder_id"], item["versions"]) for item in listed} == {("123", 2), ("0", 1)}


@pytest.mark.parametrize(
    ("parts", "code"),
    [
        ([("file", ("a.txt", b"x")), ("attributes", (None, '{"name": "a.txt", "parent": {"id": "0"}}'))],
         "metadata_after_file_contents"),
        ([("attributes", (None, '{"name": "a.txt", "parent": {"id": "0"}}'))], "bad_request"),
        ([("attributes", (None, "not json")), ("file", ("a.txt", b"x"))], "bad_request"),
        ([("attributes", (None, '{"name": "a.txt"}')), ("file", ("a.txt", b"x"))], "bad_request"),
        ([("attributes", (None, '{"name": "a/b", "parent": {"id": "0"}}')), ("file", ("a.txt", b"x"))],
         "item_name_invalid"),
    ],
)  # fmt: skip
def test_upload_refusals(
    default_sim: tuple[RunningSimulator, httpx.Client], parts: list[tuple[str, Any]], code: str
) -> None:
    """Attributes after the file, missing parts or bad attributes: 400 with Box's codes."""
    _, client = default_sim
    response = client.post("/api/2.0/files/content", files=parts)
    assert (response.status_code, response.json()["code"]) == (400, code)


def test_new_version_of_an_unknown_file_is_404(default_sim: tuple[RunningSimulator, httpx.Client]) -> None:
    """Uploading a version of a file that does not exist: 404."""
    _, client = default_sim
    response = client.post(
        "/api/2.0/files/42/content",
        files=[("attributes", (None, '{"name": "a.txt"}')), ("file", ("a.txt", b"x"))],
    )
    assert response.status_code == 404


# --- counting and inspection ----------------------------------------------------------------------------------------


def test_stats_count_every_request_and_reset_clears_them(default_sim: tuple[RunningSimulator, httpx.Client]) -> None:
    """/_sim/stats counts per route template and status, terminations per user; /_sim/reset clears the counts."""
    running, client = default_sim
    user = running.simulator.users[0]
    terminate(client, ids=[user.id])
    terminate(client, logins=[user.login])
    client.get(f"/2.0/users/{user.id}")
    client.get("/2.0/users/nobody")
    stats = httpx.get(f"{running.base_url}/_sim/stats").json()
    assert stats["endpoints"]["POST /2.0/users/terminate_sessions"] == {"202": 2}
    assert stats["endpoints"]["GET /2.0/users/{user_id}"] == {"200": 1, "404": 1}
    assert stats["endpoints"]["POST /oauth2/token"] == {"200": 1}
    assert stats["terminations_per_user"] == {user.id: 2}
    assert (stats["batches_accepted"], stats["events_total"], stats["requests_total"]) == (2, 2, 5)
    assert running.simulator.request_count("POST /2.0/users/terminate_sessions", 202) == 2
    events = httpx.get(f"{running.base_url}/_sim/events").json()
    assert events["entries"] == running.simulator.events()
    assert httpx.post(f"{running.base_url}/_sim/reset").status_code == 200
    assert running.simulator.stats()["requests_total"] == 0
    assert running.simulator.terminations_per_user() == {}
    assert len(running.simulator.events()) == 2  # state stays, counts go


def test_reset_brings_back_the_state_of_a_new_simulator() -> None:
    """reset() forgets tokens, rate windows, events, uploads and counts, and replays the seeded randomness."""
    config = SimulatorConfig(users=20, rate_limit=1, event_delay_seconds=0)
    used, new = Simulator(config, clock=lambda: START), Simulator(config, clock=lambda: START)
    form = {"grant_type": "client_credentials", "client_id": config.client_id, "client_secret": config.client_secret,
            "box_subject_type": "enterprise", "box_subject_id": config.enterprise_id}  # fmt: skip
    bearer = f"Bearer {used.issue_token(form)['access_token']}"
    caller = used.caller_for(bearer)
    assert caller is not None
    assert (used.admit(caller), used.admit(caller)) == (None, 60)  # the budget of one is spent
    used.start_termination_job(caller, used.users[:2])
    used.upload(caller=caller, folder_id="0", name="report.xlsx", content=b"x")
    used.count("GET /2.0/users", "200")
    used.users.pop()

    used.reset()

    assert used.caller_for(bearer) is None
    assert used.admit(caller) is None
    assert (used.events(), used.uploads()) == ([], {})
    assert used.stats() == new.stats()
    assert used.users == new.users
    for simulator in (used, new):
        simulator.start_termination_job(simulator.service_account, simulator.users[:3])
    assert used.events() == new.events()  # the same event ids: the generator starts over from the seed


# --- directory and configuration ------------------------------------------------------------------------------------


def test_generated_directory_is_deterministic_and_realistic() -> None:
    """The same seed gives the same users; logins are unique first.last@domain; a few admins, ~3% inactive."""
    users = generate_directory(5000, 11, domain="corp.test")
    assert users == generate_directory(5000, 11, domain="corp.test")
    assert users != generate_directory(5000, 12, domain="corp.test")
    logins = [user.login for user in users]
    assert len(set(logins)) == 5000
    assert all(login.endswith("@corp.test") and login.isascii() and "." in login.split("@")[0] for login in logins)
    assert any(not user.name.isascii() for user in users)
    roles = [user.role for user in users]
    assert min(roles.count("admin"), roles.count("coadmin")) >= 1
    assert roles.count("user") > 4980
    assert 120 <= sum(user.status == "inactive" for user in users) <= 180
    assert [int(user.id) for user in users] == sorted(int(user.id) for user in users)


SEARCHED = Simulator(SimulatorConfig(users=3000, seed=5)).directory


@settings(max_examples=300, deadline=None)
@given(term=st.text(alphabet="aAbcdeéjJlmnorsz. @", min_size=1, max_size=5))
def test_prefix_search_agrees_with_a_plain_scan(term: str) -> None:
    """The bisect prefix index finds exactly the users a full scan of logins and names finds, in listing order."""
    lowered = term.lower()
    expected = [
        user.id
        for user in SEARCHED.people
        if user.login.lower().startswith(lowered) or user.name.lower().startswith(lowered)
    ]
    assert [user.id for user in SEARCHED.search(term)] == expected


def test_service_account_is_an_extra_unlisted_admin() -> None:
    """The caller is an AutomationUser admin outside ``users`` and outside the listing."""
    simulator = Simulator(SimulatorConfig(users=50))
    account = simulator.service_account
    assert account.login.startswith("AutomationUser_")
    assert account.login.endswith("@boxdevedition.com")
    assert account.role == "admin"
    assert account not in simulator.users
    assert len(simulator.directory.search(None)) == 50


def test_load_directory_reads_a_csv(tmp_path: Path) -> None:
    """A valid CSV gives its users in file order, unicode names kept."""
    path = tmp_path / "users.csv"
    path.write_text(DIRECTORY_CSV, encoding="utf-8")
    users = load_directory(path)
    assert [user.id for user in users] == ["101", "102", "103", "104", "105"]
    assert (users[3].name, users[3].role, users[4].status) == ("Zoë Müller", "coadmin", "cannot_delete_edit")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("id,login,name,status\n1,a@x.com,A,active\n", "line 1: header"),
        ("id,login,name,status,role\n1,a@x.com,A,active,user\n2,b@x.com,B,retired,user\n", "line 3: status"),
        ("id,login,name,status,role\nabc,a@x.com,A,active,user\n", "line 2: id"),
        ("id,login,name,status,role\n1,not-an-email,A,active,user\n", "line 2: login"),
        ("id,login,name,status,role\n1,a@x.com,A,active,owner\n", "line 2: role"),
        ("id,login,name,status,role\n1,a@x.com,A,active,user\n2,A@X.com,B,active,user\n", "line 3: duplicate login"),
        ("id,login,name,status,role\n1,a@x.com,A,active,user\n1,b@x.com,B,active,user\n", "line 3: duplicate id"),
        ("id,login,name,status,role\n1,a@x.com,,active,user\n", "line 2: name"),
    ],
)
def test_load_directory_names_the_bad_line(tmp_path: Path, text: str, fragment: str) -> None:
    """Every CSV problem raises DirectoryFileError naming the file and line."""
    path = tmp_path / "users.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DirectoryFileError, match=fragment) as raised:
        load_directory(path)
    assert str(path) in str(raised.value)


@pytest.mark.parametrize(
    "change",
    [{"fault_rate": 1.5}, {"drop_rate": -0.1}, {"rate_limit": 0}, {"service_account_role": "owner"}, {"colour": "red"}],
)
def test_config_is_validated(change: dict[str, Any]) -> None:
    """Out-of-range or unknown settings are refused when the config is built."""
    with pytest.raises(ValidationError):
        SimulatorConfig(**change)


def test_cli_banner_names_urls_and_credentials(default_sim: tuple[RunningSimulator, httpx.Client]) -> None:
    """The banner gives the base and upload URLs and the env lines to export."""
    running, _ = default_sim
    banner = cli_banner(running)
    assert f"export BOX_BASE_URL={running.base_url}" in banner
    assert f"export BOX_UPLOAD_URL={running.base_url}/api" in banner
    assert "export BOX_CLIENT_ID=sim-client-id" in banner
    assert "export BOX_ENTERPRISE_ID=900001" in banner
