"""The buy-again and related-products lists published next to the "for you" lists (core/modeling/shop_lists.py)."""

import time

import pandas as pd
from dagster import AssetExecutionContext, Config, MetadataValue, Output, asset
from pydantic import Field

from ..core.modeling.artifact import ModelArtifact
from ..core.modeling.bought_together import RelatedSettings, als_item_factors
from ..core.modeling.buy_again import RANKINGS, BuyAgainSettings
from ..core.modeling.shop_lists import buy_again_lists as rank_buy_again_lists
from ..core.modeling.shop_lists import related_lists as rank_related_lists
from ..core.rules.rule_data import RuleTables
from ..core.rules.rule_set import compile_rules
from ..core.rules.side_lists import rule_side_lists

# candidates ranked per list before the rules take some out (stock-outs and blocks are a few %)
CANDIDATES_PER_SLOT = 2

# model_metrics without a buy-again choice (an older materialization): the personal baseline
DEFAULT_BUY_AGAIN_RANKING = "top_frequency"


class ShopListsConfig(Config):
    k: int = Field(10, description="Products per buy-again list (per customer) and per related list (per product).")


def _preview(lists: pd.DataFrame, rows: int) -> MetadataValue:
    return MetadataValue.md(lists.head(rows).to_markdown(index=False) if len(lists) else "(empty)")


def _with_rules(lists: pd.DataFrame, business_rules: RuleTables, products, customers, k: int) -> tuple:
    """The lists with the business rules of today applied (core/rules/side_lists.py; `customers` gives the
    buy-again lists' segments), cut to `k`, and their metadata."""
    rules = compile_rules(business_rules, products, pd.Timestamp.now(tz="UTC").date())
    has_segments = customers is not None and "segment" in customers
    segment_of = dict(zip(customers["customer_id"], customers["segment"], strict=True)) if has_segments else {}
    ruled, removed = rule_side_lists(lists, rules, segment_of, k)
    return ruled, {
        "rules_applied": MetadataValue.json(sorted(rules.applied)),
        **{f"rule_removed_{rule}": int(n) for rule, n in sorted(removed.items())},
    }


def _active(products: pd.DataFrame) -> pd.Series:
    if "active" not in products:
        return products["product_id"]
    return products.loc[products["active"].astype(bool), "product_id"]


@asset(group_name="publishing", code_version="1")
def buy_again_lists(
    context: AssetExecutionContext,
    config: ShopListsConfig,
    model_metrics: dict,
    interactions: pd.DataFrame,
    products: pd.DataFrame,
    customers: pd.DataFrame,
    business_rules: RuleTables,
) -> Output[pd.DataFrame]:
    """Per customer, the active products they bought before, ranked by the buy-again ranking model_metrics chose
    (buy_again, top_frequency or popular_bought, with its settings), from all interactions; each item explained
    ("you buy this every ~4 weeks; last bought 5 weeks ago"); without what the business rules remove for the
    customer (out of stock, outside their contract, blocked). Published with the "for you" lists."""
    evaluation = model_metrics.get("buy_again") or {}
    ranking = evaluation.get("choice") or DEFAULT_BUY_AGAIN_RANKING
    if ranking not in RANKINGS:
        raise ValueError(f"buy_again_lists: model_metrics chose {ranking!r}, not one of {list(RANKINGS)}")
    settings = BuyAgainSettings(**evaluation.get("settings", {}))
    started = time.perf_counter()
    lists = rank_buy_again_lists(interactions, _active(products), ranking, CANDIDATES_PER_SLOT * config.k, settings)
    lists, rule_metadata = _with_rules(lists, business_rules, products, customers, config.k)
    seconds = time.perf_counter() - started
    per_customer = lists.groupby("key").size()
    context.log.info(f"buy_again_lists: {len(per_customer)} customers ranked by {ranking} in {seconds:.2f}s")
    return Output(
        lists,
        metadata={
            "ranking": ranking,
            "why": evaluation.get("reason", "model_metrics holds no buy-again choice: the personal baseline"),
            "rows": len(lists),
            "customers": len(per_customer),
            "short_lists": int((per_customer < config.k).sum()),
            "seconds": round(seconds, 3),
            **rule_metadata,
            **{f"reason_{r}": int(n) for r, n in lists["reason"].value_counts().items()},
            "preview": _preview(lists, 2 * config.k),
        },
    )


@asset(group_name="publishing", code_version="1")
def related_lists(
    context: AssetExecutionContext,
    config: ShopListsConfig,
    als_model: ModelArtifact,
    model_metrics: dict,
    interactions: pd.DataFrame,
    products: pd.DataFrame,
    business_rules: RuleTables,
) -> Output[pd.DataFrame]:
    """Per active product bought in the interactions, its bought-together list (co-orders weighted by shrunk lift,
    as model_metrics evaluates it) and, when the serving model is an ALS, its similar list (item factors); short
    lists completed with popular products; products out of stock left out (business rules); each item explained
    ("bought together with X in 38 % of the orders with X"). Published with the "for you" lists; model_metrics'
    choice among the rankings is in the metadata (the API's default kind)."""
    evaluation = model_metrics.get("related") or {}
    prior = float(evaluation.get("prior_orders", RelatedSettings.prior_orders))
    factors = als_item_factors(als_model.serving)
    started = time.perf_counter()
    lists = rank_related_lists(interactions, products, CANDIDATES_PER_SLOT * config.k, prior, factors)
    lists, rule_metadata = _with_rules(lists, business_rules, products, None, config.k)
    seconds = time.perf_counter() - started
    products_per_kind = lists.groupby("list")["key"].nunique()
    context.log.info(
        f"related_lists: {dict(products_per_kind)} products per kind in {seconds:.2f}s"
        + ("" if factors is not None else f" (no similar lists: {als_model.serving.config.label} has no item factors)")
    )
    return Output(
        lists,
        metadata={
            "choice": str(evaluation.get("choice", "none")),
            "why": str(evaluation.get("reason", "model_metrics holds no related-products evaluation")),
            "kinds": MetadataValue.json(sorted(products_per_kind.index.tolist())),
            **{f"{kind}_products": int(n) for kind, n in products_per_kind.items()},
            "rows": len(lists),
            "prior_orders": prior,
            "seconds": round(seconds, 3),
            **rule_metadata,
            **{f"source_{s}": int(n) for s, n in lists["source"].value_counts().items()},
            "preview": _preview(lists, 2 * config.k),
        },
    )
