"""Top-K lists for every customer, and their publication to the recommendation store."""

import hashlib
import time

import pandas as pd
from dagster import AssetExecutionContext, Config, MetadataValue, Output, asset
from pydantic import Field

from ..core.data.schema import TEXT_DTYPE
from ..core.lifecycle.model_registration import register_candidate
from ..core.lifecycle.order_history import sample_history
from ..core.modeling.artifact import ModelArtifact
from ..core.modeling.explain import ExplainSettings, explain_lists
from ..core.modeling.fold_in import ListSettings
from ..core.modeling.training import as_popularity, inactive_item_indices
from ..core.rules.rule_data import RuleTables
from ..core.rules.rule_lists import mark_campaign_items, removals_markdown, rule_filtered_lists
from ..core.rules.rule_set import compile_rules
from ..resources.models import ModelRegistryResource
from ..resources.source import SourceDatabaseResource
from ..resources.stores import StoreResource
from ..settings import git_commit
from ..tags import TARGET_TAG
from .shop_lists import DEFAULT_BUY_AGAIN_RANKING


class RecommendationsConfig(Config):
    k: int = Field(10, description="Products per customer.")
    exclude_purchased: bool = Field(True, description="Leave out products the customer already bought.")
    explain: bool = Field(True, description="Explain every item: the bought products behind it, or why popular.")
    explain_top: int = Field(3, description="Bought products named per item at most.")
    segment_top: int = Field(50, description="'Popular in your segment': among the segment's N most bought.")
    keep_models: int = Field(5, description="Model artifacts kept in the registry (the live model always).")


@asset(group_name="publishing", code_version="1")
def recommendations(
    context: AssetExecutionContext,
    config: RecommendationsConfig,
    als_model: ModelArtifact,
    model_metrics: dict,
    customers: pd.DataFrame,
    products: pd.DataFrame,
    business_rules: RuleTables,
    models: ModelRegistryResource,
    store: StoreResource,
    source: SourceDatabaseResource,
) -> Output[pd.DataFrame]:
    """Top-K active products per customer of the master data from the selected model; customers the model never
    saw get popularity. When the model showed no lead over popularity beyond noise on the hold-out
    (`model_metrics`), the popularity lists are published instead (`source` = ``popularity``): popularity is a
    valid model, and a shop is never left without lists. Each item carries its explanation (`reason`, and
    `because`: the bought products behind it, see core/modeling/explain.py). The model is registered for the model
    gate (`models`): once published, later candidates are scored against it, as long as the source still holds the
    order history it learned from (a sample of its order lines is registered with it, read from `source`; see
    core/lifecycle/order_history.py)."""
    model = als_model.serving
    popularity_instead = bool(model_metrics.get("publish_popularity")) and model.config.model != "popularity"
    if popularity_instead:
        context.log.warning(f"recommendations: publishing popularity lists: {model_metrics['verdict']}")
        model = as_popularity(model)
    started = time.perf_counter()
    rules = compile_rules(business_rules, products, pd.Timestamp.now(tz="UTC").date())
    ruled = rule_filtered_lists(
        model, customers, products, config.k, config.exclude_purchased, inactive_item_indices(model, products),
        rules, business_rules.settings.candidates_per_slot,
    )  # fmt: skip
    lists, rules_seconds = ruled.lists, time.perf_counter() - started
    started = time.perf_counter()
    if config.explain:
        lists = explain_lists(model, lists, customers, ExplainSettings(config.explain_top, config.segment_top))
    else:
        lists["reason"], lists["because"] = None, pd.array(["[]"] * len(lists), dtype=TEXT_DTYPE)
    lists = mark_campaign_items(lists, ruled.pinned)
    explain_seconds = time.perf_counter() - started
    lists["model_version"] = pd.array([als_model.version] * len(lists), dtype=TEXT_DTYPE)
    per_customer = lists.groupby("customer_id").size()
    cold = lists.loc[lists["source"] == "popularity_fallback", "customer_id"].nunique()
    preview = lists.head(3 * config.k).to_markdown(index=False) if len(lists) else "(empty)"
    context.log.info(f"recommendations: {len(per_customer)} customers, {cold} cold starts")
    # here rather than in the gate: a check only judges; the registry then holds every model that went to the gate
    history = sample_history(source.database().read_orders, als_model.serving.trained_until)
    registry = models.registry()
    registration = register_candidate(
        registry, als_model, store.store(), config.keep_models, history, metrics=model_metrics,
        tags={"git_commit": git_commit(), "dagster_run_id": context.run_id},
    )  # fmt: skip
    settings = list_settings(config, model_metrics, popularity_instead, als_model.serving.trained_until)
    registry.save_list_settings(als_model.version, settings)
    if registration.pruned:
        context.log.info(f"recommendations: model registry pruned {registration.pruned}")
    return Output(
        lists,
        metadata={
            "rows": len(lists),
            "customers": len(per_customer),
            "cold_start_customers": int(cold),
            "short_lists": int((per_customer < config.k).sum()),
            "distinct_products": int(lists["product_id"].nunique()),
            "model_version": als_model.version,
            "model": model.config.label,
            "published_popularity": MetadataValue.bool(model.config.model == "popularity"),
            "lists": published_family(lists),  # what the model gate judges, without loading the lists
            "why": model_metrics.get("verdict", ""),
            "registered_model": registration.version,
            "registered_order_lines": len(history.lines),  # sampled for the gate's order-history check
            "registry_pruned": MetadataValue.json(registration.pruned),
            "explain_seconds": round(explain_seconds, 3),
            "rules_applied": MetadataValue.json(sorted(rules.applied)),
            **{f"rule_removed_{rule}": n for rule, n in ruled.removed_by_rule().items()},
            "rule_removals": MetadataValue.md(removals_markdown(ruled)),
            "rules_seconds": round(rules_seconds, 3),
            **{f"reason_{r}": int(n) for r, n in lists["reason"].value_counts().items()},
            "preview": MetadataValue.md(preview),
        },
    )


