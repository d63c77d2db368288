"""The rule tables compiled into lookups (sets and dicts) for `apply_rules`: built once per run or per refresh of the
serving API, so applying the rules to one list costs a few set lookups per product."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from .rule_data import RuleTables


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    products: tuple[str, ...]  # in the table's order: the first ones take the slots
    segment: str | None  # None: every customer
    share: float  # of the K slots, at most


@dataclass(frozen=True)
class Allowed:
    """A contract assortment: the categories and the products allowed."""

    categories: frozenset[str] = frozenset()
    products: frozenset[str] = frozenset()

    def __or__(self, other: Allowed) -> Allowed:
        return Allowed(self.categories | other.categories, self.products | other.products)


@dataclass(frozen=True)
class RuleSet:
    """What `apply_rules` needs, as lookups. `applied` are the rules applied unless a caller names others."""

    applied: frozenset[str] = frozenset()
    out_of_stock: frozenset[str] = frozenset()
    allowed_by_customer: dict[str, Allowed] = field(default_factory=dict)
    allowed_by_segment: dict[str, Allowed] = field(default_factory=dict)
    blocked_by_customer: dict[str, dict[str, str]] = field(default_factory=dict)  # customer -> product -> reason
    blocked_by_segment: dict[str, dict[str, str]] = field(default_factory=dict)
    campaigns: tuple[Campaign, ...] = ()
    category_of: dict[str, str] = field(default_factory=dict)
    inactive: frozenset[str] = frozenset()
    max_per_category: int | None = None
    as_of: dt.date | None = None

    def campaigns_for(self, segment: str | None) -> list[Campaign]:
        return [c for c in self.campaigns if c.segment is None or c.segment == segment]

    def allowed_for(self, customer_id: str, segment: str | None) -> Allowed | None:
        """The customer's assortment (their own rows and their segment's together); None: no contract."""
        own, shared = self.allowed_by_customer.get(customer_id), self.allowed_by_segment.get(segment or "")
        if own is None:
            return shared
        return own if shared is None else own | shared


def compile_rules(tables: RuleTables, products: pd.DataFrame, as_of: dt.date) -> RuleSet:
    """Lookups of `tables` for the product catalogue `products` (categories, active) on day `as_of` (campaigns run
    from start_date to end_date inclusive)."""
    category_of = dict(zip(products["product_id"].astype(str), products["category"].astype(str), strict=True))
    inactive = frozenset(products.loc[~products["active"].astype(bool), "product_id"].astype(str))
    stock = tables.stock
    out_of_stock = frozenset() if stock is None else frozenset(stock.loc[stock["available"] <= 0, "product_id"])
    return RuleSet(
        applied=frozenset(tables.applied()),
        out_of_stock=out_of_stock,
        allowed_by_customer=_assortments(tables.assortments, "customer_id"),
        allowed_by_segment=_assortments(tables.assortments, "segment"),
        blocked_by_customer=_blocks(tables.blocked_products, "customer_id"),
        blocked_by_segment=_blocks(tables.blocked_products, "segment"),
        campaigns=_campaigns(tables.campaigns, as_of),
        category_of=category_of,
        inactive=inactive,
        max_per_category=tables.settings.max_per_category,
        as_of=as_of,
    )


def _assortments(frame: pd.DataFrame | None, key: str) -> dict[str, Allowed]:
    if frame is None or frame.empty:
        return {}
    rows = frame[frame[key].notna()]
    found: dict[str, Allowed] = {}
    for owner, group in rows.groupby(key, sort=False):
        found[str(owner)] = Allowed(
            frozenset(group["category"].dropna().astype(str)), frozenset(group["product_id"].dropna().astype(str))
        )
    return found


def _blocks(frame: pd.DataFrame | None, key: str) -> dict[str, dict[str, str]]:
    if frame is None or frame.empty:
        return {}
    rows = frame[frame[key].notna()]
    found: dict[str, dict[str, str]] = {}
    for owner, product, reason in zip(rows[key], rows["product_id"], rows["reason"], strict=True):
        found.setdefault(str(owner), {})[str(product)] = "" if pd.isna(reason) else str(reason)
    return found


def _campaigns(frame: pd.DataFrame | None, as_of: dt.date) -> tuple[Campaign, ...]:
    if frame is None or frame.empty:
        return ()
    day = pd.Timestamp(as_of)
    running = frame[(frame["start_date"].dt.normalize() <= day) & (frame["end_date"].dt.normalize() >= day)]
    campaigns = []
    for (campaign_id, segment), group in running.groupby(["campaign_id", "segment"], sort=False, dropna=False):
        campaigns.append(
            Campaign(
                str(campaign_id),
                tuple(group["product_id"].astype(str)),
                None if pd.isna(segment) else str(segment),
                float(group["share"].max()),
            )
        )
    return tuple(campaigns)
