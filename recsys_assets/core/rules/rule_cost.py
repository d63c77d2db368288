"""What each business rule costs: MAP@K of the model's hold-out lists without rules vs with each rule alone and
with all of them, on the same customers, as paired leads with bootstrap intervals (the data team sees a rule's
price before turning it on)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..modeling.metrics import bootstrap_intervals, per_user_metrics
from ..modeling.models import recommend_all
from ..modeling.training import TrainedModel, holdout_relevance
from .rule_lists import Fill, apply_to_lists
from .rule_set import RuleSet


def rule_costs(
    model: TrainedModel,
    test: pd.DataFrame,
    k: int,
    exclude_purchased: bool,
    filter_items: np.ndarray | None,
    rules: RuleSet,
    present: list[str],
    segments: Mapping[str, str | None],
    candidates_per_slot: int,
    fill: Fill | None = None,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict:
    """Per variant (each rule of `present` alone, then `all` of them): the MAP@K of the rule-filtered lists, its
    paired lead over the lists without rules (negative: what the rule costs) with its interval, and the products
    removed per list. The lists are built as the `recommendations` asset builds them: K x `candidates_per_slot`
    candidates, the rules, topped up from `fill`."""
    relevant = holdout_relevance(model, test, exclude_purchased)
    evaluated = np.flatnonzero(np.diff(relevant.indptr) > 0)
    relevant_rows = relevant[evaluated]
    result = {"k": k, "evaluated_users": int(len(evaluated)), "confidence": confidence, "variants": {}}
    if not present or len(evaluated) == 0:
        return result
    pool = k * candidates_per_slot
    ids, scores = recommend_all(model.recommender, model.purchased, evaluated, pool, exclude_purchased, filter_items)
    baseline = per_user_metrics(ids[:, :k], relevant_rows, k)["map"]
    customer_ids = model.users.ids.to_numpy()[evaluated].astype(str)
    item_ids = model.items.ids.to_numpy().astype(str)
    filled = ids >= 0
    candidates = pd.DataFrame(
        {
            "customer_id": np.repeat(customer_ids, pool)[filled.ravel()],
            "rank": np.tile(np.arange(1, pool + 1), len(evaluated))[filled.ravel()],
            "product_id": item_ids[ids[filled]],
            "score": scores[filled].astype(np.float64),
            "source": model.recommender.name,
        }
    )
    row_of = pd.Series(np.arange(len(evaluated)), index=customer_ids)
    variants = {rule: [rule] for rule in present}
    if len(present) > 1:
        variants["all"] = list(present)
    samples, removed = {"map_none": baseline}, {}
    for name, only in variants.items():
        ruled = apply_to_lists(candidates, rules, segments, k, fill, only)
        matrix = np.full((len(evaluated), k), -1, dtype=np.int64)
        lists = ruled.lists
        rows = row_of.loc[lists["customer_id"].astype(str)].to_numpy()
        matrix[rows, lists["rank"].to_numpy() - 1] = model.items.index_of(lists["product_id"].astype(str))
        values = per_user_metrics(matrix, relevant_rows, k)["map"]
        samples[f"map_{name}"] = values
        samples[f"lead_{name}"] = values - baseline
        removed[name] = len(ruled.removed) / len(evaluated)
    intervals = bootstrap_intervals(samples, confidence, seed=seed)
    result["map_none"] = float(baseline.mean())
    for name in variants:
        lead = intervals[f"lead_{name}"]
        result["variants"][name] = {
            "rules": variants[name],
            "map": float(samples[f"map_{name}"].mean()),
            "lead": lead.mean,
            "low": lead.low,
            "high": lead.high,
            "removed_per_list": float(removed[name]),
        }
    return result


def rule_costs_markdown(costs: dict, described: Mapping[str, str]) -> str:
    """The cost table: one row per rule alone and for all of them together."""
    k, level = costs["k"], f"{costs['confidence']:.0%}"
    if not costs["variants"]:
        states = ", ".join(f"{rule}: {words}" for rule, words in described.items())
        return f"No rule has data, so no rule costs anything ({states})."
    lines = [
        f"MAP@{k} of the model's hold-out lists without rules: {costs['map_none']:.4f}, "
        f"{costs['evaluated_users']} customers; the paired lead of each rule on the same customers ({level} "
        "bootstrap interval). A negative lead whose interval excludes 0 is a real cost.",
        "",
        f"| rule | state | MAP@{k} with it | lead vs no rules ({level}) | products removed per list |",
        "|---|---|---|---|---|",
    ]
    for name, variant in costs["variants"].items():
        state = described.get(name, "every rule with data")
        lines.append(
            f"| {name} | {state} | {variant['map']:.4f} | {variant['lead']:+.4f} ({variant['low']:+.4f} to "
            f"{variant['high']:+.4f}) | {variant['removed_per_list']:.2f} |"
        )
    return "\n".join(lines)
