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

# model_metrics without a buy-again choice (an older materialization): the personal baseline
DEFAULT_BUY_AGAIN_RANKING = "top_frequency"


class ShopListsConfig(Config):
    k: int = Field(10, description="Products per buy-again list (per customer) and per related list (per product).")


def _preview(lists: pd.DataFrame, rows: int) -> MetadataValue:
    return MetadataValue.md(lists.head(rows).to_markdown(index=False) if len(lists) else "(empty)")


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
) -> Output[pd.DataFrame]:
    """Per customer, the active products they bought before, ranked by the buy-again ranking model_metrics chose
    (buy_again, top_frequency or popular_bought, with its settings), from all interactions; each item explained
    ("you buy this every ~4 weeks; last bought 5 weeks ago"). Published with the "for you" lists."""
    evaluation = model_metrics.get("buy_again") or {}
    ranking = evaluation.get("choice") or DEFAULT_BUY_AGAIN_RANKING
    if ranking not in RANKINGS:
        raise ValueError(f"buy_again_lists: model_metrics chose {ranking!r}, not one of {list(RANKINGS)}")
    settings = BuyAgainSettings(**evaluation.get("settings", {}))
    started = time.perf_counter()
    lists = rank_buy_again_lists(interactions, _active(products), ranking, config.k, settings)
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
) -> Output[pd.DataFrame]:
    """Per active product bought in the interactions, its bought-together list (co-orders weighted by shrunk lift,
    as model_metrics evaluates it) and, when the serving model is an ALS, its similar list (item factors); short
    lists completed with popular products; each item explained ("bought together with X in 38 % of the orders
    with X"). Published with the "for you" lists; model_metrics' choice among the rankings is in the metadata (the
    API's default kind)."""
    evaluation = model_metrics.get("related") or {}
    prior = float(evaluation.get("prior_orders", RelatedSettings.prior_orders))
    factors = als_item_factors(als_model.serving)
    started = time.perf_counter()
    lists = rank_related_lists(interactions, products, config.k, prior, factors)
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
            **{f"source_{s}": int(n) for s, n in lists["source"].value_counts().items()},
            "preview": _preview(lists, 2 * config.k),
        },
    )
