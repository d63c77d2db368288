"""Repeat buying for the synthetic generator: consumables reordered at product-specific intervals, project products
bought once.

A distributor's catalogue holds consumables (screws, tape, gloves, fuses), which an installer reorders every few
days to weeks, and project or durable products (a boiler, a pump, a ladder), bought for one job. Here every product
gets a kind; a consumable gets a typical reorder interval. Each customer keeps a few regular consumables; for each
of them the customer needs a refill every interval (times a per-customer factor, times a per-cycle noise, with
occasional skipped and early reorders) and buys it at the first order placed once it is needed, unless the order
has no room for it or the need has waited too long (it was then bought elsewhere: a fresh cycle starts). The orders
themselves (customer, day, number of lines) are drawn before, as without repeat buying, so the calendar, the
sparsity and the volume of a history do not change; only what the order lines hold does.

The numbers below are illustrative: plausible for a distributor of installation material, measured on no shop, and
chosen without looking at what any ranking of the pipeline makes of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ReorderModel:
    """How customers buy again.

    Parameters
    ----------
    consumable_category_share : float
        Share of the categories that are mainly consumables (fixings, tapes, gloves); the others mainly hold
        project and durable products.
    consumable_share_in_consumable_categories, consumable_share_elsewhere : float
        Chance that a product is a consumable, in a consumable category and in another one.
    median_interval_days, interval_sigma : float
        Each consumable's typical reorder interval is log-normal with this median (days) and spread (log scale):
        with 21 and 0.6, nine in ten consumables are reordered every 8 to 56 days.
    min_interval_days, max_interval_days : float
        The intervals are clipped to this range.
    customer_sigma : float
        Spread (log scale) of a customer's own pace for one consumable around its typical interval (a larger
        firm uses it up faster).
    cycle_sigma : float
        Spread (log scale) of one refill cycle around the customer's pace.
    skip_share, early_share : float
        Chance that a cycle takes twice as long (the customer skipped a reorder) or 0.6 times as long (reordered
        early, e.g. for a larger job).
    patience_share, patience_days : float
        A needed consumable waits for the customer's next order up to this share of its interval plus these days;
        after that it was bought elsewhere and a fresh cycle starts, unseen.
    lookahead_share, max_lookahead_share : float
        An order also takes a consumable that will be needed within this share of the customer's mean days
        between orders (a buyer adds what runs out before the next order), but at most this share of its
        interval early; so a customer's gaps centre on its pace instead of lagging it by the wait for an order.
    reorder_slot_share : float
        Chance that an order line is room for a needed consumable (the others are new products: explored
        consumables and project purchases); a line with room but nothing needed is a new product too.
    regular_load : float
        A customer's regular consumables together need at most this share of the room its orders have for them
        (lines per day), and at least `min_regulars`; a daily customer keeps dozens. Beyond that the
        customer buys them elsewhere, and its gaps would show its order rhythm rather than the products'.
    room_floor_days : float
        A customer's room per day is measured over its first to last order, over at least these days.
    min_regulars, max_regulars : int
        The fewest and the most regular consumables a customer has (even a customer ordering once a year comes
        for a few things it buys each time).
    """

    consumable_category_share: float = 0.5
    consumable_share_in_consumable_categories: float = 0.85
    consumable_share_elsewhere: float = 0.1
    median_interval_days: float = 21.0
    interval_sigma: float = 0.6
    min_interval_days: float = 3.0
    max_interval_days: float = 120.0
    customer_sigma: float = 0.25
    cycle_sigma: float = 0.15
    skip_share: float = 0.08
    early_share: float = 0.08
    patience_share: float = 0.5
    patience_days: float = 7.0
    lookahead_share: float = 0.5
    max_lookahead_share: float = 0.5
    reorder_slot_share: float = 0.6
    regular_load: float = 0.7
    room_floor_days: float = 28.0
    min_regulars: int = 2
    max_regulars: int = 60


@dataclass
class ProductKinds:
    """Per product number: whether it is a consumable and its typical reorder interval in days (NaN for project
    and durable products)."""

    consumable: np.ndarray
    interval_days: np.ndarray


def draw_product_kinds(category: np.ndarray, n_categories: int, model: ReorderModel, rng: np.random.Generator):
    """The kind of every product (by its category, see `ReorderModel`) and each consumable's reorder interval."""
    consumable_category = rng.random(n_categories) < model.consumable_category_share
    chance = np.where(
        consumable_category[category], model.consumable_share_in_consumable_categories, model.consumable_share_elsewhere
    )
    consumable = rng.random(len(category)) < chance
    if not consumable.any():  # a tiny catalogue: one consumable at least, so customers have something to reorder
        consumable[rng.integers(len(category))] = True
    interval = rng.lognormal(np.log(model.median_interval_days), model.interval_sigma, len(category))
    interval = np.clip(interval, model.min_interval_days, model.max_interval_days)
    return ProductKinds(consumable=consumable, interval_days=np.where(consumable, interval, np.nan))


