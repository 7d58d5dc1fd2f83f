"""The status vocabularies: what every input row ends with (see README, "Statuses"), and a run's lifecycle."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Final status of one input row. Order is the order of the pipeline, used for report sorting."""

    INVALID = "invalid"
    HELD = "held"  # the same input lists the person as staying (a rehire, cancellation or active-staff sheet)
    DUPLICATE = "duplicate"
    DEFERRED = "deferred"
    NOT_FOUND = "not_found"
    PROTECTED = "protected"
    SKIPPED = "skipped"
    PLANNED = "planned"
    FAILED = "failed"
    PENDING = "pending"
    CONFIRMED = "confirmed"


#: Statuses a person should look at (the run page's attention table).
ATTENTION_STATUSES = frozenset(
    {Status.FAILED, Status.INVALID, Status.HELD, Status.NOT_FOUND, Status.PROTECTED, Status.PENDING}
)


class RunStatus(StrEnum):
    """Lifecycle of a run in the ledger. A run still ``running`` after its process is gone crashed."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABORTED = "aborted"
