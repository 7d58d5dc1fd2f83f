"""Deployment entry points of the offboarding (see prefect.yaml): ``offboard`` for the nightly and manual runs,
``offboard_shard`` (the same flow with shard fields) and ``offboard_sharded`` for a split offboarding.

The flow itself lives in :mod:`box_offboarding.orchestration`, where it is typed and tested; this file is what
``prefect deploy`` and the workers load.
"""

from box_offboarding.orchestration import offboard, offboard_shard, offboard_sharded

__all__ = ["offboard", "offboard_shard", "offboard_sharded"]

if __name__ == "__main__":
    import asyncio

    asyncio.run(offboard())
