"""Conformance: every body the simulator answers (2xx and errors) validates against the response schema that
Box's OpenAPI description gives for that operation and status, checked by openapi-core."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from box_offboarding.simulator import RunningSimulator, SimulatorConfig, run_simulator

TERMINATION_EVENT_TYPE = SimulatorConfig().termination_event_type

#: Where the OpenAPI file itself falls short of Box, each checked narrowly (rule, JSON path, value) below.
#: - ClientError.code's enum lacks codes Box really sends: ``rate_limit_exceeded`` (429, Box's rate-limit guide),
#:   ``item_name_in_use`` (409, Box's ConflictError docs) and ``metadata_after_file_contents`` (named by the upload
#:   operation's own description).
#: - Event.event_type's enum lacks the termination job's event type (Box does not publish it; a setting).
#: - EventSourceResource is a ``oneOf`` that includes GenericSource, which accepts any object: a valid user source
#:   matches both GenericSource and User, so ``oneOf`` can never pass for it.
BOX_CODES_MISSING_FROM_THE_ENUM = frozenset({"rate_limit_exceeded", "item_name_in_use", "metadata_after_file_contents"})


def is_known_spec_gap(error: Any) -> bool:
    """Whether a schema error is one of the documented gaps above, and nothing else."""
    path = list(error.path)
    if error.validator == "enum" and path == ["code"]:
        return error.instance in BOX_CODES_MISSING_FROM_THE_ENUM
    if error.validator == "enum" and path[-1:] == ["event_type"] and path[:1] == ["entries"]:
        return bool(error.instance == TERMINATION_EVENT_TYPE)
    if error.validator == "oneOf" and path[-1:] == ["source"] and path[:1] == ["entries"]:
        return "is valid under each of" in error.message and "GenericSource" in error.message
    return False


@dataclass
class BoxRequest:
    """openapi-core's Request protocol for the Box URL a simulator request stands for."""

    method: str
    host_url: str
    path: str
    parameters: RequestParameters = field(default_factory=RequestParameters)
    body: bytes | None = None
    content_type: str = "application/json"


@dataclass
class BoxResponse:
    status_code: int
    headers: Headers
    content_type: str
    data: bytes


def as_box_exchange(response: httpx.Response) -> tuple[BoxRequest, BoxResponse]:
    """Map a simulator exchange onto Box's hosts: uploads on upload.box.com, the rest on api.box.com."""
    path = response.request.url.path
    host = "https://upload.box.com" if path.startswith("/api/") else "https://api.box.com"
    query = ImmutableMultiDict(list(response.request.url.params.multi_items()))
    request = BoxRequest(
        method=response.request.method.lower(), host_url=host, path=path, parameters=RequestParameters(query=query)
    )
    content_type = response.headers.get("content-type", "")
    return request, BoxResponse(
        response.status_code, Headers(list(response.headers.items())), content_type, response.content
    )


def unexplained_errors(openapi: OpenAPI, response: httpx.Response) -> list[str]:
    """Every way the response fails its schema, minus the documented gaps of the OpenAPI file."""
    problems: list[str] = []
    for error in openapi.iter_response_errors(*as_box_exchange(response)):
        schema_errors = getattr(error.__cause__, "schema_errors", None)
        if not schema_errors:
            problems.append(f"{type(error).__name__}: {error}")
            continue
        problems += [
            f"{list(item.path)}: {item.message[:200]}" for item in schema_errors if not is_known_spec_gap(item)
        ]
    return problems


@pytest.fixture(scope="module")
def openapi(openapi_path: Path) -> OpenAPI:
    # The 1.7 MB description is Box's published file: validating the file itself is not this test's job.
    return OpenAPI.from_file_path(str(openapi_path), config=Config(spec_validator_cls=None))


# --- one scenario reaching every status of every endpoint -----------------------------------------------------------


@dataclass
class Clients:
    admin: httpx.Client
    plain: httpx.Client  # a non-admin service account
    faulty: httpx.Client  # every API request fails with 500 or 503
    limited: httpx.Client  # a budget of one request
    main: RunningSimulator


