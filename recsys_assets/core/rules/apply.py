"""The one function that applies the business rules to a customer's ranked candidates. The `recommendations` asset
calls it on each customer's K x candidates_per_slot candidates at publish time, the serving API on the published
list with the rule data of the moment, and `model_metrics` on the hold-out lists to measure what each rule costs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from .rule_set import RuleSet


@dataclass(frozen=True)
class Removal:
    product_id: str
    rule: str  # stock, assortment, blocked, category_cap, campaign
    why: str


@dataclass
class RuledList:
    """A list after the rules: `products` in their order (pinned campaign products first), and the candidates a
    rule removed above the last product kept, each with the rule and why."""

    products: list[str] = field(default_factory=list)
    pinned: list[str] = field(default_factory=list)  # the campaign products among `products`, with their campaign
    campaign_of: dict[str, str] = field(default_factory=dict)
    removed: list[Removal] = field(default_factory=list)


def apply_rules(
    customer_id: str,
    segment: str | None,
    ranked: Iterable[str],
    rules: RuleSet,
    k: int,
    only: Collection[str] | None = None,
) -> RuledList:
    """The first `k` products of `ranked` (best first) that pass the rules, after the campaign products pinned in
    the first slots; `ranked` is consumed only as far as needed (it may be an endless iterator).

    Rules (`only` names the ones to apply; default: `rules.applied`), each product judged in this order:
    - stock: a product with available <= 0 is removed;
    - assortment: a customer with a contract (their own rows or their segment's) gets only its categories and
      products;
    - blocked: a product blocked for the customer or their segment is removed;
    - category_cap: at most `max_per_category` products of one category (pinned products count, and are kept);
      when nothing else is left to fill the list, the capped products fill it after the others, in their order;
    - campaign: each campaign running for the customer's segment pins its products (that pass the rules above) in
      the first slots, at most round(share x k) per campaign, in the table's order.
    Applying the rules to a list they produced gives the same list again (publish and serve agree). A list stays
    short only when `ranked` runs out: fewer than `k` products pass stock, assortment and blocks.
    """
    active = rules.applied if only is None else frozenset(only)
    result = RuledList()
    if k <= 0:
        return result
    kept, removed = result.products, result.removed
    seen: set[str] = set()
    per_category: Counter[str] = Counter()
    category_of = rules.category_of
    allowed = rules.allowed_for(customer_id, segment) if "assortment" in active else None
    blocked: dict[str, str] = {}
    if "blocked" in active:
        blocked = {**rules.blocked_by_segment.get(segment or "", {}), **rules.blocked_by_customer.get(customer_id, {})}
    out_of_stock = rules.out_of_stock if "stock" in active else frozenset()
    cap = rules.max_per_category if "category_cap" in active else None
    # the per-product work below runs for millions of candidates at publish time: only what a rule needs
    judged = bool(out_of_stock) or allowed is not None or bool(blocked)

    def refusal(product: str) -> Removal | None:
        if product in out_of_stock:
            return Removal(product, "stock", "out of stock")
        outside = allowed is not None and product not in allowed.products
        if outside and category_of.get(product) not in allowed.categories:
            return Removal(product, "assortment", "outside the contract assortment")
        if product in blocked:
            return Removal(product, "blocked", f"blocked{': ' + blocked[product] if blocked[product] else ''}")
        return None

    if "campaign" in active:
        for campaign in rules.campaigns_for(segment):
            slots = int(campaign.share * k + 0.5)
            taken = 0
            for product in campaign.products:
                if taken >= slots or len(kept) >= k:
                    break
                if product in seen or product in rules.inactive:
                    continue
                seen.add(product)
                refused = refusal(product)
                if refused is not None:
                    removed.append(refused)
                    continue
                kept.append(product)
                per_category[category_of.get(product)] += 1
                result.pinned.append(product)
                result.campaign_of[product] = campaign.campaign_id
                taken += 1
    capped: list[Removal] = []  # passed every other rule: they fill a list nothing else can fill
    for product in ranked:
        if len(kept) >= k:
            break
        if product in seen:
            continue
        seen.add(product)
        refused = refusal(product) if judged else None
        if refused is None and cap is not None:
            category = category_of.get(product)
            if category is not None and per_category[category] >= cap:
                refused = Removal(product, "category_cap", f"already {cap} products of {category}")
                capped.append(refused)
            else:
                per_category[category] += 1
        if refused is not None:
            removed.append(refused)
            continue
        kept.append(product)
    if len(kept) < k and capped:  # the cap yields rather than leave the list short
        readmitted = {removal.product_id for removal in capped[: k - len(kept)]}
        kept += [removal.product_id for removal in capped if removal.product_id in readmitted]
        result.removed = [r for r in removed if not (r.rule == "category_cap" and r.product_id in readmitted)]
    return result
