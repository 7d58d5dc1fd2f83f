"""Box's JSON shapes, as ``box-openapi.json`` describes them: users, errors, events, files, tokens."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final

from box_offboarding.simulator.directory import DirectoryUser

JSON = dict[str, Any]

HELP_URL: Final = "http://developers.box.com/docs/#errors"
TERMINATION_ACCEPTED: Final = "Request is successful, please check the admin events for the status of the job"
#: The "standard" user fields Box returns when no ``fields`` are asked for (schema ``User``, besides the mini ones).
STANDARD_USER_FIELDS: Final = (
    "created_at",
    "modified_at",
    "language",
    "timezone",
    "space_amount",
    "space_used",
    "max_upload_size",
    "status",
    "job_title",
    "phone",
    "address",
    "avatar_url",
    "notification_email",
)
_GIGABYTE: Final = 1024**3


class Clock:
    """Renders epoch seconds the way Box does: RFC 3339 to the second, in the enterprise's UTC offset."""

    def __init__(self, utc_offset_minutes: int) -> None:
        self._zone = timezone(timedelta(minutes=utc_offset_minutes))

    def render(self, epoch_seconds: float) -> str:
        return datetime.fromtimestamp(epoch_seconds, tz=self._zone).isoformat(timespec="seconds")


def parse_rfc3339(value: str) -> float:
    """Epoch seconds of an RFC 3339 date-time with an offset; ``ValueError`` for anything else."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return parsed.astimezone(UTC).timestamp()


def mini_user(user: DirectoryUser) -> JSON:
    return {"type": "user", "id": user.id, "name": user.name, "login": user.login}


def full_user(user: DirectoryUser, *, clock: Clock, enterprise_id: str) -> JSON:
    """Every user field the simulator knows (``User--Full``); callers pick from it."""
    created = clock.render(user.created_at)
    return {
        **mini_user(user),
        "created_at": created,
        "modified_at": created,
        "language": "en",
        "timezone": "America/Los_Angeles",
        "space_amount": 10 * _GIGABYTE,
        "space_used": 0,
        "max_upload_size": 5 * _GIGABYTE,
        "status": user.status,
        "job_title": "",
        "phone": "",
        "address": "",
        "avatar_url": f"https://app.box.com/api/avatar/large/{user.id}",
        "notification_email": None,
        "role": user.role,
        "tracking_codes": [],
        "can_see_managed_users": user.role != "user",
        "is_sync_enabled": True,
        "is_external_collab_restricted": False,
        "is_exempt_from_device_limits": False,
        "is_exempt_from_login_verification": False,
        "enterprise": None if user.external else {"type": "enterprise", "id": enterprise_id, "name": "Simulated"},
        "my_tags": [],
        "hostname": "https://app.box.com/",
        "is_platform_access_only": False,
    }


def user_with_fields(user: DirectoryUser, fields: Iterable[str] | None, *, clock: Clock, enterprise_id: str) -> JSON:
    """Box's ``fields`` rule: without it, the standard representation; with it, the mini fields plus those asked
    for (unknown names ignored)."""
    wanted = STANDARD_USER_FIELDS if fields is None else fields
    full = full_user(user, clock=clock, enterprise_id=enterprise_id)
    picked = {name: full[name] for name in wanted if name in full}
    if picked.get("enterprise", {}) is None:
        del picked["enterprise"]  # the schema's enterprise is not nullable: external users have none
    return {**mini_user(user), **picked}


def client_error(status: int, code: str, message: str, *, request_id: str, context_info: JSON | None = None) -> JSON:
    """Box's ``ClientError`` body."""
    body: JSON = {"type": "error", "status": status, "code": code, "message": message}
    if context_info is not None:
        body["context_info"] = context_info
    body["help_url"] = HELP_URL
    body["request_id"] = request_id
    return body


def oauth_error(error: str, description: str) -> JSON:
    """Box's ``OAuth2Error`` body (token endpoint)."""
    return {"error": error, "error_description": description}


def access_token(token: str, *, expires_in: int) -> JSON:
    return {
        "access_token": token,
        "expires_in": expires_in,
        "token_type": "bearer",
        "restricted_to": [],
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
    }


def admin_event(
    *, event_id: str, event_type: str, created_at: str, source: DirectoryUser, created_by: DirectoryUser
) -> JSON:
    """An enterprise (admin_logs) event whose source is a user."""
    return {
        "type": "event",
        "event_id": event_id,
        "event_type": event_type,
        "created_at": created_at,
        "recorded_at": created_at,
        "created_by": mini_user(created_by),
        "source": mini_user(source),
    }


def events_page(entries: list[JSON], next_stream_position: str) -> JSON:
    return {"chunk_size": len(entries), "next_stream_position": next_stream_position, "entries": entries}
