"""Deployment entry point of the hourly re-check of pending terminations (see prefect.yaml)."""

from box_offboarding.orchestration import reconcile_pending

__all__ = ["reconcile_pending"]

if __name__ == "__main__":
    import asyncio

    asyncio.run(reconcile_pending())
