"""The simulator's HTTP face: Box's routes on one origin (``/oauth2/token``, ``/2.0/...``, ``/api/2.0/...``) plus
``/_sim/...`` for inspection.

A pure-ASGI :class:`Gateway` does what Box does before an endpoint sees a request (latency, dropped connections,
bearer-token check, the per-caller rate limit, injected 429/500/503) and counts every answer; the Starlette routes
behind it implement the endpoints.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Sequence
from typing import Any, Final

from starlette.applications import Starlette
from starlette.datastructures import FormData, Headers, QueryParams, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from box_offboarding.box.models import ADMIN_ROLES
from box_offboarding.simulator import bodies
from box_offboarding.simulator.directory import DirectoryUser
from box_offboarding.simulator.events import EventQuery
from box_offboarding.simulator.files import NameInUseError, StoredFile, file_mini
from box_offboarding.simulator.state import Simulator, TokenRefused

JSON = dict[str, Any]

USERS_MAX_LIMIT: Final = 1000
USERS_MAX_OFFSET: Final = 10_000
EVENTS_DEFAULT_LIMIT: Final = 100
EVENTS_MAX_LIMIT: Final = 500
STREAM_TYPES: Final = frozenset({"all", "changes", "sync", "admin_logs", "admin_logs_streaming"})
ADMIN_STREAM_TYPES: Final = frozenset({"admin_logs", "admin_logs_streaming"})
USER_TYPES: Final = frozenset({"all", "managed", "external"})
MAX_FILE_NAME_LENGTH: Final = 255
MAX_ATTRIBUTES_BYTES: Final = 1024 * 1024
WWW_AUTHENTICATE_MISSING: Final = 'Bearer realm="Service"'
WWW_AUTHENTICATE_INVALID: Final = (
    'Bearer realm="Service", error="invalid_token", error_description="The access token provided is invalid."'
)


class BoxRefusal(Exception):
    """Raised by an endpoint to answer with Box's ``ClientError`` body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        context_info: JSON | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.context_info = context_info
        self.headers = headers or {}


def bad_request(message: str, *, code: str = "bad_request") -> BoxRefusal:
    return BoxRefusal(400, code, message)


def refusal_response(refusal: BoxRefusal, *, request_id: str) -> JSONResponse:
    body = bodies.client_error(
        refusal.status, refusal.code, refusal.message, request_id=request_id, context_info=refusal.context_info
    )
    return JSONResponse(body, status_code=refusal.status, headers=refusal.headers)


# --- the gateway ----------------------------------------------------------------------------------------------------


class Gateway:
    """Wraps the routes: request ids, latency, faults, authentication and rate limiting, and counting."""

    def __init__(self, simulator: Simulator, app: Starlette) -> None:
        self.simulator = simulator
        self.app = app
        self.routes: Sequence[BaseRoute] = app.routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope["state"] = {**scope.get("state", {}), "request_id": request_id}
        path: str = scope["path"]
        if path.startswith("/_sim/"):
            await self.app(scope, receive, send)
            return
        endpoint = f"{scope['method']} {self._template(scope)}"
        delay = self.simulator.latency_seconds()
        if delay:
            await asyncio.sleep(delay)
        is_api = not path.startswith("/oauth2/")
        if is_api and self.simulator.roll_fault("drop"):
            self.simulator.count(endpoint, "dropped")
            await drop_connection(send)
            return

        async def send_counted(message: Message) -> None:
            """Count the answer before its first byte leaves, so a client never sees an answer not yet counted."""
            if message["type"] == "http.response.start":
                self.simulator.count(endpoint, str(message["status"]))
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"box-request-id", request_id.encode())],
                }
            await send(message)

        refusal = self._refusal(scope) if is_api else None
        if refusal is not None:
            await refusal_response(refusal, request_id=request_id)(scope, receive, send_counted)
        else:
            await self.app(scope, receive, send_counted)

    def _refusal(self, scope: Scope) -> BoxRefusal | None:
        """Why Box would answer before the endpoint runs (401, 429, 500, 503), if it would; else note the caller."""
        simulator = self.simulator
        authorization = Headers(scope=scope).get("authorization")
        caller = simulator.caller_for(authorization)
        if caller is None:
            challenge = WWW_AUTHENTICATE_INVALID if authorization else WWW_AUTHENTICATE_MISSING
            return BoxRefusal(401, "unauthorized", "Unauthorized", headers={"www-authenticate": challenge})
        if simulator.roll_fault("rate_limit"):
            return rate_limited(retry_after=1)
        retry_after = simulator.admit(caller)
        if retry_after is not None:
            return rate_limited(retry_after=retry_after)
        if simulator.roll_fault("server_error"):
            if simulator.choose((500, 503)) == 500:
                return BoxRefusal(500, "internal_server_error", "Internal Server Error")
            return BoxRefusal(503, "unavailable", "Unavailable")
        scope["state"]["caller"] = caller
        return None

    def _template(self, scope: Scope) -> str:
        """The route template a request hit (``/2.0/users/{user_id}``), for counting; the path when none matched."""
        partial = None
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return str(getattr(route, "path", scope["path"]))
            if match is Match.PARTIAL and partial is None:
                partial = str(getattr(route, "path", scope["path"]))
        return partial or "(unmatched)"


