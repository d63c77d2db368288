"""Preparation: the cleaned customer x product x order events the models learn from (group `preparation`)."""

from dataclasses import dataclass

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, Config, MetadataValue, Output, asset
from pydantic import Field

from ..core.data.cleaning import CleaningRules, clean_orders
from ..core.data.window import SPARSE_WINDOW_DAYS, widen_for_sparse_customers
from ..core.faults import failpoint

RAW_ORDERS = AssetKey("raw_orders")


@dataclass
class Window:
    frames: dict[str, pd.DataFrame]  # partition key -> order lines, inside the window
    first_day: pd.Timestamp
    last_day: pd.Timestamp
    days: int
    rule: str
    empty_after: int  # materialized partitions after the last order day, holding no line

    def describe(self) -> str:
        return (
            f"{len(self.frames)} raw_orders partitions from {self.first_day.date()} to {self.last_day.date()} "
            f"({self.days} days: {self.rule}); {self.empty_after} empty partition(s) after the last order day"
        )


def load_window(io_manager, materialized: list[str], window_days: int | None) -> Window:
    """Read raw_orders partitions newest first: skip the empty ones at the end, anchor the window on the first
    that holds lines, then read back to the window start (widened for sparse customers when not configured)."""
    frames, anchor, empty_after = {}, None, 0
    span = window_days or SPARSE_WINDOW_DAYS
    for key in materialized:
        if anchor is not None and pd.Timestamp(key) <= anchor - pd.Timedelta(days=span):
            break
        frame = io_manager.load_partition(RAW_ORDERS.path, key)
        if frame is None or frame.empty:
            empty_after += anchor is None
            continue
        anchor = pd.Timestamp(key) if anchor is None else anchor
        frames[key] = frame
    if anchor is None:
        raise ValueError(
            f"interactions: the {len(materialized)} materialized raw_orders partitions hold no order line "
            f"(newest {materialized[0]}, oldest {materialized[-1]}): import orders and materialize raw_orders"
        )
    days, rule = (window_days, "configured") if window_days else widen_for_sparse_customers(frames, anchor)
    first_day = anchor - pd.Timedelta(days=days - 1)
    frames = {key: frame for key, frame in frames.items() if pd.Timestamp(key) >= first_day}
    return Window(frames, first_day, anchor, days, rule, empty_after)


class InteractionsConfig(Config):
    window_days: int | None = Field(
        None,
        description="Train on the raw_orders of the last N days before the last order day. Default (empty): 365, "
        "widened to 1095 when customers ordered fewer than twice in a year (sparse B2B histories).",
    )
    max_quantity: float = Field(10_000.0, description="Lines with a larger absolute quantity are dropped.")


@asset(
    group_name="preparation",
    deps=[AssetKey("raw_orders")],
    required_resource_keys={"io_manager"},
    code_version="2",
)
def interactions(
    context: AssetExecutionContext,
    config: InteractionsConfig,
    products: pd.DataFrame,
    customers: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """Cleaned customer x product x order events of the window before the last order day; every dropped line
    counted by reason.

    The window ends on the newest materialized raw_orders partition that holds order lines (the last real order
    day), not on the newest partition: days without orders after it (a closed shop, or partitions an earlier run
    materialized empty) do not shift it. Only the window's partitions are read, newest first.
    """
    materialized = sorted(context.instance.get_materialized_partitions(RAW_ORDERS), reverse=True)
    if not materialized:
        raise ValueError("interactions: no raw_orders partition is materialized; materialize raw_orders first")
    window = load_window(context.resources.io_manager, materialized, config.window_days)
    context.log.info(f"interactions: {window.describe()}")
    failpoint("interactions.loaded")
    partitions_used = len(window.frames)
    first_day, last_day = window.first_day, window.last_day
    orders = pd.concat(window.frames.values(), ignore_index=True)
    window.frames.clear()  # copied into `orders`: freed before cleaning (gigabytes at 10 M lines)
    result = clean_orders(orders, products, customers, CleaningRules(max_quantity=config.max_quantity))
    kept = result.interactions
    if kept.empty:
        raise ValueError(
            f"interactions: all {result.input_rows} order lines from {first_day.date()} to {last_day.date()} "
            f"were dropped by cleaning: {result.dropped}"
        )
    context.log.info(f"interactions: kept {len(kept)} events; dropped {result.dropped}")
    dropped_share = result.dropped_total / max(1, result.input_rows)
    table = "\n".join(f"| {reason} | {count} |" for reason, count in result.dropped.items())
    metadata = {
        "input_rows": result.input_rows,
        "rows": len(kept),
        "customers": int(kept["customer_id"].nunique()),
        "products": int(kept["product_id"].nunique()),
        "window_start": str(first_day.date()),
        "window_end": str(last_day.date()),
        "window_days": window.days,
        "window_rule": window.rule,
        "partitions_used": partitions_used,
        "empty_partitions_after_last_order": window.empty_after,
        "dropped_rows": result.dropped_total,
        "dropped_share": float(round(dropped_share, 6)),
        **{f"dropped_{reason}": count for reason, count in result.dropped.items()},
        "dropped_by_reason": MetadataValue.md("| reason | lines |\n|---|---|\n" + table),
    }
    return Output(kept, metadata=metadata)
