"""The async Box API client and its typed results."""

from box_offboarding.box.client import BoxClient
from box_offboarding.box.limiter import LocalRateLimiter, PrefectRateLimiter, RateLimiter, limiter_from_settings
from box_offboarding.box.models import AdminEvent, BoxUser, TerminationResult, UploadedFile

__all__ = [
    "AdminEvent",
    "BoxClient",
    "BoxUser",
    "LocalRateLimiter",
    "PrefectRateLimiter",
    "RateLimiter",
    "TerminationResult",
    "UploadedFile",
    "limiter_from_settings",
]
