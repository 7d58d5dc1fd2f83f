"""Serving the simulator over real HTTP: uvicorn in a background thread (tests, benchmarks, the demo) or in the
foreground (``offboard simulate``)."""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr

from box_offboarding.settings import BoxSettings
from box_offboarding.simulator.app import build_app
from box_offboarding.simulator.config import SimulatorConfig
from box_offboarding.simulator.state import Simulator

STARTUP_TIMEOUT_SECONDS = 15.0
SHUTDOWN_TIMEOUT_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 75


@dataclass(frozen=True)
class SimulatorAddress:
    """Where a simulator answers: ``base_url`` (``BOX_BASE_URL``) and ``upload_url`` (``BOX_UPLOAD_URL``)."""

    base_url: str
    upload_url: str
    config: SimulatorConfig

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/2.0"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth2/token"

    @property
    def token_form(self) -> dict[str, str]:
        """The client-credentials form this simulator accepts at :attr:`token_url`."""
        return {
            "grant_type": "client_credentials",
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
            "box_subject_type": "enterprise",
            "box_subject_id": self.config.enterprise_id,
        }

    @property
    def environment(self) -> dict[str, str]:
        """The ``BOX_*`` variables that point the product at this simulator."""
        return {
            "BOX_BASE_URL": self.base_url,
            "BOX_UPLOAD_URL": self.upload_url,
            "BOX_WEB_URL": f"{self.base_url}/_sim/uploads",
            "BOX_CLIENT_ID": self.config.client_id,
            "BOX_CLIENT_SECRET": self.config.client_secret,
            "BOX_ENTERPRISE_ID": self.config.enterprise_id,
        }

    def box_settings(self, **overrides: Any) -> BoxSettings:
        """Box client settings for this simulator; ``overrides`` sets any other :class:`BoxSettings` field."""
        values: dict[str, Any] = {
            "base_url": self.base_url,
            "upload_url": self.upload_url,
            "web_url": f"{self.base_url}/_sim/uploads",
            "client_id": self.config.client_id,
            "client_secret": SecretStr(self.config.client_secret),
            "enterprise_id": self.config.enterprise_id,
        }
        return BoxSettings(**{**values, **overrides})


@dataclass(frozen=True)
class RunningSimulator(SimulatorAddress):
    """A simulator served from a thread of this process, its state at hand in :attr:`simulator`."""

    simulator: Simulator


@contextlib.contextmanager
def run_simulator(
    config: SimulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Callable[[], float] | None = None,
) -> Iterator[RunningSimulator]:
    """Start uvicorn in a background thread on ``host:port`` (0: a free port); stop it cleanly on exit.

    ``clock`` (epoch seconds) replaces the wall clock for token expiry, rate windows and event times, so tests can
    move time forward instead of waiting."""
    config = config or SimulatorConfig()
    simulator = Simulator(config, clock=clock or time.time)
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and without it every small
    # answer (headers and body written separately) waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(simulator),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            # idle connections stay open as long as behind a typical load balancer (uvicorn's 5 s default races
            # with clients reusing a pooled connection when the machine is busy)
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="box-simulator", daemon=True)
    thread.start()
    try:
        _wait_until_started(server, thread)
        url_host = f"[{host}]" if ":" in host else host
        base_url = f"http://{url_host}:{bound_port}"
        yield RunningSimulator(base_url=base_url, upload_url=f"{base_url}/api", simulator=simulator, config=config)
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT_SECONDS)
        sock.close()


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the Box simulator's server stopped during start-up (see the log above)")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Box simulator did not start within {STARTUP_TIMEOUT_SECONDS:.0f} s")
        time.sleep(0.005)


def cli_banner(running: RunningSimulator) -> str:
    """What ``offboard simulate`` prints: where the simulator answers, the credentials it accepts (its own, not
    secrets) and the environment lines that point the product at it."""
    config = running.config
    people = len(running.simulator.users)
    return "\n".join(
        [
            f"Box API simulator: {people} users, service account {running.simulator.service_account.login} "
            f"({config.service_account_role})",
            f"  API:      {running.api_url}",
            f"  token:    {running.token_url}",
            f"  uploads:  {running.upload_url}/2.0/files/content",
            f"  stats:    {running.base_url}/_sim/stats",
            f"  rate limit {config.rate_limit} requests per {config.rate_window_seconds:g} s; "
            f"events {config.event_delay_seconds:g} s after a termination",
            "",
            "Point the product at it:",
            *(f"  export {name}={value}" for name, value in running.environment.items()),
        ]
    )


def print_banner(running: RunningSimulator) -> None:
    """What ``offboard simulate`` shows once the simulator answers."""
    print(cli_banner(running), flush=True)


def serve_forever(
    config: SimulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    on_ready: Callable[[RunningSimulator], None] = print_banner,
) -> None:
    """Serve until Ctrl-C or SIGTERM (blocking, for the CLI). ``on_ready`` gets the running simulator; by default
    :func:`cli_banner` is printed to stdout."""
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with run_simulator(config, host=host, port=port) as running:
        on_ready(running)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


@dataclass(frozen=True)
class SimulatorProcess(SimulatorAddress):
    """A simulator serving from its own process (see :func:`run_simulator_process`); read it over HTTP."""

    def _sim(self, method: str, path: str) -> Any:
        response = httpx.request(method, f"{self.base_url}/_sim/{path}")
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self._sim("GET", "stats")
        return stats

    def reset_stats(self) -> None:
        self._sim("POST", "reset")

    def events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self._sim("GET", "events")["entries"]
        return events

    def terminations_per_user(self) -> dict[str, int]:
        counts: dict[str, int] = self.stats()["terminations_per_user"]
        return counts


def _serve_in_child(config: SimulatorConfig, host: str, port: int, ready: Connection) -> None:
    serve_forever(config, host=host, port=port, on_ready=lambda running: ready.send(running.base_url))


@contextlib.contextmanager
def run_simulator_process(
    config: SimulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[SimulatorProcess]:
    """Like :func:`run_simulator`, but in a separate process, so a benchmark's client and the simulator do not
    share one interpreter lock; stopped with SIGTERM on exit."""
    config = config or SimulatorConfig()
    context = multiprocessing.get_context("spawn")  # the parent may run threads: never fork it
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_serve_in_child, args=(config, host, port, sender), name="box-simulator")
    process.start()
    try:
        if not receiver.poll(STARTUP_TIMEOUT_SECONDS + 30):  # + the child's imports
            raise RuntimeError("the Box simulator process did not start")
        base_url: str = receiver.recv()
        yield SimulatorProcess(base_url=base_url, upload_url=f"{base_url}/api", config=config)
    finally:
        process.terminate()
        process.join(SHUTDOWN_TIMEOUT_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()