def rate_limited(*, retry_after: int) -> BoxRefusal:
    return BoxRefusal(
        429,
        "rate_limit_exceeded",
        "Request rate limit exceeded, please try again later",
        headers={"retry-after": str(retry_after)},
    )


async def drop_connection(send: Send) -> None:
    """Close the client's connection without a byte of answer.

    uvicorn answers 500 when an app raises before responding, so the socket is aborted directly: uvicorn's ``send``
    is a bound method of its request cycle, which holds the asyncio transport. Should a server not expose it, a
    response promising more bytes than it sends makes the server cut the connection instead."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if isinstance(transport, asyncio.Transport):
        transport.abort()
        await asyncio.sleep(0)  # let the server see the connection lost, so it does not try to answer for us
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1024")]})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


# --- token ----------------------------------------------------------------------------------------------------------


async def post_token(request: Request) -> JSONResponse:
    simulator: Simulator = request.app.state.simulator
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        body = bodies.oauth_error("invalid_request", "The request body must be application/x-www-form-urlencoded")
        return JSONResponse(body, status_code=400)
    form = await request.form()
    try:
        token = simulator.issue_token({key: value for key, value in form.items() if isinstance(value, str)})
    except TokenRefused as refusal:
        return JSONResponse(refusal.body, status_code=400)
    return JSONResponse(token, headers={"cache-control": "no-store"})


# --- users ----------------------------------------------------------------------------------------------------------


def caller_of(request: Request) -> DirectoryUser:
    caller: DirectoryUser = request.state.caller
    return caller


def int_param(params: QueryParams, name: str, *, default: int, low: int, high: int | None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"Invalid value '{raw}' for query parameter '{name}': expected an integer") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise bad_request(f"Invalid value '{raw}' for query parameter '{name}': must be {bound}")
    return value


def fields_param(params: QueryParams) -> list[str] | None:
    raw = params.get("fields")
    if raw is None:
        return None
    return [name.strip() for name in raw.split(",") if name.strip()]


def encode_marker(position: int) -> str:
    return base64.urlsafe_b64encode(f"users:{position}".encode()).decode().rstrip("=")


def decode_marker(marker: str | None) -> int:
    if not marker:
        return 0
    try:
        text = base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4)).decode()
        kind, _, position = text.partition(":")
        if kind == "users" and position.isdigit():
            return int(position)
    except (binascii.Error, UnicodeDecodeError):
        pass
    raise bad_request(f"Invalid value '{marker}' for query parameter 'marker'")


async def get_users(request: Request) -> JSONResponse:
    simulator: Simulator = request.app.state.simulator
    params = request.query_params
    limit = int_param(params, "limit", default=100, low=1, high=USERS_MAX_LIMIT)
    user_type = params.get("user_type") or "all"
    if user_type not in USER_TYPES:
        raise bad_request(f"Invalid value '{user_type}' for query parameter 'user_type'")
    fields = fields_param(params)
    matches = simulator.directory.search(params.get("filter_term"), user_type=user_type)
    if params.get("usemarker", "").lower() == "true":
        start = decode_marker(params.get("marker"))
        page = matches[start : start + limit]
        more = start + limit < len(matches)
        body: JSON = {"limit": limit, "next_marker": encode_marker(start + limit) if more else None}
    else:
        offset = int_param(params, "offset", default=0, low=0, high=None)
        if offset > USERS_MAX_OFFSET:
            raise bad_request(
                f"Queries with offset parameter value exceeding {USERS_MAX_OFFSET} will be rejected: "
                "use marker-based pagination (usemarker=true)"
            )
        page = matches[offset : offset + limit]
        body = {"total_count": len(matches), "limit": limit, "offset": offset}
    body["entries"] = [simulator.user_body(user, fields) for user in page]
    return JSONResponse(body)


async def get_user(request: Request) -> JSONResponse:
    simulator: Simulator = request.app.state.simulator
    user_id: str = request.path_params["user_id"]
    user = simulator.directory.by_id.get(user_id)
    if user is None:
        raise not_found("user", user_id)
    return JSONResponse(simulator.user_body(user, fields_param(request.query_params)))


def not_found(kind: str, value: str) -> BoxRefusal:
    """Box's 404, naming what was not found the way Box's ``context_info`` does."""
    message = f"Invalid value '{value}'. '{kind}' with value '{value}' not found"
    context = {"errors": [{"reason": "invalid_parameter", "name": kind, "message": message}]}
    return BoxRefusal(404, "not_found", "Not Found", context_info=context)


# --- session termination --------------------------------------------------------------------------------------------

PAYLOAD_NOT_JSON: Final = "Supported payload format is JSON"


def require_admin(request: Request) -> DirectoryUser:
    caller = caller_of(request)
    if caller.role not in ADMIN_ROLES:
        raise BoxRefusal(403, "forbidden", "Access denied - insufficient permission")
    return caller


async def json_object(request: Request) -> JSON:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise bad_request(PAYLOAD_NOT_JSON)
    try:
        payload = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise bad_request(PAYLOAD_NOT_JSON) from None
    if not isinstance(payload, dict):
        raise bad_request(PAYLOAD_NOT_JSON)
    return payload


def string_list(payload: JSON, key: str, *, wrong_format: str) -> list[str]:
    value = payload.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise bad_request(wrong_format)
    return value


def check_batch_size(size: int, *, maximum: int) -> None:
    if size > maximum:
        raise bad_request(f"Too many items in one request: {size} (at most {maximum})")


def accepted() -> JSONResponse:
    return JSONResponse({"message": bodies.TERMINATION_ACCEPTED}, status_code=202)


async def terminate_user_sessions(request: Request) -> JSONResponse:
    simulator: Simulator = request.app.state.simulator
    caller = require_admin(request)
    payload = await json_object(request)
    ids = string_list(payload, "user_ids", wrong_format="User id format is string")
    logins = string_list(payload, "user_logins", wrong_format="User login format is string")
    if not ids and not logins:
        raise bad_request("Users can not be NULL or EMPTY")
    check_batch_size(len(ids) + len(logins), maximum=simulator.config.max_batch_size)
    users, unknown = simulator.resolve(ids=ids, logins=logins)
    if unknown and simulator.config.reject_unknown_users:
        raise BoxRefusal(404, "not_found", "User not found")
    simulator.start_termination_job(caller, users)
    return accepted()


async def terminate_group_sessions(request: Request) -> JSONResponse:
    simulator: Simulator = request.app.state.simulator
    caller = require_admin(request)
    payload = await json_object(request)
    group_ids = string_list(payload, "group_ids", wrong_format="group id format is string")
    if not group_ids:
        raise bad_request("Groups can not be NULL or EMPTY")
    check_batch_size(len(group_ids), maximum=simulator.config.max_batch_size)
    unknown = [group_id for group_id in group_ids if group_id not in simulator.groups]
    if unknown and simulator.config.reject_unknown_users:
        raise BoxRefusal(404, "not_found", "Group not found")
    member_ids = [member for group_id in group_ids for member in simulator.groups.get(group_id, ())]
    users, _ = simulator.resolve(ids=member_ids, logins=())
    simulator.start_termination_job(caller, users)
    return accepted()


# --- events ---------------------------------------------------------------------------------------------------------


def time_param(params: QueryParams, name: str) -> float | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return bodies.parse_rfc3339(raw)
    except ValueError:
        raise bad_request(
            f"Invalid value '{raw}' for query parameter '{name}': expected RFC 3339 with an offset"
        ) from None


async def get_events(request: Request) -> JSONResponse:
    simulator: Simulator = request.app.state.simulator
    params = request.query_params
    stream_type = params.get("stream_type") or "all"
    if stream_type not in STREAM_TYPES:
        raise bad_request(f"Invalid value '{stream_type}' for query parameter 'stream_type'")
    if stream_type in ADMIN_STREAM_TYPES:
        require_admin(request)
    limit = int_param(params, "limit", default=EVENTS_DEFAULT_LIMIT, low=1, high=EVENTS_MAX_LIMIT)
    given = params.get("stream_position") or "0"
    if given == "now":
        end = simulator.stream_end() if stream_type in ADMIN_STREAM_TYPES else 0
        return JSONResponse(bodies.events_page([], str(end)))
    if not given.isdigit():
        raise bad_request(f"Invalid value '{given}' for query parameter 'stream_position'")
    if stream_type not in ADMIN_STREAM_TYPES:
        return JSONResponse(bodies.events_page([], given))  # the service account's own events: none
    admin_logs = stream_type == "admin_logs"  # the time bounds apply to admin_logs only, as Box documents
    query = EventQuery(
        position=int(given),
        limit=limit,
        event_types=frozenset(name.strip() for name in params.get("event_type", "").split(",") if name.strip()),
        created_after=time_param(params, "created_after") if admin_logs else None,
        created_before=time_param(params, "created_before") if admin_logs else None,
    )
    entries, next_position = simulator.read_events(query, streaming=not admin_logs)
    return JSONResponse(bodies.events_page(entries, str(next_position) if entries else given))


# --- uploads --------------------------------------------------------------------------------------------------------


async def upload_parts(request: Request, *, name_required: bool) -> tuple[JSON, bytes]:
    """The ``attributes`` JSON and the file bytes, with Box's checks: both parts present, attributes first."""
    async with request.form(max_part_size=MAX_ATTRIBUTES_BYTES) as form:  # closes the spooled file part after
        order = [key for key, _ in form.multi_items()]
        if "attributes" not in order or "file" not in order:
            raise bad_request("A multipart body with an 'attributes' part and a 'file' part is required")
        if order.index("attributes") > order.index("file"):
            raise bad_request(
                "The 'attributes' part must come before the 'file' part", code="metadata_after_file_contents"
            )
        attributes = parse_attributes(form)
        name = attributes.get("name")
        if name is not None or name_required:
            check_file_name(name)
        content = await file_bytes(form)
    expected_sha1 = request.headers.get("content-md5")
    if expected_sha1 and expected_sha1.lower() != hashlib.sha1(content).hexdigest():  # noqa: S324 (Box's digest)
        raise bad_request("The content-md5 header (SHA1) does not match the uploaded content")
    return attributes, content