@dataclass
class OrderRhythm:
    """Per customer: the order lines per day that can hold needed consumables (`room_per_day`) and the mean days
    between two of its orders (`days_between_orders`), both over its first to last order day (at least
    `floor_days`, so one order is not read as a daily habit)."""

    room_per_day: np.ndarray
    days_between_orders: np.ndarray


def order_rhythm(
    order_customer: np.ndarray, order_day: np.ndarray, slots: np.ndarray, n_customers: int, floor_days: float
) -> OrderRhythm:
    """Each customer's `OrderRhythm` from its orders (customer and day number of each) and their `slots`."""
    first = np.full(n_customers, np.iinfo(np.int64).max)
    last = np.full(n_customers, -1)
    np.minimum.at(first, order_customer, order_day)
    np.maximum.at(last, order_customer, order_day)
    span = np.maximum(last - first + 1, floor_days).astype(np.float64)
    orders = np.bincount(order_customer, minlength=n_customers)
    return OrderRhythm(
        room_per_day=np.bincount(order_customer, weights=slots, minlength=n_customers) / span,
        days_between_orders=span / np.maximum(orders, 1),
    )


def regular_candidates(room_per_day: np.ndarray, model: ReorderModel) -> np.ndarray:
    """How many regular consumables to draw per customer: twice what its room holds at the median interval (the
    draw is trimmed by the candidates' own intervals in `regular_consumables`), at least `min_regulars`, at most
    `max_regulars`."""
    fits = room_per_day * model.regular_load * model.median_interval_days
    return np.clip(np.ceil(2 * fits), model.min_regulars, model.max_regulars).astype(np.int64)


@dataclass
class Regulars:
    """The customers' regular consumables, one entry per customer and product, grouped by customer: `owner`
    (customer number), `product` and `cycle_days` (the customer's days between two refills, before the noise)."""

    owner: np.ndarray
    product: np.ndarray
    cycle_days: np.ndarray


def regular_consumables(
    owner: np.ndarray, products: np.ndarray, cycle_days: np.ndarray, room: np.ndarray, load: float, min_kept: int
) -> Regulars:
    """The customers' regular consumables from the drawn candidates (`owner`, `products`, `cycle_days`, grouped by
    owner). A product drawn twice for one customer is kept once; a customer keeps its first candidates while their
    refills need at most `load` times its `room` (lines per day), and always the first `min_kept`."""
    keep = ~_repeated(owner * (int(products.max(initial=0)) + 1) + products)
    owner, products, cycle_days = owner[keep], products[keep], cycle_days[keep]
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]]) if len(owner) else np.zeros(0, dtype=np.int64)
    sizes = np.diff(np.r_[starts, len(owner)])
    column = np.arange(len(owner)) - np.repeat(starts, sizes)
    demand = np.cumsum(1.0 / cycle_days)
    demand -= np.repeat(demand[starts] - 1.0 / cycle_days[starts], sizes)  # per customer, up to this candidate
    keep = (column < min_kept) | (demand <= load * room[owner])
    return Regulars(owner=owner[keep], product=products[keep], cycle_days=cycle_days[keep])


def _repeated(keys: np.ndarray) -> np.ndarray:
    """Whether each key occurs earlier in `keys`."""
    seen = np.zeros(len(keys), dtype=bool)
    _, first = np.unique(keys, return_index=True)
    seen[first] = True
    return ~seen