def authorised_client(stack: ExitStack, running: RunningSimulator) -> httpx.Client:
    client = stack.enter_context(httpx.Client(base_url=running.base_url))
    token = client.post("/oauth2/token", data=running.token_form).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def upload(client: httpx.Client, name: str, *, parts_reversed: bool = False) -> httpx.Response:
    parts: list[tuple[str, tuple[str | None, str | bytes]]] = [
        ("attributes", (None, json.dumps({"name": name, "parent": {"id": "0"}}))),
        ("file", (name, b"PK\x03\x04 not really a workbook")),
    ]
    return client.post("/api/2.0/files/content", files=parts[::-1] if parts_reversed else parts)


def new_version(client: httpx.Client, file_id: str, **headers: str) -> httpx.Response:
    parts: list[tuple[str, tuple[str | None, str | bytes]]] = [
        ("attributes", (None, '{"name": "report.xlsx"}')),
        ("file", ("report.xlsx", b"v2")),
    ]
    return client.post(f"/api/2.0/files/{file_id}/content", files=parts, headers=headers)


def first_with_status(request: Callable[[], httpx.Response], status: int) -> httpx.Response:
    for _ in range(100):
        response = request()
        if response.status_code == status:
            return response
    raise AssertionError(f"no {status} in 100 tries")


def token(c: Clients, **change: str) -> httpx.Response:
    return c.admin.post("/oauth2/token", data={**c.main.token_form, **change})


def users(client: httpx.Client, **params: Any) -> httpx.Response:
    return client.get("/2.0/users", params=params)


def user(c: Clients, **params: Any) -> httpx.Response:
    return c.admin.get(f"/2.0/users/{c.main.simulator.users[0].id}", params=params)


def first_ids(c: Clients, count: int) -> list[str]:
    return [person.id for person in c.main.simulator.users[:count]]


def terminate(client: httpx.Client, ids: Any = (), logins: Any = ()) -> httpx.Response:
    return client.post("/2.0/users/terminate_sessions", json={"user_ids": list(ids), "user_logins": list(logins)})


def terminate_groups(client: httpx.Client, group_ids: list[str]) -> httpx.Response:
    return client.post("/2.0/groups/terminate_sessions", json={"group_ids": group_ids})


def admin_events(client: httpx.Client, **params: Any) -> httpx.Response:
    return client.get("/2.0/events", params={"stream_type": "admin_logs", **params})


def uploaded_id(c: Clients) -> str:
    file_id: str = c.main.simulator.uploaded_files()[0]["id"]
    return file_id


