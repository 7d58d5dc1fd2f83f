"""The simulator's knobs: one frozen object, validated once, shared by the server and its Python API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Share = Annotated[float, Field(ge=0, le=1)]


class SimulatorConfig(BaseModel):
    """How the simulated Box enterprise looks and misbehaves. Every fault knob defaults to off.

    Times are seconds unless the name says otherwise. Shares are 0..1. ``users`` people are generated from ``seed``
    unless ``directory_path`` names a CSV (``id,login,name,status,role``); the service account the caller acts as is
    an extra user (not part of ``users``, not listed by ``GET /2.0/users``) whose role is ``service_account_role``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # credentials the token endpoint accepts (the simulator's own, not secrets)
    client_id: str = "sim-client-id"
    client_secret: str = "sim-client-secret"  # noqa: S105 (the simulator's own, printed by the CLI)
    enterprise_id: str = "900001"

    # the directory
    users: int = Field(1000, ge=0)
    seed: int = 7
    directory_path: Path | None = None
    domain: str = "example.com"
    external_users: int = Field(0, ge=0, description="Generated external users (found only by exact login).")
    groups: int = Field(3, ge=0, description="Synthetic groups for groups/terminate_sessions.")
    group_size: int = Field(10, ge=0, description="Members per synthetic group (capped by the directory size).")
    service_account_role: Literal["admin", "coadmin", "user"] = "admin"

    # auth and rate limit
    token_lifetime_seconds: float = Field(3600, gt=0)
    rate_limit: int = Field(1000, ge=1, description="Requests per caller per sliding window.")
    rate_window_seconds: float = Field(60, gt=0)

    # network
    latency_ms: float = Field(0, ge=0)
    latency_jitter_ms: float = Field(0, ge=0)

    # terminate_sessions jobs and the admin events they leave
    event_delay_seconds: float = Field(2.0, ge=0)
    termination_event_type: str = "TERMINATE_USER_SESSIONS"
    reject_unknown_users: bool = True
    max_batch_size: int = Field(1000, ge=1)
    relogin_share: Share = 0
    relogin_after_seconds: float = Field(60, ge=0)
    utc_offset_minutes: int = Field(-480, ge=-1439, le=1439, description="Offset of rendered times (Box: Pacific).")

    # faults (all off by default)
    fault_rate: Share = 0
    rate_limit_fault_rate: Share = 0
    drop_rate: Share = 0

    # event feed paging
    short_page_share: Share = 0
    streaming_repeats: bool = False
