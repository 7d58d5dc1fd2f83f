"""The ``offboard`` command line."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from box_offboarding.errors import ConfigurationError, OffboardingError
from box_offboarding.settings import Settings, load_settings
from box_offboarding.statuses import Status

app = typer.Typer(
    name="offboard",
    help="Cut off Box access for people who have left: HR spreadsheets in, sessions terminated and proven, "
    "an Excel report out.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)
EXIT_USAGE = 2
DEMO_NIGHT_SECONDS = 3.0  # simulated leavers sign in again one second after their termination event


def _settings_or_exit(**overrides: Any) -> Settings:
    try:
        return load_settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors(include_input=False)
        )
        console.print(f"[red]configuration error:[/red] {problems}")
        raise typer.Exit(EXIT_USAGE) from None


def _print_summary(counts: dict[str, int], *, report: Path, run_id: str, aborted: str | None, notes: list[str]) -> None:
    table = Table(title=f"run {run_id}")
    table.add_column("status")
    table.add_column("rows", justify="right")
    for status in Status:
        table.add_row(status.value, str(counts.get(status.value, 0)))
    Console().print(table)
    for note in notes:
        typer.echo(f"note: {note}")
    if aborted:
        typer.echo(f"stopped: {aborted}")
    typer.echo(f"report: {report}")  # plain, unwrapped: scripts read this line


class _RichProgress:
    """Adapts the pipeline's ``progress(stage, done, total)`` calls to a rich progress bar."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)


def _run(files: list[Path], *, as_of: date | None, settings: Settings) -> int:
    from box_offboarding.ingest import expand_inputs
    from box_offboarding.pipeline import run_offboarding

    paths = expand_inputs(files or [settings.inbox_dir])
    as_of = as_of or settings.today()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        outcome = asyncio.run(run_offboarding(paths, settings=settings, as_of=as_of, progress=_RichProgress(bar)))
    _print_summary(outcome.counts, report=outcome.report, run_id=outcome.run_id, aborted=outcome.aborted,
                   notes=outcome.notes)  # fmt: skip
    return outcome.exit_code


