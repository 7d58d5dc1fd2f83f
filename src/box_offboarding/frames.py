"""Small rules for changing a frame of input rows, shared by the stages that decide statuses.

Every stage adds to the same frame (:data:`~box_offboarding.columns.ROW_SCHEMA`): a row whose ``status`` is null is
still undecided, and each stage decides some of those rows (see the module docstrings of :mod:`validate
<box_offboarding.validate>`, :mod:`plan <box_offboarding.plan>`, :mod:`terminate <box_offboarding.terminate>` and
:mod:`reconcile <box_offboarding.reconcile>`). These helpers are the only ways a stage writes a status.
"""

from __future__ import annotations

import polars as pl

from box_offboarding.columns import INPUT_SCHEMA, RESULT_SCHEMA
from box_offboarding.statuses import Status


def with_result_columns(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` with every input and result column, in schema order (absent result columns are null)."""
    missing = [
        pl.lit(None, dtype=dtype).alias(name) for name, dtype in RESULT_SCHEMA.items() if name not in rows.columns
    ]
    return rows.with_columns(missing).select([*INPUT_SCHEMA, *RESULT_SCHEMA])


def decide(rows: pl.DataFrame, condition: pl.Expr, status: Status, reason: pl.Expr) -> pl.DataFrame:
    """Give ``status`` and ``reason`` to the undecided rows matching ``condition``; decided rows keep theirs."""
    hit = pl.col("status").is_null() & condition
    return rows.with_columns(
        pl.when(hit).then(pl.lit(status.value)).otherwise(pl.col("status")).alias("status"),
        pl.when(hit).then(reason).otherwise(pl.col("reason")).alias("reason"),
    )


def fill_reason(rows: pl.DataFrame, status: Status, reason: str) -> pl.DataFrame:
    """Give ``reason`` to the rows of ``status`` that have none."""
    fill = (pl.col("status") == status.value) & pl.col("reason").is_null()
    return rows.with_columns(pl.when(fill).then(pl.lit(reason)).otherwise(pl.col("reason")).alias("reason"))


def overlay(rows: pl.DataFrame, updates: pl.DataFrame, *, where: pl.Expr, found: str) -> pl.DataFrame:
    """Rows matching ``where`` whose user has a row in ``updates`` (one per ``box_user_id``, ``found`` not null)
    take that row's other columns; every other row keeps its values."""
    columns = [name for name in updates.columns if name != "box_user_id"]
    incoming = updates.rename({name: f"new_{name}" for name in columns})
    joined = rows.join(incoming, on="box_user_id", how="left", maintain_order="left")
    take = where & pl.col(f"new_{found}").is_not_null()
    return joined.with_columns(
        pl.when(take).then(pl.col(f"new_{name}")).otherwise(pl.col(name)).alias(name) for name in columns
    ).drop(f"new_{name}" for name in columns)
