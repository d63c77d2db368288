"""Preparation: the cleaned customer x product x order events the models learn from (group `preparation`)."""

import pandas as pd
from dagster import AssetExecutionContext, AssetIn, Config, MetadataValue, Output, asset
from pydantic import Field

from ..core.data.cleaning import CleaningRules, clean_orders


class InteractionsConfig(Config):
    window_days: int = Field(365, description="Use the raw_orders partitions of the last N days.")
    max_quantity: float = Field(10_000.0, description="Lines with a larger absolute quantity are dropped.")


@asset(
    group_name="preparation",
    ins={"raw_orders": AssetIn(metadata={"allow_missing_partitions": True})},
    code_version="1",
)
def interactions(
    context: AssetExecutionContext,
    config: InteractionsConfig,
    raw_orders: dict,
    products: pd.DataFrame,
    customers: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """Cleaned customer x product x order events of the rolling window; every dropped line counted by reason."""
    loaded = {key: frame for key, frame in raw_orders.items() if frame is not None}
    if not loaded:
        raise ValueError("interactions: no raw_orders partition is materialized; materialize raw_orders first")
    last_day = pd.Timestamp(max(loaded))
    first_day = last_day - pd.Timedelta(days=config.window_days - 1)
    in_window = [frame for key, frame in loaded.items() if pd.Timestamp(key) >= first_day]
    context.log.info(
        f"interactions: {len(in_window)} raw_orders partitions in the window {first_day.date()} to "
        f"{last_day.date()}; {len(raw_orders) - len(loaded)} partitions are not materialized"
    )
    orders = pd.concat(in_window, ignore_index=True)
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
        "partitions_used": len(in_window),
        "dropped_rows": result.dropped_total,
        "dropped_share": float(round(dropped_share, 6)),
        **{f"dropped_{reason}": count for reason, count in result.dropped.items()},
        "dropped_by_reason": MetadataValue.md("| reason | lines |\n|---|---|\n" + table),
    }
    return Output(kept, metadata=metadata)
