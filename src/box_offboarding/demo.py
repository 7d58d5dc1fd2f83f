"""``offboard demo``: the whole product on a laptop, with nothing configured.

Starts the Box simulator on a free loopback port with a synthetic enterprise, writes (or reuses) messy sample HR
exports under ``data/samples/``, and runs the real ``offboard`` Prefect flow twice on an ephemeral Prefect server:
"night 1" terminates and proves; "night 2" reads the same files the next night, sends nothing again, and flags
the people who signed back in.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from box_offboarding.samples import SampleLeaver, write_sample_hr_files
from box_offboarding.simulator import DirectoryUser, SimulatorAddress, SimulatorConfig, generate_directory

DEMO_USERS = 5000
DEMO_SEED = 7
SAMPLES_VERSION = "1"  # bump when the sample composition changes, so old samples are rewritten


@dataclass(frozen=True)
class DemoPlan:
    """What the demo writes and runs."""

    simulator: SimulatorConfig
    samples_dir: Path
    ledger_path: Path
    report_dir: Path


def demo_plan(root: Path) -> DemoPlan:
    """Where the demo keeps its files, under the project folder ``root``."""
    config = SimulatorConfig(
        users=DEMO_USERS, seed=DEMO_SEED, event_delay_seconds=1.0, relogin_share=0.15, relogin_after_seconds=1.0
    )
    return DemoPlan(config, root / "data" / "samples", root / "data" / "demo" / "ledger.sqlite", root / "reports")


def demo_leavers(directory: Sequence[DirectoryUser], *, as_of: dt.date) -> list[SampleLeaver]:
    """A realistic night's leavers: mostly ordinary users, plus every case the product must handle."""
    rng = random.Random(DEMO_SEED)
    ordinary = [user for user in directory if user.role == "user" and user.status == "active"]
    picked = rng.sample(ordinary, 40)
    admins = [user for user in directory if user.role in {"admin", "coadmin"}][:2]
    inactive = [user for user in directory if user.status == "inactive"][:2]

    def leaver(user: DirectoryUser, days_ago: int, name: str | None = None) -> SampleLeaver:
        return SampleLeaver(user.login, name or user.name, f"E{10000 + int(user.id) % 90000}",
                            as_of - dt.timedelta(days=days_ago))  # fmt: skip

    people = [leaver(user, rng.randint(0, 20)) for user in picked[:34]]
    people += [leaver(user, -rng.randint(3, 30)) for user in picked[34:37]]  # last day still ahead: deferred
    people += [leaver(picked[37], 2, '=HYPERLINK("http://example.com","click")')]  # formula-looking HR text
    people += [leaver(user, 5) for user in admins + inactive]
    people += [
        SampleLeaver(f"former.contractor{n}@example.com", f"Former Contractor {n}", f"C{n}", as_of) for n in range(3)
    ]
    people += [SampleLeaver("jane.doe at example.com", "Jane Doe", "E99999", as_of)]  # not a valid login
    people += [leaver(picked[0], 1), leaver(picked[1], 1)]  # listed twice, in another export
    return people


def write_demo_samples(plan: DemoPlan, *, as_of: dt.date) -> list[Path]:
    """Write the sample HR files, or reuse the ones written earlier the same day (their dates are relative to it)."""
    marker = plan.samples_dir / ".demo-samples"
    stamp = f"{SAMPLES_VERSION} {as_of.isoformat()}"
    existing = sorted(path for path in plan.samples_dir.glob("*") if path.suffix in {".xlsx", ".csv"})
    if existing and marker.exists() and marker.read_text(encoding="utf-8").strip() == stamp:
        return existing
    plan.samples_dir.mkdir(parents=True, exist_ok=True)
    directory = generate_directory(plan.simulator.users, plan.simulator.seed, domain=plan.simulator.domain)
    paths = write_sample_hr_files(plan.samples_dir, leavers=demo_leavers(directory, as_of=as_of), seed=DEMO_SEED)
    marker.write_text(stamp + "\n", encoding="utf-8")
    return sorted(paths)


def demo_environment(plan: DemoPlan, sim: SimulatorAddress) -> dict[str, str]:
    """The environment that points the real flow at the simulator, a fresh demo ledger and the report folder.

    The flow reads its settings from the environment, as it does in production; Prefect reads its own at import
    (no analytics, since nothing may call out; a patient ephemeral server start on small machines).
    """
    return {
        **sim.environment,
        "OFFBOARD_LEDGER_PATH": str(plan.ledger_path),
        "OFFBOARD_REPORT_DIR": str(plan.report_dir),
        "OFFBOARD_CONFIRM_POLL_SECONDS": "0.5",
        "OFFBOARD_EVENT_SKEW_SECONDS": "5",
        "PREFECT_SERVER_ANALYTICS_ENABLED": os.environ.get("PREFECT_SERVER_ANALYTICS_ENABLED", "false"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": os.environ.get(
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180"
        ),
    }


def fresh_ledger(path: Path) -> None:
    """The demo starts from an empty ledger, so night 1 really terminates (the simulator is new each time)."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