def parse_attributes(form: FormData) -> JSON:
    raw = form["attributes"]
    try:
        attributes = json.loads(raw if isinstance(raw, str) else "")
    except ValueError:
        attributes = None
    if not isinstance(attributes, dict):
        raise bad_request("The 'attributes' part must be a JSON object")
    return attributes


def check_file_name(name: object) -> None:
    if not isinstance(name, str) or not name:
        raise bad_request("attributes.name is required")
    if len(name) > MAX_FILE_NAME_LENGTH or "/" in name or "\\" in name or name in (".", "..") or name != name.strip():
        raise bad_request(f"Item name invalid: {name!r}", code="item_name_invalid")


async def file_bytes(form: FormData) -> bytes:
    part = form["file"]
    return await part.read() if isinstance(part, UploadFile) else part.encode()


def name_in_use(error: NameInUseError) -> BoxRefusal:
    return BoxRefusal(
        409,
        "item_name_in_use",
        "Item with the same name already exists",
        context_info={"conflicts": [file_mini(error.existing)]},
    )


def files_response(simulator: Simulator, stored: StoredFile, *, status_code: int) -> JSONResponse:
    return JSONResponse({"total_count": 1, "entries": [simulator.file_body(stored)]}, status_code=status_code)


async def upload_file(request: Request) -> JSONResponse:
    simulator: Simulator = request.app.state.simulator
    attributes, content = await upload_parts(request, name_required=True)
    parent = attributes.get("parent")
    folder_id = parent.get("id") if isinstance(parent, dict) else None
    if not isinstance(folder_id, str) or not folder_id.isdigit():
        raise bad_request("attributes.parent.id is required (a folder id; 0 is the root)")
    try:
        stored = simulator.upload(
            caller=caller_of(request), folder_id=folder_id, name=attributes["name"], content=content
        )
    except NameInUseError as error:
        raise name_in_use(error) from None
    return files_response(simulator, stored, status_code=201)


