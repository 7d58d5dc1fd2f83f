"""Typed results of the Box calls the product makes, built from Box's JSON (shapes per Box's OpenAPI description)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: The user attributes every user listing asks for (``fields=``): nothing more is read, nothing less is needed.
USER_FIELDS = ("id", "login", "name", "status", "role")

#: Box's ``role`` values of enterprise admins: the simulator gives them admin powers, and runs protect them.
ADMIN_ROLES = frozenset({"admin", "coadmin"})


@dataclass(frozen=True, slots=True)
class BoxUser:
    """One Box user, as far as offboarding cares."""

    id: str
    login: str
    name: str
    status: str | None = None
    role: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> BoxUser:
        return cls(
            id=str(data["id"]),
            login=str(data.get("login") or ""),
            name=str(data.get("name") or ""),
            status=data.get("status"),
            role=data.get("role"),
        )


def parse_box_datetime(value: str) -> datetime:
    """Box's ISO 8601 timestamps (``2012-12-12T10:53:43-08:00`` or ``...Z``) as aware UTC datetimes."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class AdminEvent:
    """One enterprise (admin log) event; ``raw`` keeps Box's JSON for anything not lifted into a field."""

    event_id: str
    event_type: str
    created_at: datetime
    source_user_id: str | None
    source_login: str | None
    created_by_id: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> AdminEvent:
        source = data.get("source") or {}
        source_is_user = source.get("type") == "user"
        created_by = data.get("created_by") or {}
        return cls(
            event_id=str(data["event_id"]),
            event_type=str(data.get("event_type") or ""),
            created_at=parse_box_datetime(data["created_at"]),
            source_user_id=str(source["id"]) if source_is_user and source.get("id") is not None else None,
            source_login=source.get("login") if source_is_user else None,
            created_by_id=str(created_by["id"]) if created_by.get("id") is not None else None,
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class TerminationResult:
    """Box's answer to one terminate_sessions request (a 202 means a job was queued, not that it finished)."""

    request_id: str  # Box's request id when it sent one, else a client-generated uuid
    status: int
    message: str
    attempts: int  # HTTP requests sent for this call, retries and a 401 renewal included
    sent_at: datetime  # first attempt
    finished_at: datetime


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file created or versioned by an upload."""

    id: str
    name: str
    version: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> UploadedFile:
        """From an upload answer (``Files``: the file is the first entry) or a bare file object."""
        file = data["entries"][0] if "entries" in data else data
        version = (file.get("file_version") or {}).get("id")
        return cls(id=str(file["id"]), name=str(file.get("name") or ""), version=str(version) if version else None)
