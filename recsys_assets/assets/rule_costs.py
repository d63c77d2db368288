"""model_metrics' business-rule figures: MAP@K of the hold-out lists with each rule alone and all together vs none."""

from __future__ import annotations

import time

import pandas as pd
from dagster import AssetExecutionContext, MetadataValue

from ..core.data.split import TemporalSplit
from ..core.modeling.training import TrainedModel, inactive_item_indices
from ..core.rules.rule_cost import rule_costs, rule_costs_markdown
from ..core.rules.rule_data import RuleTables
from ..core.rules.rule_lists import popularity_fill
from ..core.rules.rule_set import compile_rules


def rule_cost_figures(
    context: AssetExecutionContext,
    model: TrainedModel,
    split: TemporalSplit,
    products: pd.DataFrame,
    customers: pd.DataFrame,
    tables: RuleTables,
    k: int,
    exclude_purchased: bool,
    confidence: float,
) -> tuple[dict, dict]:
    """The cost of every rule with data (`rule_<rule>_lead_map@K` with `_low` / `_high`; `rule_all_...` for all
    of them together), and the results for the summary."""
    started = time.perf_counter()
    present = [rule for rule, has in tables.present().items() if has]
    rules = compile_rules(tables, products, pd.Timestamp.now(tz="UTC").date())
    segments = dict(zip(customers["customer_id"].astype(str), customers["segment"].astype(str), strict=True))
    costs = rule_costs(
        model, split.test, k, exclude_purchased, inactive_item_indices(model, products), rules, present, segments,
        tables.settings.candidates_per_slot, popularity_fill(model, products, exclude_purchased), confidence,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    costs["seconds"] = seconds
    metadata: dict = {}
    for name, variant in costs["variants"].items():
        key = f"rule_{name}_lead_map@{k}"
        metadata[key] = float(variant["lead"])
        metadata[f"{key}_low"] = float(variant["low"])
        metadata[f"{key}_high"] = float(variant["high"])
        metadata[f"rule_{name}_map@{k}"] = float(variant["map"])
    context.log.info(f"model_metrics: the cost of {len(costs['variants'])} rule variant(s) in {seconds:.2f}s")
    return costs, {
        **metadata,
        "rules_with_data": MetadataValue.json(present),
        "rules_seconds": float(round(seconds, 3)),
        "rules_summary": MetadataValue.md(rule_costs_markdown(costs, tables.describe())),
    }