async def upload_file_version(request: Request) -> JSONResponse:
    simulator: Simulator = request.app.state.simulator
    file_id: str = request.path_params["file_id"]
    attributes, content = await upload_parts(request, name_required=False)
    existing = simulator.uploaded_etag(file_id)
    if existing is None:
        raise not_found("file", file_id)
    if_match = request.headers.get("if-match")
    if if_match is not None and if_match != existing:
        raise BoxRefusal(
            412, "precondition_failed", "The resource has been modified. Please retrieve the resource again and retry"
        )
    try:
        stored = simulator.upload_version(file_id, name=attributes.get("name"), content=content)
    except NameInUseError as error:
        raise name_in_use(error) from None
    if stored is None:
        raise not_found("file", file_id)
    return files_response(simulator, stored, status_code=200)


# --- inspection (/_sim) ---------------------------------------------------------------------------------------------


async def sim_stats(request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.simulator.stats())


async def sim_reset(request: Request) -> JSONResponse:
    request.app.state.simulator.reset_stats()
    return JSONResponse({"reset": True})


async def sim_events(request: Request) -> JSONResponse:
    events = request.app.state.simulator.events()
    return JSONResponse({"total_count": len(events), "entries": events})


async def sim_uploads(request: Request) -> JSONResponse:
    files = request.app.state.simulator.uploaded_files()
    return JSONResponse({"total_count": len(files), "entries": files})


