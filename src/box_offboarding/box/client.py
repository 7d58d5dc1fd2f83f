"""The async Box client every Box call of the product goes through.

One place decides how a request is sent: a shared bearer token (:mod:`.auth`), a client-side rate limiter and a
cap on requests in flight (:mod:`.limiter`), and retries with tenacity (``429`` after ``retry-after``, ``5xx``,
timeouts and dropped connections, with exponential back-off and jitter, bounded by ``max_attempts`` and
``max_retry_seconds``). Other ``4xx`` answers are not retried: they surface at once as typed
:mod:`box_offboarding.errors` exceptions carrying Box's ``code``, ``message`` and ``request_id``.

Secrets (client secret, access and developer tokens) are only revealed while a request is built; they never reach a
log line, a repr or an exception message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import SecretStr
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)

from box_offboarding.box.auth import Authenticator, ClientCredentialsAuth, DeveloperTokenAuth, IssuedToken
from box_offboarding.box.limiter import RateLimiter, limiter_from_settings
from box_offboarding.box.models import USER_FIELDS, AdminEvent, BoxUser, TerminationResult, UploadedFile
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

logger = logging.getLogger(__name__)

TOKEN_ROUTE = "POST /oauth2/token"  # noqa: S105 (an endpoint name, not a secret)
REQUEST_ID_HEADERS = ("box-request-id", "x-box-request-id", "request-id")
MAX_USERS_PAGE = 1000
MAX_EVENTS_PAGE = 500

RetryReason = Literal["429", "5xx", "transport"]


class _RetryableAnswer(Exception):
    """A 429 or 5xx answer while retries remain; becomes a public error once they run out."""

    def __init__(self, error: BoxAPIError, *, retry_after: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class _Attempts:
    """HTTP requests sent for one logical call (retries and a 401 renewal included), and when the first left."""

    def __init__(self) -> None:
        self.count = 0
        self.first_sent_at: datetime | None = None

    def note_sent(self) -> None:
        self.count += 1
        if self.first_sent_at is None:
            self.first_sent_at = datetime.now(UTC)


class BoxClient:
    """Async Box API client; use as ``async with BoxClient(settings) as box: ...``.

    ``transport`` replaces httpx's network transport (e.g. an in-process app); ``limiter`` replaces the rate limiter
    built from the settings.
    """

    def __init__(
        self,
        settings: BoxSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=settings.timeout_seconds,
            limits=httpx.Limits(max_connections=settings.max_in_flight + 1, max_keepalive_connections=None),
        )
        self._auth = self._authenticator(settings)
        self._limiter = limiter if limiter is not None else limiter_from_settings(settings)
        self._in_flight = asyncio.Semaphore(settings.max_in_flight)
        self._reserved = 0  # slots taken ahead of use through acquire()
        self._calls: Counter[str] = Counter()
        self._retries: Counter[RetryReason] = Counter()
        self._backoff = wait_exponential_jitter(
            multiplier=settings.backoff_initial_seconds,
            max=settings.backoff_max_seconds,
            jitter=settings.backoff_initial_seconds,
        )

    def _authenticator(self, settings: BoxSettings) -> Authenticator:
        if settings.developer_token is not None and settings.developer_token.get_secret_value():
            return DeveloperTokenAuth(settings.developer_token)
        missing = [
            name
            for name, value in (
                ("BOX_CLIENT_ID", settings.client_id),
                ("BOX_CLIENT_SECRET", settings.client_secret.get_secret_value()),
                ("BOX_ENTERPRISE_ID", settings.enterprise_id),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                f"Box credentials are incomplete: set {', '.join(missing)} (client credentials), or BOX_DEVELOPER_TOKEN"
            )
        return ClientCredentialsAuth(self._fetch_token, refresh_margin_seconds=settings.token_refresh_margin_seconds)

    async def __aenter__(self) -> BoxClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def __repr__(self) -> str:
        return f"BoxClient(api_url={self.settings.api_url!r}, auth={self._auth!r}, limiter={self._limiter!r})"

    # ------------------------------------------------------------------ counters

    @property
    def calls(self) -> Mapping[str, int]:
        """HTTP requests sent per endpoint (``"GET /users"``, ``"POST /users/terminate_sessions"``...), retries
        included: every one of them counts against Box's allocation."""
        return dict(self._calls)

    @property
    def retries(self) -> int:
        """Retries made, all reasons together."""
        return sum(self._retries.values())

    @property
    def retries_by_reason(self) -> Mapping[RetryReason, int]:
        """Retries per reason: ``"429"``, ``"5xx"``, ``"transport"`` (timeouts, dropped connections)."""
        return dict(self._retries)

    async def acquire(self, n: int) -> None:
        """Take ``n`` rate-limit slots at once, for the next ``n`` requests (one acquisition per batch)."""
        await self._limiter.acquire(n)
        self._reserved += n

    # ------------------------------------------------------------------ users

    async def get_user(self, user_id: str) -> BoxUser:
        reply = await self._request(
            "GET",
            "GET /users/{user_id}",
            f"{self.settings.api_url}/users/{quote(user_id, safe='')}",
            params={"fields": ",".join(USER_FIELDS)},
        )
        return BoxUser.from_api(reply.json())

    async def find_users(self, filter_term: str, *, limit: int = MAX_USERS_PAGE) -> list[BoxUser]:
        """Users whose name or login *starts with* ``filter_term`` (one call, one page): exact matching is the
        caller's job."""
        _check_page_size(limit, MAX_USERS_PAGE)
        reply = await self._request(
            "GET",
            "GET /users",
            f"{self.settings.api_url}/users",
            params={"filter_term": filter_term, "limit": limit, "fields": ",".join(USER_FIELDS)},
        )
        return [BoxUser.from_api(entry) for entry in reply.json().get("entries") or []]

    async def count_users(self) -> int:
        """The enterprise's user count (``total_count`` of a one-entry offset page): one call."""
        reply = await self._request(
            "GET", "GET /users", f"{self.settings.api_url}/users", params={"limit": 1, "fields": "id"}
        )
        return int(reply.json()["total_count"])

    async def iter_users(self, *, page_size: int = MAX_USERS_PAGE, user_type: str = "all") -> AsyncIterator[BoxUser]:
        """Every user, with marker pagination (offset pagination stops at 10,000)."""
        _check_page_size(page_size, MAX_USERS_PAGE)
        params: dict[str, Any] = {
            "usemarker": "true",
            "limit": page_size,
            "user_type": user_type,
            "fields": ",".join(USER_FIELDS),
        }
        while True:
            body = (await self._request("GET", "GET /users", f"{self.settings.api_url}/users", params=params)).json()
            for entry in body.get("entries") or []:
                yield BoxUser.from_api(entry)
            marker = body.get("next_marker")
            if not marker:
                return
            params["marker"] = marker

    # ------------------------------------------------------------------ events

    async def iter_admin_events(
        self,
        *,
        created_after: datetime | None,
        created_before: datetime | None,
        event_types: Sequence[str] = (),
        stream_type: str = "admin_logs",
        page_size: int = MAX_EVENTS_PAGE,
        stream_position: str | None = None,
    ) -> AsyncIterator[AdminEvent]:
        """Enterprise events, page by page until an *empty* page (a short page does not mean the end), each
        ``event_id`` once (the streaming feed may repeat events)."""
        _check_page_size(page_size, MAX_EVENTS_PAGE)
        params: dict[str, Any] = {"stream_type": stream_type, "limit": page_size}
        if created_after is not None:
            params["created_after"] = _box_timestamp(created_after, round_up=False)
        if created_before is not None:
            params["created_before"] = _box_timestamp(created_before, round_up=True)
        if event_types:
            params["event_type"] = ",".join(event_types)
        position = stream_position
        seen: set[str] = set()
        while True:
            if position is not None:
                params["stream_position"] = position
            body = (await self._request("GET", "GET /events", f"{self.settings.api_url}/events", params=params)).json()
            entries = body.get("entries") or []
            if not entries:
                return
            for entry in entries:
                event = AdminEvent.from_api(entry)
                if event.event_id not in seen:
                    seen.add(event.event_id)
                    yield event
            position = str(body["next_stream_position"])

    # ------------------------------------------------------------------ sessions

    async def terminate_sessions(
        self, *, user_ids: Sequence[str] = (), user_logins: Sequence[str] = ()
    ) -> TerminationResult:
        """Ask Box to end these users' sessions. A ``202`` queues a job; admin events tell whether it ran.

        Sending the same request twice is harmless, so it is retried like any other; ``attempts`` records how many
        were sent.
        """
        if not user_ids and not user_logins:
            raise ValueError("terminate_sessions needs at least one user id or login")
        body = {"user_ids": list(user_ids), "user_logins": list(user_logins)}
        return await self._terminate("POST /users/terminate_sessions", "/users/terminate_sessions", body)

    async def terminate_group_sessions(self, *, group_ids: Sequence[str]) -> TerminationResult:
        if not group_ids:
            raise ValueError("terminate_group_sessions needs at least one group id")
        body = {"group_ids": list(group_ids)}
        return await self._terminate("POST /groups/terminate_sessions", "/groups/terminate_sessions", body)

    async def _terminate(self, route: str, path: str, body: dict[str, list[str]]) -> TerminationResult:
        attempts = _Attempts()
        reply = await self._request("POST", route, f"{self.settings.api_url}{path}", json=body, attempts=attempts)
        finished_at = datetime.now(UTC)
        return TerminationResult(
            request_id=_request_id(reply) or str(uuid.uuid4()),
            status=reply.status_code,
            message=str(_json_or_empty(reply).get("message") or ""),
            attempts=attempts.count,
            sent_at=attempts.first_sent_at or finished_at,
            finished_at=finished_at,
        )

    # ------------------------------------------------------------------ uploads

    async def upload_file(self, *, folder_id: str, name: str, content: bytes) -> UploadedFile:
        """A new file in ``folder_id``. A taken name raises :class:`BoxConflictError` with ``conflict_file_id``:
        upload a new version of that file or pick another name."""
        attributes = {"name": name, "parent": {"id": folder_id}}
        return await self._upload("POST /files/content", "/files/content", attributes, name, content)

    async def upload_new_version(self, *, file_id: str, name: str, content: bytes) -> UploadedFile:
        path = f"/files/{quote(file_id, safe='')}/content"
        return await self._upload("POST /files/{file_id}/content", path, {"name": name}, name, content)

    async def _upload(
        self, route: str, path: str, attributes: dict[str, Any], name: str, content: bytes
    ) -> UploadedFile:
        reply = await self._request(
            "POST",
            route,
            f"{self.settings.upload_api_url}{path}",
            data={"attributes": json.dumps(attributes)},  # httpx sends form fields before files, as Box requires
            files={"file": (name, content, "application/octet-stream")},
        )
        return UploadedFile.from_api(reply.json())

    # ------------------------------------------------------------------ token

    async def _fetch_token(self) -> IssuedToken:
        """Client-credentials grant for the enterprise's service account (not rate limited, retried as usual)."""
        form = {
            "grant_type": "client_credentials",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret.get_secret_value(),
            "box_subject_type": "enterprise",
            "box_subject_id": self.settings.enterprise_id,
        }
        reply = await self._request("POST", TOKEN_ROUTE, self.settings.token_url, data=form, authenticated=False)
        body = reply.json()
        return IssuedToken(value=SecretStr(str(body["access_token"])), expires_in=float(body.get("expires_in", 3600)))

    # ------------------------------------------------------------------ the one way a request is sent

    async def _request(
        self,
        method: str,
        route: str,
        url: str,
        *,
        authenticated: bool = True,
        attempts: _Attempts | None = None,
        **content: Any,
    ) -> httpx.Response:
        """Send with retries; ``route`` names the endpoint in counters and logs; ``content`` goes to httpx."""
        attempts = attempts if attempts is not None else _Attempts()
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.max_attempts) | stop_before_delay(self.settings.max_retry_seconds),
            wait=self._wait,
            retry=retry_if_exception_type((_RetryableAnswer, httpx.TransportError)),
            before_sleep=lambda state: self._note_retry(route, state),
            reraise=True,
        )
        try:
            response: httpx.Response = await retrying(
                self._attempt, attempts, method, route, url, authenticated=authenticated, content=content
            )
        except _RetryableAnswer as exhausted:
            if isinstance(exhausted.error, BoxRateLimitError):
                raise exhausted.error from None
            raise BoxUnavailableError(
                f"{route} failed {attempts.count} times; last answer: {exhausted.error}"
            ) from exhausted.error
        except httpx.TransportError as exhausted:
            raise BoxUnavailableError(
                f"{route} failed {attempts.count} times; last error: {type(exhausted).__name__}: {exhausted}"
            ) from exhausted
        return response

    async def _attempt(
        self,
        attempts: _Attempts,
        method: str,
        route: str,
        url: str,
        *,
        authenticated: bool,
        content: dict[str, Any],
    ) -> httpx.Response:
        if not authenticated:
            # Token requests skip the limiter and the in-flight cap: a renewal must never wait behind the requests
            # that are waiting for it.
            response = await self._send(attempts, method, route, url, None, content)
        else:
            token = await self._auth.token()
            async with self._in_flight:
                response = await self._send(attempts, method, route, url, token, content)
                if response.status_code == 401:
                    if not self._auth.renewable:
                        raise _error(response, method, route, url, expired_developer_token=True)
                    token = await self._auth.renew(token)
                    response = await self._send(attempts, method, route, url, token, content)
        if response.is_success:
            return response
        raise _error(response, method, route, url)

    async def _send(
        self,
        attempts: _Attempts,
        method: str,
        route: str,
        url: str,
        token: SecretStr | None,
        content: dict[str, Any],
    ) -> httpx.Response:
        headers: dict[str, str] = {}
        if token is not None:
            await self._take_slot()
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        attempts.note_sent()
        self._calls[route] += 1
        return await self._http.request(method, url, headers=headers, **content)

    async def _take_slot(self) -> None:
        if self._reserved > 0:
            self._reserved -= 1
        else:
            await self._limiter.acquire(1)

    def _wait(self, state: RetryCallState) -> float:
        """Exponential back-off with jitter; after a 429 at least ``retry-after`` (plus jitter, so the requests it
        held back do not all return in the same instant)."""
        backoff = float(self._backoff(state))
        failure = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failure, _RetryableAnswer) and failure.retry_after is not None:
            spread = random.uniform(0, self.settings.backoff_initial_seconds)
            return max(failure.retry_after + spread, backoff)
        return backoff

    def _note_retry(self, route: str, state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome is not None else None
        reason: RetryReason
        if isinstance(failure, _RetryableAnswer):
            reason = "429" if failure.error.status == 429 else "5xx"
            detail = (
                f"{failure.error.status} {failure.error.code or '-'} (request_id={failure.error.request_id or '-'})"
            )
        else:
            reason = "transport"
            detail = type(failure).__name__
        self._retries[reason] += 1
        logger.warning(
            "%s: %s on attempt %d, retrying in %.2fs", route, detail, state.attempt_number, state.upcoming_sleep
        )


# ---------------------------------------------------------------------- helpers


def _check_page_size(size: int, maximum: int) -> None:
    if not 1 <= size <= maximum:
        raise ValueError(f"page size must be between 1 and {maximum}, got {size}")


def _box_timestamp(value: datetime, *, round_up: bool) -> str:
    """RFC 3339 in UTC, whole seconds (rounded outwards so the window never shrinks)."""
    if value.tzinfo is None:
        raise ValueError("event window bounds must be timezone-aware datetimes")
    value = value.astimezone(UTC)
    if round_up and value.microsecond:
        value += timedelta(seconds=1)
    return value.replace(microsecond=0).isoformat()


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _request_id(response: httpx.Response) -> str | None:
    for header in REQUEST_ID_HEADERS:
        if value := response.headers.get(header):
            return str(value)
    return None


def _retry_after(response: httpx.Response) -> float | None:
    """``retry-after`` in seconds (Box sends seconds; an HTTP date or garbage counts as absent)."""
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _conflict_file_id(body: dict[str, Any]) -> str | None:
    """The existing file's id from a 409 (``context_info.conflicts``: a list per the OpenAPI file, an object in
    Box's answers)."""
    conflicts = (body.get("context_info") or {}).get("conflicts")
    if isinstance(conflicts, list):
        conflicts = conflicts[0] if conflicts else None
    if isinstance(conflicts, dict) and conflicts.get("id") is not None:
        return str(conflicts["id"])
    return None


def _error(
    response: httpx.Response, method: str, route: str, url: str, *, expired_developer_token: bool = False
) -> Exception:
    """The typed exception for a non-2xx answer (a :class:`_RetryableAnswer` for 429 and 5xx)."""
    body = _json_or_empty(response)
    status = response.status_code
    code = body.get("code") or body.get("error")  # ClientError, or the token endpoint's OAuth error
    message = body.get("message") or body.get("error_description")
    if expired_developer_token:
        message = f"the developer token expired or was revoked (they last 60 minutes): {message or 'unauthorized'}"
    details: dict[str, Any] = {
        "status": status,
        "code": str(code) if code is not None else None,
        "message": str(message) if message is not None else None,
        "request_id": str(body.get("request_id") or "") or _request_id(response),
        "method": method,
        "url": url,
    }
    if status == 429:
        return _RetryableAnswer(BoxRateLimitError(**details), retry_after=_retry_after(response))
    if status >= 500:
        return _RetryableAnswer(BoxAPIError(**details), retry_after=None)
    if status == 401 or (route == TOKEN_ROUTE and 400 <= status < 500):
        return BoxAuthError(**details)
    if status == 403:
        return BoxPermissionError(**details)
    if status == 409:
        return BoxConflictError(**details, conflict_file_id=_conflict_file_id(body))
    return BoxAPIError(**details)
