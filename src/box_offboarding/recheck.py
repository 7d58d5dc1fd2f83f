"""The hourly re-check of users earlier runs left ``pending``: the second entry point, wiring like
:mod:`~box_offboarding.pipeline` (the rules are :mod:`~box_offboarding.reconcile`'s)."""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from box_offboarding.box.client import BoxClient
from box_offboarding.columns import CONFIRMED_SCHEMA
from box_offboarding.ledger import Ledger
from box_offboarding.outcome import RecheckOutcome
from box_offboarding.reconcile import ReconcileOptions, reconcile
from box_offboarding.settings import Settings

_RECHECKED = ("box_user_id", "login", "event_id", "confirmed_at")


async def recheck_pending(*, settings: Settings) -> RecheckOutcome:
    """Look once for the admin events of every user still pending from earlier runs, and record what is found."""
    with Ledger(settings.ledger_path) as ledger:
        pending = ledger.accepted()
        if pending.is_empty():
            empty = pl.DataFrame(schema={name: CONFIRMED_SCHEMA[name] for name in _RECHECKED})
            return RecheckOutcome(pending_before=0, confirmed=empty, relogins=0, api_calls={})
        options = replace(ReconcileOptions.from_settings(settings), timeout_seconds=0)
        async with BoxClient(settings.box) as client:
            result = await reconcile(client, pending.select("box_user_id", "requested_at"), options=options)
            api_calls = dict(client.calls)
        ledger.record_confirmations(result.confirmations)
        ledger.record_relogins(result.relogins)
        confirmed = result.confirmations.join(pending.select("box_user_id", "login"), on="box_user_id", how="left")
    return RecheckOutcome(
        pending_before=pending.height,
        confirmed=confirmed.select(_RECHECKED),
        relogins=result.relogins.height,
        api_calls=api_calls,
    )
