"""`apply_rules` over every customer's candidates at once (the `recommendations` asset), and the popularity tail that
fills a list the rules left short."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.schema import TEXT_DTYPE
from ..modeling.training import TrainedModel
from .apply import apply_rules
from .rule_set import RuleSet

Fill = Callable[[str], Iterable[str]]  # customer id -> more products, best first, for a list the rules left short


@dataclass
class RuledLists:
    """The lists after the rules (`lists`: the input's columns, ranks 1..k), the products a rule removed
    (customer_id, product_id, rule, why) and the pinned campaign products (customer_id, product_id, campaign_id)."""

    lists: pd.DataFrame
    removed: pd.DataFrame
    pinned: pd.DataFrame

    def removed_by_rule(self) -> dict[str, int]:
        return {str(rule): int(n) for rule, n in self.removed["rule"].value_counts().items()}


def popularity_fill(model: TrainedModel, products: pd.DataFrame, exclude_purchased: bool) -> Fill:
    """The model's popularity order of active products (without what the customer bought, with
    `exclude_purchased`): what tops up a list the rules left short, as cold starts get it."""
    scores = model.popularity.item_scores
    order = np.argsort(-scores, kind="stable") if scores is not None else np.arange(len(model.items))
    inactive = set(products.loc[~products["active"].astype(bool), "product_id"].astype(str))
    ids = [p for p in model.items.ids.to_numpy()[order].astype(str) if p not in inactive]
    purchased = model.purchased.tocsr()
    item_ids = model.items.ids.to_numpy().astype(str)
    row_of = {str(customer): row for row, customer in enumerate(model.users.ids)} if exclude_purchased else {}

    def fill(customer_id: str) -> Iterator[str]:
        # a generator: nothing is looked up unless the rules leave the customer's list short
        row = row_of.get(customer_id, -1)
        bought = set(item_ids[purchased.indices[purchased.indptr[row] : purchased.indptr[row + 1]]]) if row >= 0 else ()
        yield from (p for p in ids if p not in bought)

    return fill


def apply_to_lists(
    candidates: pd.DataFrame,
    rules: RuleSet,
    segments: Mapping[str, str | None],
    k: int,
    fill: Fill | None = None,
    only: Collection[str] | None = None,
) -> RuledLists:
    """`apply_rules` on each customer's candidates (rows customer_id, rank, product_id, score, source; ranks best
    first), cut to `k` and ranked again. A product from `fill` or a campaign gets the list's lowest or highest score,
    so scores still fall with the rank."""
    active = rules.applied if only is None else frozenset(only)
    ordered = candidates.sort_values(["customer_id", "rank"], kind="stable").reset_index(drop=True)
    if not active:  # nothing to apply: the first k candidates, no per-customer work
        kept = ordered[ordered["rank"] <= k].reset_index(drop=True)
        return RuledLists(kept, _removed_frame([]), _pinned_frame([]))
    customers = ordered["customer_id"].astype(str).to_numpy()
    products = ordered["product_id"].astype(str).tolist()
    scores = ordered["score"].to_numpy(np.float64).tolist()
    sources = ordered["source"].astype(str).to_numpy()
    starts = np.flatnonzero(np.r_[True, customers[1:] != customers[:-1]]) if len(customers) else np.zeros(0, int)
    ends = np.r_[starts[1:], len(customers)]
    rows: dict[str, list] = {"customer_id": [], "rank": [], "product_id": [], "score": [], "source": []}
    removed, pinned = [], []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        customer = customers[start]
        own = products[start:end]
        ranked = itertools.chain(own, fill(customer)) if fill is not None else own
        result = apply_rules(customer, segments.get(customer), ranked, rules, k, active)
        kept = result.products
        score_of = dict(zip(own, scores[start:end], strict=True))
        top, bottom = scores[start], scores[end - 1]  # candidates come best first
        rows["customer_id"] += [customer] * len(kept)
        rows["rank"] += range(1, len(kept) + 1)
        rows["product_id"] += kept
        rows["score"] += [score_of.get(p, top if p in result.campaign_of else bottom) for p in kept]
        rows["source"] += [sources[start]] * len(kept)
        if result.removed:
            removed += [(customer, r.product_id, r.rule, r.why) for r in result.removed]
        if result.pinned:
            pinned += [(customer, p, result.campaign_of[p]) for p in result.pinned]
    lists = pd.DataFrame(
        {
            "customer_id": pd.array(rows["customer_id"], dtype=TEXT_DTYPE),
            "rank": np.asarray(rows["rank"], dtype=np.int64),
            "product_id": pd.array(rows["product_id"], dtype=TEXT_DTYPE),
            "score": np.asarray(rows["score"], dtype=np.float64),
            "source": pd.array(rows["source"], dtype=TEXT_DTYPE),
        }
    )
    return RuledLists(lists, _removed_frame(removed), _pinned_frame(pinned))


def _removed_frame(rows: list) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "product_id", "rule", "why"], dtype=object)


def _pinned_frame(rows: list) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "product_id", "campaign_id"], dtype=object)


def rule_filtered_lists(
    model: TrainedModel,
    customers: pd.DataFrame,
    products: pd.DataFrame,
    k: int,
    exclude_purchased: bool,
    filter_items: np.ndarray | None,
    rules: RuleSet,
    candidates_per_slot: int,
) -> RuledLists:
    """Every customer's top-`k` list under the rules: the model (popularity for cold starts) ranks K x
    `candidates_per_slot` products, `apply_rules` keeps the first K that pass, and the popularity order tops up a
    list the rules left short. Without rules: the model's top K, as before."""
    from ..modeling.training import recommend_for_customers

    pool = k * candidates_per_slot if rules.applied else k
    candidates = recommend_for_customers(model, customers["customer_id"], pool, exclude_purchased, filter_items)
    if not rules.applied:
        return apply_to_lists(candidates, rules, {}, k)
    segments = dict(zip(customers["customer_id"].astype(str), customers["segment"].astype(str), strict=True))
    return apply_to_lists(candidates, rules, segments, k, popularity_fill(model, products, exclude_purchased))


def removals_markdown(ruled: RuledLists, customers: int = 20) -> str:
    """The products a rule removed, for the first `customers` customers that lost any: product, rule and why."""
    removed = ruled.removed
    if removed.empty:
        return "No rule removed a product from any list."
    shown = removed[removed["customer_id"].isin(removed["customer_id"].drop_duplicates().head(customers))]
    return shown.to_markdown(index=False)


def mark_campaign_items(lists: pd.DataFrame, pinned: pd.DataFrame) -> pd.DataFrame:
    """`lists` (explained) with reason ``campaign`` and no `because` for the pinned campaign products: they are
    there because of the campaign, whatever the model says."""
    if pinned.empty:
        return lists
    keys = pd.MultiIndex.from_frame(pinned[["customer_id", "product_id"]].astype(str))
    at = pd.MultiIndex.from_arrays([lists["customer_id"].astype(str), lists["product_id"].astype(str)]).isin(keys)
    lists = lists.copy()
    if isinstance(lists["reason"].dtype, pd.CategoricalDtype) and "campaign" not in lists["reason"].cat.categories:
        lists["reason"] = lists["reason"].cat.add_categories(["campaign"])
    lists.loc[at, "reason"] = "campaign"
    lists.loc[at, "because"] = "[]"
    return lists