def simulate_reorders(
    order_customer: np.ndarray,
    order_day: np.ndarray,
    slots: np.ndarray,
    regulars: Regulars,
    days_between_orders: np.ndarray,
    model: ReorderModel,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """The regular consumables each order buys again: a renewal process per customer and regular consumable.

    Parameters
    ----------
    order_customer, order_day : numpy.ndarray
        Customer number and day number of every order.
    slots : numpy.ndarray
        Per order, the most lines that can hold needed consumables.
    regulars : Regulars
        The customers' regular consumables and their paces.
    days_between_orders : numpy.ndarray
        Per customer, its mean days between two orders (how far ahead an order looks).
    model : ReorderModel
        Noise, skips, early reorders, the patience of a need and how far ahead an order looks.
    rng : numpy.random.Generator
        The random stream (the result is deterministic for a given stream state).

    Returns
    -------
    (counts, products): how many consumables each order buys again, and their product numbers, grouped by order
    (in the orders' index order; inside an order the longest-needed first).
    """
    n_orders, n_customers = len(order_customer), len(days_between_orders)
    if n_orders == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # one vectorised step per order rank (the customers' first orders, then their second ones, ...), because a
    # purchase at one order decides what is needed at the next. The customers with most orders come first, and
    # their regular consumables too: those of the customers still ordering at rank k are a prefix of the entries.
    orders_of = np.bincount(order_customer, minlength=n_customers)
    busiest = np.argsort(-orders_of, kind="stable")
    relabel = np.empty(n_customers, dtype=np.int64)
    relabel[busiest] = np.arange(n_customers)
    by_customer = np.lexsort((order_day, relabel[order_customer]))
    counts = orders_of[busiest]
    first_order = np.r_[0, np.cumsum(counts)[:-1]]
    day = order_day[by_customer].astype(np.float64)

    entries = np.argsort(relabel[regulars.owner], kind="stable")
    owner = relabel[regulars.owner][entries]  # the customer's place in `busiest`
    product = regulars.product[entries]
    cycle = regulars.cycle_days[entries].astype(np.float64)
    patience = model.patience_share * cycle + model.patience_days
    ahead = np.minimum(model.lookahead_share * days_between_orders[busiest][owner], model.max_lookahead_share * cycle)
    order_of_entry = first_order[owner]
    need = np.full(len(owner), -np.inf)  # the day each regular consumable is next needed (-inf: never seen yet)
    # the entries of the customers still ordering at each rank
    prefix = np.searchsorted(owner, np.searchsorted(-counts, -np.arange(int(counts[0])), side="left"))
    bought_at, bought_products = [], []
    for k, n in enumerate(prefix):
        at = order_of_entry[:n] + k  # the customer's order of rank k, per entry
        today = day[at]
        row_need = need[:n]  # a view: written through
        # waited too long (or never seen): bought elsewhere meanwhile; the current cycle is at a random phase
        lapsed = np.flatnonzero(row_need + patience[:n] < today)
        if len(lapsed):
            row_need[lapsed] = today[lapsed] - patience[lapsed] + rng.random(len(lapsed)) * cycle[lapsed]
        due = np.flatnonzero(row_need <= today + ahead[:n])
        if len(due) == 0:
            continue
        # inside an order the longest-needed first; an order with less room than needed consumables takes those
        due = due[np.lexsort((row_need[due], owner[due]))]
        place = np.arange(len(due)) - np.searchsorted(owner[due], owner[due], side="left")
        due = due[place < slots[by_customer[at[due]]]]
        length = cycle[due] * rng.lognormal(0.0, model.cycle_sigma, len(due))
        fate = rng.random(len(due))
        length *= np.where(fate < model.skip_share, 2.0, np.where(fate > 1 - model.early_share, 0.6, 1.0))
        row_need[due] = today[due] + length
        bought_at.append(at[due])
        bought_products.append(product[due])
    if not bought_at:
        return np.zeros(n_orders, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order_of = by_customer[np.concatenate(bought_at)]
    products = np.concatenate(bought_products)
    grouped = np.argsort(order_of, kind="stable")
    return np.bincount(order_of, minlength=n_orders).astype(np.int64), products[grouped]