async def sim_upload_content(request: Request) -> Response:
    content = request.app.state.simulator.uploaded_content(request.path_params["file_id"])
    if content is None:
        raise not_found("file", request.path_params["file_id"])
    return Response(content, media_type="application/octet-stream")


# --- assembly -------------------------------------------------------------------------------------------------------


async def on_refusal(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BoxRefusal)
    return refusal_response(exc, request_id=request.state.request_id)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405/400 (no route, wrong method, unreadable form) in Box's error shape."""
    assert isinstance(exc, HTTPException)
    codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}
    refusal = BoxRefusal(
        exc.status_code, codes.get(exc.status_code, "bad_request"), exc.detail, headers=dict(exc.headers or {})
    )
    return refusal_response(refusal, request_id=request.state.request_id)


ROUTES: Final = [
    Route("/oauth2/token", post_token, methods=["POST"]),
    Route("/2.0/users", get_users, methods=["GET"]),
    Route("/2.0/users/terminate_sessions", terminate_user_sessions, methods=["POST"]),
    Route("/2.0/users/{user_id}", get_user, methods=["GET"]),
    Route("/2.0/groups/terminate_sessions", terminate_group_sessions, methods=["POST"]),
    Route("/2.0/events", get_events, methods=["GET"]),
    Route("/api/2.0/files/content", upload_file, methods=["POST"]),
    Route("/api/2.0/files/{file_id}/content", upload_file_version, methods=["POST"]),
    Route("/_sim/stats", sim_stats, methods=["GET"]),
    Route("/_sim/reset", sim_reset, methods=["POST"]),
    Route("/_sim/events", sim_events, methods=["GET"]),
    Route("/_sim/uploads", sim_uploads, methods=["GET"]),
    Route("/_sim/uploads/{file_id}", sim_upload_content, methods=["GET"]),
]


def build_app(simulator: Simulator) -> ASGIApp:
    """The ASGI application serving ``simulator``."""
    app = Starlette(routes=ROUTES, exception_handlers={BoxRefusal: on_refusal, HTTPException: on_http_exception})
    app.state.simulator = simulator
    return Gateway(simulator, app)