SCENARIO: list[tuple[str, int, Callable[[Clients], httpx.Response]]] = [
    ("token", 200, lambda c: token(c)),
    ("token wrong secret", 400, lambda c: token(c, client_secret="x")),
    ("token wrong grant", 400, lambda c: token(c, grant_type="x")),
    ("users", 200, lambda c: users(c.admin, limit=20)),
    ("users fields", 200, lambda c: users(c.admin, fields="id,login,name,status,role,enterprise")),
    ("users marker", 200, lambda c: users(c.admin, usemarker="true", limit=5)),
    ("users last marker page", 200, lambda c: users(c.admin, usemarker="true", limit=1000)),
    ("users external", 200, lambda c: users(c.admin, filter_term=c.main.simulator.directory.external[0].login)),
    ("users limit too big", 400, lambda c: users(c.admin, limit=1001)),
    ("users offset too far", 400, lambda c: users(c.admin, offset=10001)),
    ("users without token", 401, lambda c: httpx.get(f"{c.main.api_url}/users")),
    ("users unknown token", 401, lambda c: httpx.get(f"{c.main.api_url}/users", headers={"Authorization": "Bearer x"})),
    ("users rate limited", 429, lambda c: first_with_status(lambda: users(c.limited), 429)),
    ("users 500", 500, lambda c: first_with_status(lambda: users(c.faulty), 500)),
    ("users 503", 503, lambda c: first_with_status(lambda: users(c.faulty), 503)),
    ("user", 200, lambda c: user(c)),
    ("user fields", 200, lambda c: user(c, fields="role,enterprise")),
    ("user unknown", 404, lambda c: c.admin.get("/2.0/users/1")),
    ("terminate", 202, lambda c: terminate(c.admin, first_ids(c, 5))),
    ("terminate empty", 400, lambda c: terminate(c.admin)),
    ("terminate non-string id", 400, lambda c: terminate(c.admin, [1])),
    ("terminate not JSON", 400, lambda c: c.admin.post("/2.0/users/terminate_sessions", content=b"user_ids=1")),
    ("terminate too many", 400, lambda c: terminate(c.admin, first_ids(c, 11))),
    ("terminate unknown user", 404, lambda c: terminate(c.admin, logins=["nobody@example.com"])),
    ("terminate not admin", 403, lambda c: terminate(c.plain, ["1"])),
    ("terminate 503", 503, lambda c: first_with_status(lambda: terminate(c.faulty, ["1"]), 503)),
    ("terminate rate limited", 429, lambda c: first_with_status(lambda: terminate(c.limited, ["1"]), 429)),
    ("groups", 202, lambda c: terminate_groups(c.admin, [next(iter(c.main.simulator.groups))])),
    ("groups empty", 400, lambda c: terminate_groups(c.admin, [])),
    ("groups unknown", 404, lambda c: terminate_groups(c.admin, ["1"])),
    ("groups not admin", 403, lambda c: terminate_groups(c.plain, ["1"])),
    ("events admin_logs", 200, lambda c: admin_events(c.admin, limit=500)),
    ("events streaming", 200, lambda c: admin_events(c.admin, stream_type="admin_logs_streaming")),
    ("events filtered", 200, lambda c: admin_events(c.admin, event_type="LOGIN")),
    ("events now", 200, lambda c: admin_events(c.admin, stream_position="now")),
    ("events user stream", 200, lambda c: c.admin.get("/2.0/events")),
    ("events limit too big", 400, lambda c: admin_events(c.admin, limit=501)),
    ("events not admin", 403, lambda c: admin_events(c.plain)),
    ("upload", 201, lambda c: upload(c.admin, "report.xlsx")),
    ("upload name in use", 409, lambda c: upload(c.admin, "report.xlsx")),
    ("upload attributes after file", 400, lambda c: upload(c.admin, "other.xlsx", parts_reversed=True)),
    ("upload invalid name", 400, lambda c: upload(c.admin, "a/b.xlsx")),
    ("new version", 200, lambda c: new_version(c.admin, uploaded_id(c))),
    ("new version stale etag", 412, lambda c: new_version(c.admin, uploaded_id(c), **{"if-match": "0"})),
    ("new version unknown file", 404, lambda c: new_version(c.admin, "42")),
]


@pytest.fixture(scope="module")
def exchanges() -> Iterator[dict[str, httpx.Response]]:
    """Run the whole scenario once (in order: later steps rely on earlier ones) against four simulators."""
    main_config = SimulatorConfig(
        users=300,
        event_delay_seconds=0,
        relogin_share=1.0,
        relogin_after_seconds=0,
        max_batch_size=10,
        external_users=1,
    )
    with ExitStack() as stack:
        main = stack.enter_context(run_simulator(main_config))
        plain = stack.enter_context(run_simulator(SimulatorConfig(users=20, service_account_role="user")))
        faulty = stack.enter_context(run_simulator(SimulatorConfig(users=20, fault_rate=1.0)))
        limited = stack.enter_context(run_simulator(SimulatorConfig(users=20, rate_limit=1)))
        clients = Clients(
            admin=authorised_client(stack, main),
            plain=authorised_client(stack, plain),
            faulty=authorised_client(stack, faulty),
            limited=authorised_client(stack, limited),
            main=main,
        )
        yield {label: step(clients) for label, _, step in SCENARIO}


@pytest.mark.parametrize(("label", "status"), [(label, status) for label, status, _ in SCENARIO])
def test_response_matches_the_openapi_schema(
    openapi: OpenAPI, exchanges: dict[str, httpx.Response], label: str, status: int
) -> None:
    """The answer has the expected status and its body validates against Box's schema for that status."""
    response = exchanges[label]
    assert response.status_code == status, response.text
    assert unexplained_errors(openapi, response) == []


