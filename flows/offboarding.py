"""Deployment entry point of the nightly and manual offboarding (see prefect.yaml).

The flow itself lives in :mod:`box_offboarding.orchestration`, where it is typed and tested; this file is what
``prefect deploy`` and the workers load.
"""

from box_offboarding.orchestration import offboard, offboard_sharded

__all__ = ["offboard", "offboard_sharded"]

if __name__ == "__main__":
    import asyncio

    asyncio.run(offboard())
