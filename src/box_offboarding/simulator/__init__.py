"""A Box API simulator: a real HTTP server that answers the endpoints this product uses the way Box does (shapes
from Box's OpenAPI description), with Box's rate limit, asynchronous termination jobs, admin events and faults on
demand. The demo and the benchmarks run on it; so do the tests.

    with run_simulator(SimulatorConfig(users=500, event_delay_seconds=0)) as sim:
        sim.base_url, sim.upload_url       # BOX_BASE_URL, BOX_UPLOAD_URL
        sim.simulator.stats()              # what was asked and answered
"""

from box_offboarding.simulator.config import SimulatorConfig
from box_offboarding.simulator.directory import (
    DirectoryFileError,
    DirectoryUser,
    generate_directory,
    load_directory,
)
from box_offboarding.simulator.server import (
    RunningSimulator,
    SimulatorAddress,
    SimulatorProcess,
    cli_banner,
    run_simulator,
    run_simulator_process,
    serve_forever,
)
from box_offboarding.simulator.state import Simulator

__all__ = [
    "DirectoryFileError",
    "DirectoryUser",
    "RunningSimulator",
    "Simulator",
    "SimulatorAddress",
    "SimulatorConfig",
    "SimulatorProcess",
    "cli_banner",
    "generate_directory",
    "load_directory",
    "run_simulator",
    "run_simulator_process",
    "serve_forever",
]