FilesArg = Annotated[
    list[Path] | None,
    typer.Argument(help="HR files, folders or globs (.xlsx .xlsm .xls .csv). Default: the inbox folder."),
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Run as of this date (YYYY-MM-DD); later termination dates wait.")
]
ProtectedOpt = Annotated[Path | None, typer.Option("--protected", help="File of logins never to terminate.")]
ReportDirOpt = Annotated[Path | None, typer.Option("--report-dir", help="Where the Excel report goes.")]
BatchOpt = Annotated[int | None, typer.Option("--batch-size", help="Users per terminate_sessions call (default 100).")]
MaxUsersOpt = Annotated[int | None, typer.Option("--max-users", help="Stop before terminating more (default 500).")]
LargeOpt = Annotated[bool, typer.Option("--allow-large-run", help="Lift the blast-radius guard for this run.")]
TimeoutOpt = Annotated[
    float | None, typer.Option("--confirm-timeout", help="Seconds to wait for admin events (0: don't wait).")
]
LedgerOpt = Annotated[Path | None, typer.Option("--ledger", help="SQLite ledger file (default data/ledger.sqlite).")]
SheetOpt = Annotated[
    list[str] | None,
    typer.Option("--sheet", help="Read only this workbook sheet as leavers (repeat for several; default: decide)."),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Terminate again users confirmed in an earlier run.")]
PrefectOpt = Annotated[
    bool,
    typer.Option(
        "--prefect",
        help="Run it as the offboard Prefect flow (on PREFECT_API_URL, else an ephemeral server: ~20 s more), "
        "with the flow run's artifacts. Default: the same stages in-process.",
    ),
]


def _parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        console.print(f"[red]usage error:[/red] --as-of must be YYYY-MM-DD, got {text!r}")
        raise typer.Exit(EXIT_USAGE) from None


@contextmanager
def _exit_on_errors() -> Iterator[None]:
    """The product's own errors as a clear line and an exit code: 2 for configuration, 1 for the rest."""
    try:
        yield
    except ConfigurationError as error:
        console.print(f"[red]configuration error:[/red] {error}")
        raise typer.Exit(EXIT_USAGE) from None
    except OffboardingError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None


def _offboard(
    files: list[Path] | None, *, as_of: str | None, dry_run: bool, prefect: bool = False, **overrides: Any
) -> None:
    settings = _settings_or_exit(dry_run=dry_run, **overrides)
    runner = _run_as_flow if prefect else _run
    with _exit_on_errors():
        code = runner(list(files or []), as_of=_parse_date(as_of), settings=settings)
    raise typer.Exit(code)


@app.command()
def run(
    files: FilesArg = None,
    as_of: AsOfOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Do everything except the termination calls.")] = False,
    protected: ProtectedOpt = None,
    report_dir: ReportDirOpt = None,
    batch_size: BatchOpt = None,
    max_users: MaxUsersOpt = None,
    allow_large_run: LargeOpt = False,
    confirm_timeout: TimeoutOpt = None,
    ledger: LedgerOpt = None,
    sheet: SheetOpt = None,
    force: ForceOpt = False,
    prefect: PrefectOpt = False,
) -> None:
    """Offboard the leavers in FILES against the configured Box (BOX_BASE_URL, BOX_CLIENT_ID, ...).

    Exit 0: every file read and no row failed. 1: some rows failed, a file could not be read, or the run was
    stopped (the report is written either way). 2: usage or configuration error (nothing sent).
    """
    _offboard(files, as_of=as_of, dry_run=dry_run, protected_path=protected, report_dir=report_dir,
              batch_size=batch_size, max_users=max_users, allow_large_run=allow_large_run or None,
              confirm_timeout_seconds=confirm_timeout, ledger_path=ledger, force=force or None,
              sheets=tuple(sheet) if sheet else None, prefect=prefect)  # fmt: skip


@app.command()
def plan(
    files: FilesArg = None,
    as_of: AsOfOpt = None,
    protected: ProtectedOpt = None,
    report_dir: ReportDirOpt = None,
    max_users: MaxUsersOpt = None,
    allow_large_run: LargeOpt = False,
    ledger: LedgerOpt = None,
    sheet: SheetOpt = None,
    prefect: PrefectOpt = False,
) -> None:
    """Dry run: read, validate and resolve FILES and report what would be terminated; nothing is terminated."""
    _offboard(files, as_of=as_of, dry_run=True, protected_path=protected, report_dir=report_dir,
              max_users=max_users, allow_large_run=allow_large_run or None, ledger_path=ledger,
              sheets=tuple(sheet) if sheet else None, prefect=prefect)  # fmt: skip


@app.command()
def simulate(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8765,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    directory: Annotated[
        Path | None, typer.Option(help="CSV of users (id,login,name,status,role); default: generated.")
    ] = None,
    users: Annotated[int, typer.Option(help="Generated directory size.")] = 5000,
    seed: Annotated[int, typer.Option(help="Seed of the generated directory.")] = 7,
    rate_limit: Annotated[int, typer.Option(help="Requests per window per caller before 429.")] = 1000,
    rate_window: Annotated[float, typer.Option(help="Rate-limit window in seconds.")] = 60.0,
    latency_ms: Annotated[float, typer.Option(help="Added latency per request (ms).")] = 0.0,
    jitter_ms: Annotated[float, typer.Option(help="Random extra latency up to this (ms).")] = 0.0,
    event_delay: Annotated[float, typer.Option(help="Seconds before a termination's admin events appear.")] = 2.0,
    fault_rate: Annotated[float, typer.Option(help="Share of requests answered 500/503.")] = 0.0,
    drop_rate: Annotated[float, typer.Option(help="Share of requests whose connection is dropped.")] = 0.0,
    relogin_share: Annotated[float, typer.Option(help="Share of terminated users who sign in again.")] = 0.0,
    token_lifetime: Annotated[float, typer.Option(help="Access token lifetime in seconds.")] = 3600.0,
    client_id: Annotated[str, typer.Option(help="Client id it accepts.")] = "sim-client-id",
    client_secret: Annotated[str, typer.Option(help="Client secret it accepts.")] = "sim-client-secret",  # noqa: S107 - the simulator's own
    enterprise_id: Annotated[str, typer.Option(help="Enterprise id it accepts.")] = "900001",
) -> None:
    """Run the Box API simulator: Box's endpoints for this product, on loopback, until Ctrl-C."""
    from box_offboarding.simulator import SimulatorConfig, serve_forever

    config = SimulatorConfig(
        client_id=client_id, client_secret=client_secret, enterprise_id=enterprise_id, users=users, seed=seed,
        directory_path=directory, rate_limit=rate_limit, rate_window_seconds=rate_window, latency_ms=latency_ms,
        latency_jitter_ms=jitter_ms, event_delay_seconds=event_delay, fault_rate=fault_rate, drop_rate=drop_rate,
        relogin_share=relogin_share, token_lifetime_seconds=token_lifetime,
    )  # fmt: skip
    try:
        serve_forever(config, host=host, port=port)
    except OffboardingError as error:  # a bad directory file: the user's input
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(EXIT_USAGE) from None


@app.command()
def reconcile() -> None:
    """Re-check users that earlier runs left pending (Box accepted, no admin event yet) and record what is found.

    Exit 0 when nobody is left pending, 1 when some still are, 2 on a configuration error.
    """
    from box_offboarding.recheck import recheck_pending

    settings = _settings_or_exit()
    with _exit_on_errors():
        outcome = asyncio.run(recheck_pending(settings=settings))
    typer.echo(
        f"pending before: {outcome.pending_before}; confirmed now: {outcome.confirmed.height}; "
        f"still pending: {outcome.still_pending}; re-logins after termination: {outcome.relogins}"
    )
    raise typer.Exit(1 if outcome.still_pending else 0)


@app.command()
def events(
    hours: Annotated[float, typer.Option(help="Look back this many hours.", min=0.01, max=24 * 365)] = 24.0,
    login: Annotated[str | None, typer.Option(help="Only events whose source is this user's login.")] = None,
) -> None:
    """List the admin event types Box recorded recently, to find the type that confirms a termination.

    Box does not publish it: terminate one test user's sessions by hand (Admin Console, or `offboard run` on a
    one-line file), wait a few minutes, then run `offboard events --hours 1 --login that.user@example.com` and put
    the type that appeared in OFFBOARD_CONFIRMATION_EVENT_TYPES.
    """
    from collections import Counter
    from datetime import timedelta

    from box_offboarding.box.client import BoxClient

    settings = _settings_or_exit()
    until = datetime.now(UTC)

    async def read() -> Counter[str]:
        seen: Counter[str] = Counter()
        async with BoxClient(settings.box) as client:
            async for event in client.iter_admin_events(
                created_after=until - timedelta(hours=hours), created_before=until
            ):
                if login is None or (event.source_login or "").lower() == login.lower():
                    seen[event.event_type] += 1
        return seen

    with _exit_on_errors():
        seen = asyncio.run(read())
    table = Table(title=f"admin events in the last {hours:g} h" + (f" about {login}" if login else ""))
    table.add_column("event type")
    table.add_column("events", justify="right")
    for event_type, count in seen.most_common():
        table.add_row(event_type, str(count))
    Console().print(table)


@app.command()
def demo(
    second_night: Annotated[
        bool, typer.Option("--second-night/--one-night", help="Also run the next night on the same files.")
    ] = True,
) -> None:
    """The whole product with nothing configured: simulator, sample HR files, the real Prefect flow, a report.

    Starts the Box simulator on a free loopback port (5,000 synthetic users), writes messy sample HR exports under
    data/samples/ (or reuses today's), and runs the offboard flow on an ephemeral Prefect server. Night 2 reads the
    same files again: nothing is sent twice, and people who signed back in are flagged.
    """
    from box_offboarding.demo import demo_environment, demo_plan, fresh_ledger, write_demo_samples
    from box_offboarding.simulator import run_simulator

    plan = demo_plan(Path.cwd())
    as_of = datetime.now(UTC).date()  # the sample files are dated relative to it
    with console.status("writing sample HR files..."):
        paths = write_demo_samples(plan, as_of=as_of)
    fresh_ledger(plan.ledger_path)
    console.print(f"sample HR files: {', '.join(str(path) for path in paths)}")
    with run_simulator(plan.simulator) as sim:
        console.print(f"Box simulator: {sim.base_url} ({len(sim.simulator.users)} users)")
        os.environ.update(demo_environment(plan, sim))
        codes = [_demo_night("night 1", paths, as_of=as_of)]
        if second_night:
            with console.status("letting a 'night' pass in Box (a few seconds: some leavers sign back in)..."):
                time.sleep(DEMO_NIGHT_SECONDS)
            codes.append(_demo_night("night 2", paths, as_of=as_of))
        console.print(f"Box received {sim.simulator.stats()['requests_total']} API requests in all")
    raise typer.Exit(codes[0])


def _demo_night(label: str, paths: list[Path], *, as_of: date) -> int:
    """One night of the demo: the real offboard flow on the sample files."""
    return _flow_run(label, inputs=[str(path) for path in paths], as_of=as_of)


def _flow_run(label: str, **parameters: Any) -> int:
    """Run the real offboard flow (on PREFECT_API_URL, or an ephemeral server); print its summary; its exit code."""
    from box_offboarding.orchestration import offboard

    async def once() -> Any:
        return await offboard(**parameters, return_state=True)

    with console.status(f"{label}: running the offboard flow (the first start of Prefect takes ~20 s)..."):
        state = asyncio.run(once())
    result = state.result(raise_on_failure=False)
    if not isinstance(result, dict):
        console.print(f"[red]{label}: the flow ended {state.name}: {state.message}[/red]")
        return 1
    counts = {status.value: int(result.get(status.value, 0)) for status in Status}
    Console().print(f"\n[bold]{label}[/bold]: the offboard flow run ended {state.name}")
    notes = [f"re-logins after termination: {result.get('relogins', 0)}"]
    notes += [] if state.is_completed() else [f"flow run {state.name}: {state.message}"]
    _print_summary(counts, report=Path(str(result["report"])), run_id=str(result["run_id"]), aborted=None, notes=notes)
    return 0 if state.is_completed() else 1


def _run_as_flow(files: list[Path], *, as_of: date | None, settings: Settings) -> int:
    """``offboard run --prefect``: the same run as the ``offboard`` flow, recorded by Prefect with its artifacts.

    The flow reads its settings from the environment, as a deployment does; the command's choices that are not flow
    parameters are exported to this process's environment first.
    """
    os.environ.update(
        OFFBOARD_LEDGER_PATH=str(settings.ledger_path),
        OFFBOARD_REPORT_DIR=str(settings.report_dir),
        OFFBOARD_FORCE=str(settings.force).lower(),
    )
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    parameters: dict[str, Any] = {
        "inputs": [str(path) for path in files] or None,
        "as_of": as_of,
        "dry_run": settings.dry_run,
        "batch_size": settings.batch_size,
        "max_users": settings.max_users,
        "allow_large_run": settings.allow_large_run,
        "confirm_timeout_seconds": settings.confirm_timeout_seconds,
        "protected_path": str(settings.protected_path) if settings.protected_path else None,
    }
    return _flow_run("offboard", **parameters)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
