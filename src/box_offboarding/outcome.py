"""What a run leaves for its callers (the CLI, the Prefect flows): the rows, the report, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from box_offboarding.delivery import DeliveryResult
from box_offboarding.statuses import RunStatus, Status


@dataclass(kw_only=True)
class RunOutcome:
    """One offboarding run, finished: every input row with its status, the report, and how the run ended.

    ``aborted`` says why nothing (more) was sent when the run stopped early (blast-radius guard, a 403).
    """

    run_id: str
    as_of: date
    dry_run: bool
    rows: pl.DataFrame
    errors: pl.DataFrame  # files not read (FILE_ERROR_SCHEMA)
    report: Path
    counts: dict[str, int]
    aborted: str | None
    notes: list[str]
    api_calls: dict[str, int]
    deliveries: list[DeliveryResult] = field(default_factory=list)

    @property
    def relogins(self) -> int:
        """Users seen signing in after their termination."""
        flagged = self.rows.filter(pl.col("relogin_after_termination").is_not_null())
        return flagged.get_column("box_user_id").n_unique()

    @property
    def failed_deliveries(self) -> list[DeliveryResult]:
        return [result for result in self.deliveries if not result.ok]

    @property
    def exit_code(self) -> int:
        """0 when every file was read, no row failed, the run was not stopped and every configured delivery
        succeeded; 1 otherwise (the report and the ledger are written either way)."""
        failed = self.rows.filter(pl.col("status") == Status.FAILED.value).height
        return 1 if failed or self.errors.height or self.aborted or self.failed_deliveries else 0

    @property
    def run_status(self) -> RunStatus:
        """How the ledger records the run's end."""
        if self.exit_code == 0:
            return RunStatus.SUCCEEDED
        return RunStatus.ABORTED if self.aborted else RunStatus.FAILED


@dataclass(frozen=True, kw_only=True)
class RecheckOutcome:
    """What a re-check of earlier runs' pending users found."""

    pending_before: int
    confirmed: pl.DataFrame  # box_user_id, login, event_id, confirmed_at
    relogins: int
    api_calls: dict[str, int]

    @property
    def still_pending(self) -> int:
        return self.pending_before - self.confirmed.height
