"""model_metrics' related-products figures: bought together and similar per product, on the hold-out's orders."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from dagster import AssetExecutionContext, MetadataValue

from ..core.data.split import TemporalSplit
from ..core.modeling.bought_together import (
    RELATED_METRICS,
    RelatedSettings,
    als_item_factors,
    evaluate_related,
    related_markdown,
)
from ..core.modeling.training import TrainedModel, TrainingConfig, train

if TYPE_CHECKING:  # modeling imports this module
    from .modeling import MetricsConfig


def similar_factors(model: TrainedModel, split: TemporalSplit, fit_als: bool) -> tuple[tuple | None, str]:
    """The ALS item factors "similar" compares, and where they come from: the selected model's when it is an ALS;
    else the default ALS (`TrainingConfig()`) fitted on the training part when `fit_als`, else (or when that fit
    fails) none: "similar" is then left out."""
    factors = als_item_factors(model)
    if factors is not None:
        return factors, f"the selected model's item factors ({model.config.label})"
    if not fit_als:
        return None, f"none: the selected model ({model.config.label}) has no item factors and similar_fit_als is off"
    try:
        fitted = train(split.train, TrainingConfig())
    except Exception as error:  # a side evaluation must not stop model_metrics, which the model gate reads
        return None, f"none: the default ALS fitted for it failed ({type(error).__name__}: {error})"
    return als_item_factors(fitted), (
        f"the default ALS ({fitted.config.label}) fitted on the training part in {fitted.fit_seconds:.1f}s: the "
        f"selected model ({model.config.label}) has no item factors"
    )


def related_figures(
    context: AssetExecutionContext, config: MetricsConfig, model: TrainedModel, split: TemporalSplit
) -> tuple[dict, dict]:
    """Bought together, similar and the popular baseline on the hold-out's orders (evaluated, not published): the
    results and their metadata (keys prefixed with the ranking's name, `related_` for the choice)."""
    started = time.perf_counter()
    factors, source = similar_factors(model, split, config.similar_fit_als)
    settings = RelatedSettings(
        config.bought_together_prior_orders,
        config.bought_together_max_queries_per_order,
        config.bought_together_noise_below_orders,
    )
    results = evaluate_related(split.train, split.test, config.k, factors, settings, config.confidence)
    seconds = time.perf_counter() - started
    results["seconds"], results["similar_factors"] = seconds, source
    results["prior_orders"] = settings.prior_orders  # the related_lists asset weighs co-orders the same way
    k, intervals = config.k, results["intervals"]
    metadata: dict = {}
    for name in results["scorers"]:
        for metric in RELATED_METRICS:
            key = f"{name}_{metric}@{k}"
            metadata[key] = float(results["scorers"][name][metric])
            metadata[f"{key}_low"] = float(intervals[f"{name}_{metric}"]["low"])
            metadata[f"{key}_high"] = float(intervals[f"{name}_{metric}"]["high"])
        if name != "popular_related":
            metadata[f"{name}_lead_map@{k}_low"] = float(intervals[f"lead_{name}_map"]["low"])
            metadata[f"{name}_lead_map@{k}_high"] = float(intervals[f"lead_{name}_map"]["high"])
    (context.log.warning if results["noise"] else context.log.info)(
        f"model_metrics: bought together: {results['reason']} in {seconds:.2f}s (similar: {source})"
    )
    return results, {
        **metadata,
        "related_choice": results["choice"],
        "related_reason": results["reason"],
        "related_orders_evaluated": int(results["evaluable_orders"]),
        "related_holdout_orders": int(results["holdout_orders"]),
        "related_queries": int(results["queries"]),
        "related_figures_are_noise": MetadataValue.bool(bool(results["noise"])),
        "related_similar_factors": source,
        "related_seconds": float(round(seconds, 3)),
        "related_summary": MetadataValue.md(related_markdown(results)),
    }