def test_the_scenario_exercises_the_documented_gaps(exchanges: dict[str, httpx.Response]) -> None:
    """The allowances above are used, so they are not dead (events carry the termination type and a user source)."""
    entries = exchanges["events admin_logs"].json()["entries"]
    assert {entry["event_type"] for entry in entries} == {TERMINATION_EVENT_TYPE, "LOGIN"}
    assert exchanges["users rate limited"].json()["code"] == "rate_limit_exceeded"
    assert exchanges["upload name in use"].json()["code"] == "item_name_in_use"


# --- the check itself must catch wrong bodies -----------------------------------------------------------------------

GOOD_USER = {"type": "user", "id": "1", "name": "Ann", "login": "ann@example.com"}
GOOD_EVENT = {"type": "event", "event_id": "e1", "event_type": "LOGIN", "created_by": GOOD_USER, "source": GOOD_USER}


@pytest.mark.parametrize(
    ("method", "url", "status", "body", "defect"),
    [
        ("POST", "/oauth2/token", 200, {"access_token": "t", "expires_in": "soon", "token_type": "bearer"},
         ["expires_in"]),
        ("POST", "/oauth2/token", 200, {"access_token": "t", "expires_in": 3600, "token_type": "mac"}, ["token_type"]),
        ("GET", "/2.0/users", 200, {"total_count": "many", "entries": []}, ["total_count"]),
        ("GET", "/2.0/users", 200, {"entries": [{"type": "user", "login": "no-id@example.com"}]}, ["entries", 0]),
        ("GET", "/2.0/users", 200, {"entries": [{**GOOD_USER, "status": "retired"}]}, ["entries", 0, "status"]),
        ("GET", "/2.0/users/1", 404, {"type": "error", "status": "404", "code": "not_found"}, ["status"]),
        ("POST", "/2.0/users/terminate_sessions", 202, {"message": 5}, ["message"]),
        ("POST", "/2.0/users/terminate_sessions", 429, {"type": "oops", "status": 429, "code": "rate_limit_exceeded"},
         ["type"]),
        ("POST", "/2.0/users/terminate_sessions", 400, {"type": "error", "status": 400, "code": "not_a_box_code"},
         ["code"]),
        ("GET", "/2.0/events", 200, {"chunk_size": 1, "entries": [{**GOOD_EVENT, "created_by": "svc"}]},
         ["entries", 0, "created_by"]),
        ("GET", "/2.0/events", 200, {"chunk_size": 1, "entries": [{**GOOD_EVENT, "source": "a user"}]},
         ["entries", 0, "source"]),
        ("GET", "/2.0/events", 200, {"chunk_size": 1, "entries": [{**GOOD_EVENT, "event_type": "NOT_AN_EVENT"}]},
         ["entries", 0, "event_type"]),
        ("GET", "/2.0/events", 200, {"chunk_size": 1, "next_stream_position": True, "entries": []},
         ["next_stream_position"]),
        ("POST", "/api/2.0/files/content", 201, {"total_count": 1, "entries": [{"type": "folder", "id": "1"}]},
         ["entries", 0, "type"]),
        ("POST", "/api/2.0/files/content", 409, {"type": "error", "status": 409, "context_info": []}, ["context_info"]),
    ],
)  # fmt: skip
def test_a_wrong_body_fails_the_check(
    openapi: OpenAPI, method: str, url: str, status: int, body: dict[str, Any], defect: list[str | int]
) -> None:
    """Each deliberately wrong body is caught at its defect and nowhere else (the gap allowances stay narrow)."""
    request = httpx.Request(method, f"http://simulator{url}")
    response = httpx.Response(status, json=body, request=request)
    problems = unexplained_errors(openapi, response)
    assert problems, "the defect was not caught"
    assert {problem.split(": ", 1)[0] for problem in problems} == {str(defect)}, problems


def test_a_good_body_passes_the_check(openapi: OpenAPI) -> None:
    """The same check accepts a correct hand-made body (the negative cases fail for their defect only)."""
    request = httpx.Request("GET", "http://simulator/2.0/events")
    response = httpx.Response(
        200, json={"chunk_size": 1, "next_stream_position": "1", "entries": [GOOD_EVENT]}, request=request
    )
    assert unexplained_errors(openapi, response) == []