def list_settings(
    config: RecommendationsConfig, model_metrics: dict, popularity_instead: bool, trained_until
) -> ListSettings:
    """How these lists are built, for the fold-ins between nightly runs (core/modeling/fold_in.py)."""
    buy_again = model_metrics.get("buy_again") or {}
    return ListSettings(
        k=config.k,
        exclude_purchased=config.exclude_purchased,
        explain=config.explain,
        explain_top=config.explain_top,
        segment_top=config.segment_top,
        buy_again_ranking=buy_again.get("choice") or DEFAULT_BUY_AGAIN_RANKING,
        buy_again_settings=dict(buy_again.get("settings") or {}),
        published_popularity=popularity_instead,
        trained_until=pd.Timestamp(trained_until).isoformat(),
    )


def publish_version(model_version: str, lists: pd.DataFrame, *side_lists: pd.DataFrame) -> str:
    """The store version of a set of lists: the model version plus a hash of the lists, the side lists (buy again,
    related) included (re-publish is a no-op; a change of any list is a new version)."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(lists, index=False).to_numpy().tobytes())
    for frame in side_lists:
        if len(frame):
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return f"{model_version}-{digest.hexdigest()[:8]}"


def published_family(lists: pd.DataFrame) -> str:
    """Which lists a set of recommendations holds: ``popularity`` when every customer gets popularity's list,
    else the model's name (from the `source` column)."""
    sources = {str(source) for source in lists["source"].dropna().unique()} - {"popularity_fallback"}
    return "popularity" if sources <= {"popularity"} else ",".join(sorted(sources))


class PublishConfig(Config):
    keep_versions: int = Field(3, description="Versions kept in the store (the live one included).")


@asset(group_name="publishing", code_version="1")
def published_recommendations(
    context: AssetExecutionContext,
    config: PublishConfig,
    recommendations: pd.DataFrame,
    buy_again_lists: pd.DataFrame,
    related_lists: pd.DataFrame,
    store: StoreResource,
) -> Output[dict]:
    """Make the new lists live in the store atomically — "for you", buy again and related products in one version:
    readers see the old set or the new one, never a mix."""
    target = store.store()
    model_ver = str(recommendations["model_version"].iloc[0]) if len(recommendations) else "empty"
    published_model = published_family(recommendations)
    side_lists = pd.concat([buy_again_lists, related_lists], ignore_index=True)
    version = publish_version(model_ver, recommendations, side_lists)
    chosen = {
        "buy_again_ranking": str(buy_again_lists["source"].iloc[0]) if len(buy_again_lists) else "none",
        "related_kinds": sorted(related_lists["list"].unique().tolist()) if len(related_lists) else [],
    }
    previous = target.live_version()
    context.log.info(f"published_recommendations: publishing {version} to {target.describe()} (was {previous})")
    context.instance.add_run_tags(context.run_id, {TARGET_TAG: store.target()})
    report = target.publish(
        version,
        recommendations,
        {
            "model_version": model_ver,
            "published_model": published_model,
            "run_id": context.run_id,
            "target": store.target(),
            **chosen,
        },
        keep_versions=config.keep_versions,
        side_lists=side_lists,
    )
    if report is not None:  # stores that report on their publish (Cosmos DB)
        context.log.info(f"published_recommendations: {report}")
        if getattr(report, "cleanup_error", None):
            context.log.warning(f"published_recommendations: {version} is live, but {report.cleanup_error}")
    kept = [info.version for info in target.versions()]
    return Output(
        {"version": version, "previous": previous, "store": target.describe(), "target": store.target()},
        metadata={
            "version": version,
            "previous_version": previous or "none",
            "model_version": model_ver,
            "published_model": published_model,
            "store": target.describe(),
            "target": store.target(),
            "customers": int(recommendations["customer_id"].nunique()),
            "buy_again_customers": int(buy_again_lists["key"].nunique()) if len(buy_again_lists) else 0,
            **{
                f"{kind}_products": int(related_lists.loc[related_lists["list"] == kind, "key"].nunique())
                for kind in chosen["related_kinds"]
            },
            "buy_again_ranking": chosen["buy_again_ranking"],
            "versions_kept": MetadataValue.json(kept),
        },
    )
