"""The business rules on the buy-again and related lists, at publish time (the side-list assets) and at serve time
(the API), with `apply_rules` like the "for you" lists.

Which rules a list takes: a product out of stock is never shown; a buy-again list is the customer's own, so their
contract assortment and blocks apply too; campaigns and the category cap shape the "for you" list only (a buy-again
list repeats what the customer buys, a campaign pinned into it would be a product they never bought). A related
list belongs to a product, not a customer: only stock applies to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import pandas as pd

from .apply import apply_rules
from .rule_set import RuleSet

SIDE_LIST_RULES = {
    "buy_again": frozenset({"stock", "assortment", "blocked"}),
    "bought_together": frozenset({"stock"}),
    "similar": frozenset({"stock"}),
}


def rules_for_list(list_name: str, rules: RuleSet) -> frozenset[str]:
    """The rules of `rules` that apply to the list `list_name` (none for a list this module does not know)."""
    return SIDE_LIST_RULES.get(list_name, frozenset()) & rules.applied


def rule_side_lists(
    lists: pd.DataFrame, rules: RuleSet, segment_of: Mapping[str, str | None], k: int
) -> tuple[pd.DataFrame, Counter]:
    """`lists` (the store's side-list frame: `list`, `key`, `product_id`, `rank`, ...; ranked candidates, possibly
    more than `k` per list) without the products their rules remove, re-ranked from 1 and cut to `k`; and how many
    candidates each rule removed. `segment_of` maps a customer to their segment (buy-again lists)."""
    removed: Counter = Counter()
    if lists.empty:
        return lists, removed
    keep = pd.Series(True, index=lists.index)
    if "stock" in rules.applied and rules.out_of_stock:
        stocked = [name for name, applied in SIDE_LIST_RULES.items() if "stock" in applied]
        out = lists["product_id"].isin(rules.out_of_stock) & lists["list"].isin(stocked)
        removed["stock"] += int(out.sum())
        keep &= ~out
    personal = {"assortment", "blocked"} & rules.applied
    if personal:
        buy_again = lists[keep & (lists["list"] == "buy_again")]
        for customer, group in buy_again.groupby("key", sort=False):
            segment = segment_of.get(customer)
            ruled = apply_rules(customer, segment, group["product_id"], rules, len(group), only=personal)
            if ruled.removed:
                refused = {removal.product_id for removal in ruled.removed}
                removed.update(removal.rule for removal in ruled.removed)
                keep.loc[group.index[group["product_id"].isin(refused)]] = False
    kept = lists[keep].sort_values(["list", "key", "rank"], kind="stable")
    kept["rank"] = kept.groupby(["list", "key"], sort=False).cumcount() + 1
    return kept[kept["rank"] <= k].reset_index(drop=True), removed
