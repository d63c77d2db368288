"""Buy again: rank the products a customer bought before by when they are due, and score that on repeat purchases.

Three rankings of the same candidates (every product the customer bought in the training part), simplest first:

- ``popular_bought``: the globally most popular products first (distinct buyers in training);
- ``top_frequency``: the customer's most-bought products first (distinct orders; ties by recency), the personal
  baseline that published next-basket studies find hard to beat on repeats;
- ``buy_again``: purchase count weighted by how close the customer is to their next expected purchase, from
  each product's typical reorder interval (see `buy_again_scores`).

They are evaluated on the hold-out's *repeat* purchases: a customer is evaluable when they buy, in the hold-out, a
product they bought in training; those products are the relevant ones. The choice between the three is noise
aware, as model selection treats popularity: a more elaborate ranking replaces a simpler one only when its paired
MAP lead over the same customers is above zero with the evaluation's confidence. The chosen ranking orders the
published buy-again lists (shop_lists.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..data.split import TemporalSplit
from .figures_table import rankings_table
from .metrics import bootstrap_intervals, per_user_metrics
from .verdict import choose_simplest

# simplest first: the order in which the choice gives way to a ranking that leads beyond noise
RANKINGS = ("popular_bought", "top_frequency", "buy_again")
BUY_AGAIN_METRICS = ("map", "precision", "recall", "ndcg")
DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class BuyAgainSettings:
    """How the due-ness ranking weighs its evidence.

    Parameters
    ----------
    min_gaps : int
        Repeat gaps (days between two purchases of the product by one customer, over all customers) a product
        needs for its own median gap to be its reorder interval. Products with fewer gaps, but at least one,
        take the median gap of all repeat purchases in the data; products nobody bought twice take the length
        of the training history as interval: they are not expected back soon, so they rank low.
    prior_gaps : float
        Weight, in gaps, of the product's interval against the customer's own mean gap for that product: the
        interval used is (own gaps x own mean gap + prior_gaps x product interval) / (own gaps + prior_gaps).
        0 trusts a customer's own rhythm from their second purchase on; a large value uses the product's only.
    tolerance : float
        Width, on a log scale, of the due window: the due weight is exp(-(ln r)^2 / (2 tolerance^2)), where r is
        the days since the last purchase over the interval. r = 1 (due now) weighs 1; bought far too recently
        (r << 1) or lapsed long ago (r >> 1) weighs less. Larger values flatten the ranking towards top-frequency.
    """

    min_gaps: int = 3
    prior_gaps: float = 2.0
    tolerance: float = 1.0


@dataclass
class PurchaseHistory:
    """What the rankings need from the training interactions, on integer codes.

    `table` has one row per customer x product bought, sorted by customer then product code: customer_code,
    item_code, orders (distinct orders), days (distinct purchase days), first_day and last_day (days since
    1970-01-01), elapsed_days (from the last purchase day to `as_of`). `gap_items` and `gaps` list every repeat
    gap: the days between two consecutive purchase days of one customer x product, with the product's code.
    """

    customers: pd.Index
    products: pd.Index
    table: pd.DataFrame
    gap_items: np.ndarray
    gaps: np.ndarray
    span_days: float


def purchase_history(
    train: pd.DataFrame, as_of: pd.Timestamp | pd.Series, products: pd.Index | None = None
) -> PurchaseHistory:
    """Summarise `train` (interactions: customer_id, product_id, order_id, order_ts) per customer x product.

    `as_of` is the moment the lists are ranked for (the hold-out's cutoff), or a Series of it per customer_id
    (customers missing from it are ranked for the day after the last training order). `products` numbers the
    products as a larger history did (products it lacks follow), so ties break the same way in both.
    """
    customer_codes, customers = pd.factorize(train["customer_id"])
    if products is None:
        item_codes, products = pd.factorize(train["product_id"])
    else:
        ids = pd.Index(train["product_id"])
        products = products.append(pd.Index(ids.unique()).difference(products, sort=False))
        item_codes = products.get_indexer(ids)
    order_codes, _ = pd.factorize(train["order_id"])
    day = train["order_ts"].to_numpy().astype("datetime64[D]").astype(np.int64)
    pair = customer_codes.astype(np.int64) * max(1, len(products)) + item_codes
    order = np.lexsort((order_codes, day, pair))  # one sort: pair, then day, then order
    pair, day, order_codes = pair[order], day[order], order_codes[order]
    new_pair = np.r_[True, pair[1:] != pair[:-1]]
    new_day = new_pair | np.r_[True, day[1:] != day[:-1]]
    new_order = new_day | np.r_[True, order_codes[1:] != order_codes[:-1]]  # one order has one timestamp
    starts = np.flatnonzero(new_pair)
    ends = np.r_[starts[1:], len(pair)] - 1
    pair_of_row = np.cumsum(new_pair) - 1
    orders = np.bincount(pair_of_row[new_order], minlength=len(starts))
    days = np.bincount(pair_of_row[new_day], minlength=len(starts))
    first_day, last_day = day[starts], day[ends]
    width = max(1, len(products))
    table_customers, table_items = pair[starts] // width, pair[starts] % width
    last_known = int(day.max()) + 1 if len(day) else 0
    if isinstance(as_of, pd.Series):
        reference = pd.to_datetime(as_of.reindex(customers)).to_numpy().astype("datetime64[D]")
        reference = np.where(np.isnat(reference), last_known, reference.astype(np.int64))[table_customers]
    else:
        reference = np.int64(pd.Timestamp(as_of).to_datetime64().astype("datetime64[D]").astype(np.int64))
    distinct_days, distinct_pairs = day[new_day], pair[new_day]
    repeat = np.r_[False, distinct_pairs[1:] == distinct_pairs[:-1]]
    gaps = (distinct_days - np.r_[0, distinct_days[:-1]])[repeat].astype(np.float64)
    table = pd.DataFrame(
        {
            "customer_code": table_customers,
            "item_code": table_items,
            "orders": orders,
            "days": days,
            "first_day": first_day,
            "last_day": last_day,
            "elapsed_days": np.maximum(reference - last_day, 0).astype(np.float64),
        }
    )
    span = float(max(1, int(day.max() - day.min()) + 1)) if len(day) else 1.0
    return PurchaseHistory(pd.Index(customers), pd.Index(products), table, distinct_pairs[repeat] % width, gaps, span)


def reorder_intervals(history: PurchaseHistory, min_gaps: int = 3) -> np.ndarray:
    """Each product's typical reorder interval in days (one value per product code): the median repeat gap of
    the product over all customers when it has at least `min_gaps` gaps; the median of all repeat gaps when it
    has fewer but some; the length of the training history when nobody bought it twice (see `BuyAgainSettings`).
    """
    n = len(history.products)
    counts = np.bincount(history.gap_items, minlength=n)
    pooled = float(np.median(history.gaps)) if len(history.gaps) else history.span_days
    interval = np.where(counts > 0, pooled, history.span_days)
    order = np.lexsort((history.gaps, history.gap_items))
    sorted_gaps = history.gaps[order]
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    own = counts >= max(1, min_gaps)
    low = sorted_gaps[starts[own] + (counts[own] - 1) // 2]
    high = sorted_gaps[starts[own] + counts[own] // 2]
    interval[own] = (low + high) / 2.0
    return interval


def own_mean_gaps(table: pd.DataFrame) -> np.ndarray:
    """Each row's own mean days between purchase days of the product (0 for a product bought on one day only)."""
    own_gaps = (table["days"].to_numpy() - 1).astype(np.float64)
    own_span = (table["last_day"] - table["first_day"]).to_numpy(dtype=np.float64)
    return np.where(own_gaps > 0, own_span / np.maximum(own_gaps, 1.0), 0.0)


@dataclass(frozen=True)
class ProductRhythm:
    """What the buy-again rankings learn from every customer, per product: its reorder interval in days
    (`reorder_intervals`) and its distinct buyers. Computed once over the whole history, it lets a few customers'
    lists be ranked from their own history alone (fold-ins) exactly as the whole history ranks them."""

    products: pd.Index
    intervals: np.ndarray
    buyers: np.ndarray

    def for_products(self, history: PurchaseHistory) -> tuple[np.ndarray, np.ndarray]:
        """(intervals, buyers) per product code of `history`; a product this rhythm never saw is judged by
        `history` alone (its own span, its buyers there)."""
        at = self.products.get_indexer(history.products)
        known = at >= 0
        own = np.bincount(history.table["item_code"].to_numpy(), minlength=len(history.products)).astype(np.float64)
        intervals = np.where(known, self.intervals[np.maximum(at, 0)], history.span_days)
        return intervals, np.where(known, self.buyers[np.maximum(at, 0)], own)


def product_rhythm(history: PurchaseHistory, settings: BuyAgainSettings) -> ProductRhythm:
    """The ProductRhythm of a whole purchase history."""
    buyers = np.bincount(history.table["item_code"].to_numpy(), minlength=len(history.products)).astype(np.float64)
    return ProductRhythm(history.products, reorder_intervals(history, settings.min_gaps), buyers)


def expected_intervals(
    history: PurchaseHistory, settings: BuyAgainSettings, intervals: np.ndarray | None = None
) -> np.ndarray:
    """The reorder interval in days each row of `history.table` is judged by: the customer's own mean gap blended
    with the product's interval (`BuyAgainSettings.prior_gaps`; `intervals` per product code, default learned from
    `history`)."""
    table = history.table
    intervals = reorder_intervals(history, settings.min_gaps) if intervals is None else intervals
    interval = intervals[table["item_code"].to_numpy()]
    own_gaps = (table["days"].to_numpy() - 1).astype(np.float64)
    own_mean = own_mean_gaps(table)
    return (own_gaps * own_mean + settings.prior_gaps * interval) / np.maximum(own_gaps + settings.prior_gaps, 1e-9)


def buy_again_scores(
    history: PurchaseHistory, settings: BuyAgainSettings, intervals: np.ndarray | None = None
) -> np.ndarray:
    """The due-ness score of each row of `history.table`: orders x the due weight (see `BuyAgainSettings`).

    A product bought often and due now scores highest; one bought once, or far from its next expected purchase
    (just bought, or lapsed many intervals ago), scores low.
    """
    table = history.table
    expected = expected_intervals(history, settings, intervals)
    ratio = np.maximum(table["elapsed_days"].to_numpy(), 0.5) / np.maximum(expected, 1.0)
    due = np.exp(-(np.log(ratio) ** 2) / (2.0 * settings.tolerance**2))
    return table["orders"].to_numpy(dtype=np.float64) * due


def rank_lists(
    customer_codes: np.ndarray, item_codes: np.ndarray, keys: list[np.ndarray], n_customers: int, k: int
) -> np.ndarray:
    """(n_customers x k) item codes, -1 for empty slots: each customer's rows sorted by `keys` (descending, the
    first key most significant, the item code ascending last), the first k kept."""
    if k <= 0:
        return np.full((n_customers, 0), -1, dtype=np.int64)
    # stable sorts from the least significant key on (np.lexsort was 2-3x slower on 700 k rows): customer, then
    # each key descending, then the item code ascending
    pair = customer_codes.astype(np.int64) * (int(item_codes.max(initial=0)) + 1) + item_codes
    order = np.argsort(pair, kind="stable")
    for key in reversed(keys):
        order = order[np.argsort(-np.asarray(key, dtype=np.float64)[order], kind="stable")]
    order = order[np.argsort(customer_codes[order], kind="stable")]
    customers = customer_codes[order]
    starts = np.flatnonzero(np.r_[True, customers[1:] != customers[:-1]])
    counts = np.diff(np.r_[starts, len(customers)])
    rank = np.arange(len(customers)) - np.repeat(starts, counts)
    keep = rank < k
    lists = np.full((n_customers, k), -1, dtype=np.int64)
    lists[customers[keep], rank[keep]] = item_codes[order][keep]
    return lists


@dataclass
class BuyAgainLists:
    """The three rankings of every training customer's bought products, as item codes (see `rank_lists`)."""

    customers: pd.Index  # customer_id of each row
    products: pd.Index  # product_id of each item code
    lists: dict[str, np.ndarray]  # ranking name -> (customers x k)
    table: pd.DataFrame  # PurchaseHistory.table with the buy-again score


def rank_buy_again(
    train: pd.DataFrame, as_of: pd.Timestamp | pd.Series, k: int, settings: BuyAgainSettings | None = None
) -> BuyAgainLists:
    """The buy-again ranking and its two baselines (module docstring) for every customer in `train`.

    Parameters
    ----------
    train : DataFrame
        Interactions (customer_id, product_id, order_id, order_ts): the history the lists are ranked from.
    as_of : Timestamp or Series
        When the lists are for (per customer_id as a Series): the elapsed time since each last purchase is
        measured to it, so a later `as_of` makes more products due.
    k : int
        Length of the lists; a customer who bought fewer products gets a shorter list (-1 slots).
    settings : BuyAgainSettings
        How the due-ness ranking weighs frequency, the reorder interval and recency.
    """
    settings = settings or BuyAgainSettings()
    history = purchase_history(train, as_of)
    table = history.table
    customer_codes, item_codes = table["customer_code"].to_numpy(), table["item_code"].to_numpy()
    table["score"] = buy_again_scores(history, settings)
    customers, products = history.customers, history.products
    n = len(customers)
    lists = {
        name: rank_lists(customer_codes, item_codes, keys, n, k)
        for name, keys in ranking_keys(table, len(products)).items()
    }
    return BuyAgainLists(customers, products, lists, table)


def ranking_keys(
    table: pd.DataFrame, n_products: int, product_buyers: np.ndarray | None = None
) -> dict[str, list[np.ndarray]]:
    """The sort keys of each ranking (`rank_lists`) over the rows of a scored `PurchaseHistory.table`: the first
    key is what the ranking scores by, the others break its ties. `product_buyers` per product code (default: the
    table's own distinct buyers)."""
    item_codes = table["item_code"].to_numpy()
    if product_buyers is None:
        product_buyers = np.bincount(item_codes, minlength=n_products).astype(np.float64)
    buyers = product_buyers[item_codes]
    orders = table["orders"].to_numpy(dtype=np.float64)
    last = table["last_day"].to_numpy(dtype=np.float64)
    return {
        "popular_bought": [buyers, orders, last],
        "top_frequency": [orders, last],
        "buy_again": [table["score"].to_numpy(), orders, last],
    }


def repeat_relevance(ranked: BuyAgainLists, held_out: pd.DataFrame) -> sp.csr_matrix:
    """(customers x products) binary: the products each training customer bought again in `held_out`."""
    rows = ranked.customers.get_indexer(held_out["customer_id"])
    cols = ranked.products.get_indexer(held_out["product_id"])
    known = (rows >= 0) & (cols >= 0)
    shape = (len(ranked.customers), len(ranked.products))
    bought = sp.csr_matrix(
        (np.ones(int(known.sum()), dtype=np.float64), (rows[known], cols[known])), shape=shape
    ).astype(bool)
    trained = sp.csr_matrix(
        (np.ones(len(ranked.table)), (ranked.table["customer_code"], ranked.table["item_code"])), shape=shape
    ).astype(bool)
    repeat = bought.multiply(trained).tocsr()
    repeat.eliminate_zeros()
    return repeat.astype(np.float64)


def holdout_as_of(split: TemporalSplit) -> pd.Timestamp | pd.Series:
    """When the evaluated lists are ranked for: the cutoff of a global time hold-out (a daily run's view), or, for
    the per-customer cut, the day of each customer's first held-out order (their own cutoff)."""
    if split.strategy == "per_customer_recent" and len(split.test):
        return split.test.groupby("customer_id", observed=True)["order_ts"].min().dt.normalize()
    return split.cutoff


def evaluate_buy_again(
    train: pd.DataFrame,
    held_out: pd.DataFrame,
    as_of: pd.Timestamp | pd.Series,
    k: int,
    settings: BuyAgainSettings | None = None,
    confidence: float = 0.95,
    noise_below_customers: int = 100,
    seed: int = 0,
) -> dict:
    """MAP, precision, recall and NDCG at `k` of the three rankings on the repeat purchases of `held_out`.

    Only customers with at least one repeat purchase in `held_out` are scored (the others have nothing to find).
    Returns {"rankings": {name: {metric: mean}}, "intervals": {"<name>_<metric>" and "lead_<name>_<metric>"
    (name minus top_frequency, paired): {mean, low, high}}, "evaluable_customers", "choice", "reason", "noise",
    "confidence", "k"}. `noise` is a sentence when fewer than `noise_below_customers` customers are evaluable.
    """
    ranked = rank_buy_again(train, as_of, k, settings)
    relevant = repeat_relevance(ranked, held_out)
    per_user = {name: per_user_metrics(lists, relevant, k) for name, lists in ranked.lists.items()}
    customers = len(per_user["buy_again"]["users"])
    samples = {f"{name}_{metric}": per_user[name][metric] for name in RANKINGS for metric in BUY_AGAIN_METRICS}
    for name in RANKINGS:
        if name != "top_frequency":
            for metric in BUY_AGAIN_METRICS:
                samples[f"lead_{name}_{metric}"] = per_user[name][metric] - per_user["top_frequency"][metric]
    intervals = {key: value.as_dict() for key, value in bootstrap_intervals(samples, confidence, seed=seed).items()}
    choice, reason = choose_ranking({name: per_user[name]["map"] for name in RANKINGS}, k, confidence, seed)
    noise = ""
    if customers < noise_below_customers:
        noise = (
            f"only {customers} customers bought a product again in the hold-out (fewer than "
            f"{noise_below_customers}): the buy-again figures are noise, not evidence"
        )
    return {
        "k": k,
        "rankings": {
            name: {metric: float(per_user[name][metric].mean()) if customers else 0.0 for metric in BUY_AGAIN_METRICS}
            for name in RANKINGS
        },
        "intervals": intervals,
        "evaluable_customers": customers,
        "repeat_purchases": int(relevant.nnz),
        "choice": choice,
        "reason": reason,
        "noise": noise,
        "confidence": confidence,
    }


def choose_ranking(per_user_map: dict[str, np.ndarray], k: int, confidence: float, seed: int = 0) -> tuple[str, str]:
    """The ranking to use and why: the simplest (`RANKINGS` order) unless a more elaborate one leads it beyond
    noise (`verdict.choose_simplest`, over the same customers)."""
    return choose_simplest(per_user_map, RANKINGS, k, confidence, seed, unit="customers")


def buy_again_markdown(results: dict) -> str:
    """The three rankings' figures with their intervals, the paired leads over top-frequency and the choice."""
    level = f"{results['confidence']:.0%}"
    figures = {name: results["rankings"][name] for name in RANKINGS}
    rows = rankings_table(
        figures, results["intervals"], BUY_AGAIN_METRICS, results["k"], "top_frequency", results["choice"]
    )
    text = (
        "Buy again, evaluated on repeat purchases (the chosen ranking is published): "
        f"{results['evaluable_customers']} customers bought a product again in the hold-out "
        f"({results['repeat_purchases']} repeat products); {level} bootstrap "
        "intervals over customers in brackets.\n\n" + "\n".join(rows) + f"\n\n**{results['reason']}**"
    )
    return text + (f"\n\n**{results['noise']}**" if results["noise"] else "")
