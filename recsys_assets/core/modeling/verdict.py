"""What the offline figures allow: does the model beat popularity beyond noise, and do the figures mean anything?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .metrics import Interval, bootstrap_intervals


@dataclass(frozen=True)
class OfflineVerdict:
    """`beats_popularity`: the paired MAP lead over popularity is above zero with the evaluation's confidence.
    `noise`: empty, or a plain statement that the hold-out held too few customers for the figures to mean much.
    `publish_popularity`: the lists to publish are popularity's (the model showed no real lead)."""

    beats_popularity: bool
    publish_popularity: bool
    reason: str
    noise: str


def judge_offline(results: dict, k: int, min_evaluable: int, model_is_popularity: bool) -> OfflineVerdict:
    """Read the hold-out results of `training.evaluate` (model vs popularity, with bootstrap intervals)."""
    customers = int(results["model"]["evaluated_users"])
    noise = ""
    if customers < min_evaluable:
        noise = (
            f"only {customers} customers could be evaluated on the hold-out (fewer than {min_evaluable}): "
            "the offline figures are noise, not evidence"
        )
    if model_is_popularity:
        return OfflineVerdict(False, True, "model selection chose the popularity baseline", noise)
    lead = results["intervals"]["lead_map"]
    level = f"{results.get('confidence', 0.95):.0%}"
    span = f"paired MAP@{k} lead {lead['mean']:+.4f}, {level} interval {lead['low']:+.4f} to {lead['high']:+.4f}"
    if customers and lead["low"] > 0:
        return OfflineVerdict(True, False, f"the model beats popularity on the hold-out ({span})", noise)
    return OfflineVerdict(
        False,
        True,
        f"the model shows no lead over popularity beyond noise on the hold-out ({span} over {customers} customers): "
        "popularity lists are published",
        noise,
    )


def paired_lead(candidate: np.ndarray, baseline: np.ndarray, confidence: float = 0.95, seed: int = 0) -> Interval:
    """The bootstrap interval of the mean paired difference candidate - baseline (one value per customer, the same
    customers in the same order): a lead counts only when its lower bound is above zero."""
    return bootstrap_intervals({"lead": np.asarray(candidate) - np.asarray(baseline)}, confidence, seed=seed)["lead"]


def choose_simplest(
    per_unit_map: dict[str, np.ndarray],
    order: Sequence[str],
    k: int,
    confidence: float,
    seed: int = 0,
    unit: str = "customers",
) -> tuple[str, str]:
    """The ranking to use and why: the simplest (first of `order`) unless a more elaborate one leads it beyond
    noise, the rule model selection applies to popularity. Rankings are tried simplest first; each replaces the
    current choice only when the lower bound of the `confidence` interval of its paired AP@k lead (same `unit`s:
    customers, orders) over the current choice is above zero."""
    chosen = order[0]
    steps = []
    for name in order[1:]:
        lead = paired_lead(per_unit_map[name], per_unit_map[chosen], confidence, seed)
        span = f"{name} - {chosen}: MAP@{k} lead {lead.mean:+.4f} ({lead.low:+.4f} to {lead.high:+.4f})"
        if len(per_unit_map[name]) and lead.low > 0:
            chosen = name
            steps.append(f"{span}, beyond noise")
        else:
            steps.append(f"{span}, no lead beyond noise")
    count = len(per_unit_map[order[0]])
    return chosen, f"{chosen} chosen ({confidence:.0%} paired intervals over {count} {unit}: {'; '.join(steps)})"
