"""Figures per served list: "for you", buy again, bought together and similar (pure pandas; no Dagster, no Evidently).

Inputs: serving-log entries of every list (`read_entries(..., list_name=None)`: the `list` column names the list, a
related list's line has `query_product` and no customer) and purchase lines (`features.purchase_lines`: order_id,
order_ts, customer_id, product_id, quantity, unit_price).

Definitions (docs: explanation/monitoring.md):
- servings: logged answers of the list; exposures as in `online.exposures`: per customer (for you, buy again) or
  per asked product (bought together, similar) and store version, the first serving of the day with the union of
  the items served then. The "for you" figures count the model arm only (its control arm gets popularity's list
  and is judged by the lift in `online.py`); buy again has no control list, so both arms count;
- hit (customer lists): the customer bought a served item in (first serving, + attribution_days];
- hit (related lists): an order in that window holding the asked product also holds a served item. The shop's
  product page does not log who looked, so the list is judged by what buyers of the product bought with it;
- interval: the Wilson score interval of the hit rate at the online settings' confidence (the normal approximation
  the lift uses, in the form that keeps a width at 0 or 100 % hits);
- cold share: answers flagged cold start (for you: the popularity fallback of a customer the model does not know;
  buy again: an empty list, the customer bought nothing it could hold). Related lists have none: an unknown
  product gets a 404, which is not logged, so their cold share is None, never 0;
- a list with no serving in the log read says so (`status` "no traffic for this list yet") instead of zeros.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd

from .online import OnlineSettings, attribute, exposures

LISTS = ("for_you", "buy_again", "bought_together", "similar")
CUSTOMER_LISTS = ("for_you", "buy_again")
NO_TRAFFIC = "no traffic for this list yet"


def wilson_interval(hits: int, n: int, confidence: float) -> tuple[float | None, float | None]:
    """Wilson score interval of hits / n (None, None without trials)."""
    if n <= 0:
        return None, None
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # exact bounds at 0 and n hits (the formula leaves rounding dust there)
    return (0.0 if hits == 0 else max(0.0, centre - half)), (1.0 if hits == n else min(1.0, centre + half))


def related_exposures(log: pd.DataFrame) -> pd.DataFrame:
    """One row per asked product and store version: first serving `ts`, union of served `items`, `k`."""
    frame = log.assign(customer_id=log["query_product"].astype(str), group="model", source="model")
    return exposures(frame).rename(columns={"customer_id": "query_product"})


def related_hits(exposed: pd.DataFrame, lines: pd.DataFrame, attribution_days: int) -> pd.Series:
    """Per exposure: whether an order in its window holding the asked product also holds a served product."""
    if exposed.empty or lines.empty:
        return pd.Series(False, index=exposed.index)
    orders = lines[["order_id", "order_ts", "product_id"]].astype({"order_id": str, "product_id": str})
    asked = exposed[["query_product", "ts"]].reset_index(names="exposure")
    with_asked = asked.merge(orders, left_on="query_product", right_on="product_id")
    window = pd.Timedelta(days=attribution_days)
    inside = (with_asked["order_ts"] > with_asked["ts"]) & (with_asked["order_ts"] <= with_asked["ts"] + window)
    baskets = with_asked.loc[inside, ["exposure", "order_id"]].drop_duplicates()
    served = exposed["items"].explode().dropna().astype(str).rename("product_id").rename_axis("exposure").reset_index()
    in_baskets = baskets.merge(orders[["order_id", "product_id"]], on="order_id")
    bought = in_baskets.merge(served, on=["exposure", "product_id"])
    return pd.Series(exposed.index.isin(bought["exposure"].unique()), index=exposed.index)


def list_figures(name: str, log: pd.DataFrame, lines: pd.DataFrame, settings: OnlineSettings) -> dict:
    """The figures of one list from its serving-log entries (see module doc)."""
    if name not in LISTS:
        raise ValueError(f"unknown list {name!r}; the lists are {list(LISTS)}")
    if name == "for_you":
        log = log[log["group"].astype(str) == "model"]
    if log.empty:
        return {"list": name, "status": NO_TRAFFIC, "servings": 0}
    if name in CUSTOMER_LISTS:
        customers = set(log["customer_id"].astype(str))
        attributed = attribute(exposures(log), lines[lines["customer_id"].astype(str).isin(customers)],
                               settings.attribution_days)  # fmt: skip
        hit = attributed["hit"]
        k = attributed["k"]
        cold = float(log["cold_start"].astype(bool).mean())
    else:
        exposed = related_exposures(log)
        hit = related_hits(exposed, lines, settings.attribution_days)
        k = exposed["k"]
        cold = None  # an unknown product's 404 is not logged
    hits, n = int(hit.sum()), int(len(hit))
    low, high = wilson_interval(hits, n, settings.confidence)
    empty = log["items"].map(lambda items: len(items) == 0)
    return {
        "list": name,
        "status": "served",
        "servings": int(len(log)),
        "exposures": n,
        "hits": hits,
        "hit_rate": hits / n if n else None,
        "hit_rate_low": low,
        "hit_rate_high": high,
        "confidence": settings.confidence,
        "mean_k": float(np.mean(k)) if n else None,
        "empty_share": float(empty.mean()),
        "cold_share": cold,
    }


def all_list_figures(log: pd.DataFrame, lines: pd.DataFrame, settings: OnlineSettings) -> dict[str, dict]:
    """{list name: its figures} for every list, in LISTS order; `log` holds the entries of every list."""
    names = log["list"].fillna("for_you").astype(str) if len(log) else pd.Series(dtype=str)
    return {name: list_figures(name, log[names == name], lines, settings) for name in LISTS}


ONLINE_NUMBERS = ("servings", "exposures", "hit_rate", "hit_rate_low", "hit_rate_high", "empty_share", "cold_share")
SKEW_NUMBERS = ("servings", "cold_share", "inactive_item_share", "unknown_query_share")


def list_numbers(figures: dict[str, dict], keys: tuple[str, ...] = ONLINE_NUMBERS) -> dict[str, float]:
    """Flat numeric entries `list_<name>_<figure>` (metadata the UI plots, Evidently workspace figures); a list
    without traffic contributes only its servings (0), so no hit rate of 0 is plotted for it."""
    numbers: dict[str, float] = {}
    for name, entry in figures.items():
        for key in keys:
            value = entry.get(key)
            if value is not None:
                numbers[f"list_{name}_{key}"] = float(round(value, 6))
    return numbers


def lists_markdown(figures: dict[str, dict]) -> str:
    """A table of the lists' figures (one row per list; a list without traffic says so)."""

    def pct(value) -> str:
        return "–" if value is None else f"{value:.2%}"

    rows = [
        "| list | servings | exposures | hit rate | interval | empty answers | cold starts |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in figures.items():
        if entry["status"] == NO_TRAFFIC:
            rows.append(f"| {name} | 0 | {NO_TRAFFIC} | | | | |")
            continue
        rows.append(
            f"| {name} | {entry['servings']} | {entry['exposures']} | {pct(entry['hit_rate'])} | "
            f"{pct(entry['hit_rate_low'])} – {pct(entry['hit_rate_high'])} | {pct(entry['empty_share'])} | "
            f"{'not logged (404)' if entry['cold_share'] is None else pct(entry['cold_share'])} |"
        )
    return "\n".join(rows)


def list_skew(log: pd.DataFrame, products: pd.DataFrame, known_products: pd.Index) -> dict[str, dict]:
    """Per list, what the skew monitor adds for it: servings, the share of answers flagged cold start (customer
    lists), the share of served items inactive or not in the catalogue, and for the related lists the share of
    asked products the training data never saw (their lists come from popularity, not from baskets or factors)."""
    active = products.set_index(products["product_id"].astype(str))["active"].astype(bool)
    known = pd.Index(known_products).astype(str)
    names = log["list"].fillna("for_you").astype(str) if len(log) else pd.Series(dtype=str)
    result: dict[str, dict] = {}
    for name in LISTS:
        part = log[names == name]
        if part.empty:
            result[name] = {"list": name, "status": NO_TRAFFIC, "servings": 0}
            continue
        items = part["items"].explode().dropna().astype(str)
        inactive = (~items.map(active).fillna(False).astype(bool)).mean() if len(items) else None
        entry = {
            "list": name,
            "status": "served",
            "servings": int(len(part)),
            "inactive_item_share": None if inactive is None else float(inactive),
            "cold_share": float(part["cold_start"].astype(bool).mean()) if name in CUSTOMER_LISTS else None,
            "unknown_query_share": None,
        }
        if name not in CUSTOMER_LISTS:
            entry["unknown_query_share"] = float((~part["query_product"].astype(str).isin(known)).mean())
        result[name] = entry
    return result
