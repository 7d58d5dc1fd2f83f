"""The project's one exception tree.

Every error the product raises on purpose derives from :class:`OffboardingError`, so callers (the CLI, the
Prefect flow) can tell an expected, explained failure from a bug. Messages never carry secrets.
"""

from __future__ import annotations

from typing import Any


class OffboardingError(Exception):
    """Base of every error this product raises deliberately."""


class ConfigurationError(OffboardingError):
    """Settings or command-line arguments are missing or inconsistent; nothing was sent to Box."""


class InputFileError(OffboardingError):
    """An HR file could not be read (not a spreadsheet, encrypted, no login column...)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.detail = message


class BoxError(OffboardingError):
    """Base of errors that come from talking to Box."""


class BoxAPIError(BoxError):
    """Box answered with an error status; carries Box's own ``code``, ``message`` and ``request_id``."""

    def __init__(
        self,
        *,
        status: int,
        code: str | None,
        message: str | None,
        request_id: str | None,
        method: str,
        url: str,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.method = method
        self.url = url
        super().__init__(
            f"Box answered {status} to {method} {url}: {code or '-'}: {message or '-'} (request_id={request_id or '-'})"
        )


class BoxAuthError(BoxAPIError):
    """Credentials were refused (token endpoint error, or 401 after a renewed token)."""


class BoxPermissionError(BoxAPIError):
    """403: the app or its service account lacks the admin permission the call needs."""


class BoxConflictError(BoxAPIError):
    """409: the item already exists (an upload to a taken name); ``conflict_file_id`` is the existing file's id."""

    def __init__(self, *, conflict_file_id: str | None, **details: Any) -> None:
        super().__init__(**details)
        self.conflict_file_id = conflict_file_id


class BoxRateLimitError(BoxAPIError):
    """429 persisted past the retry budget."""


class BoxUnavailableError(BoxError):
    """Box could not be reached or kept failing (5xx, timeouts, dropped connections) past the retry budget."""


class BlastRadiusError(OffboardingError):
    """The run would terminate more users than allowed; nothing was sent."""


class DeliveryError(OffboardingError):
    """The report could not be sent on through one channel (Box upload or email); the local report is intact."""
