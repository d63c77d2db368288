"""Deterministic synthetic B2B order data with structure a recommender can learn (DESIGN §9).

Customers belong to segments (electricians, plumbers, ...) whose category tastes differ; products have a
power-law popularity inside their category; each customer re-orders a personal pool of products at random order
lines, or, with `reorder_cycles` (the realistic preset), its regular consumables at their own intervals while project
products are bought once (`reorder_cycles.py`); baskets pull in companion products; weekdays are busier than
weekends. Optional knobs inject drift from a date and
bad rows of every class the cleaning step must catch. Everything is vectorised with numpy: no per-row loops.
The order lines are drawn in chunks of `CHUNK_ORDERS` orders (`generate_stream`), so scale L fits in ~2 GB.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .reorder_cycles import (
    ProductKinds,
    ReorderModel,
    draw_product_kinds,
    order_rhythm,
    regular_candidates,
    regular_consumables,
    simulate_reorders,
)
from .schema import TEXT_DTYPE

SEGMENTS = ["electrician", "plumber", "hvac", "contractor", "facility", "industrial", "installer", "retail"]
REGIONS = ["north", "south", "east", "west", "central"]
CATEGORY_WORDS = [
    "cables",
    "fuses",
    "switches",
    "sockets",
    "lamps",
    "pipes",
    "fittings",
    "valves",
    "pumps",
    "boilers",
    "radiators",
    "thermostats",
    "screws",
    "anchors",
    "drills",
    "blades",
    "gloves",
    "helmets",
    "tapes",
    "sealants",
    "adhesives",
    "brackets",
    "conduits",
    "breakers",
    "meters",
    "sensors",
    "fans",
    "filters",
    "ducts",
    "insulation",
    "ladders",
    "batteries",
    "chargers",
    "connectors",
    "terminals",
    "clamps",
    "hoses",
    "taps",
    "sinks",
    "toilets",
    "heaters",
    "coolers",
    "relays",
    "timers",
    "transformers",
    "lighting",
    "cameras",
    "alarms",
    "locks",
    "hinges",
    "paints",
    "brushes",
    "solvents",
    "cleaners",
    "wipes",
    "bags",
    "boxes",
    "labels",
    "markers",
    "tools",
]
LOCAL_NAMES = ["Müller Elektro", "Schröder & Söhne", "Bäckerei Weiß", "Haustechnik Größ", "Kühn Sanitär"]
LOCAL_REGIONS = ["Köln", "München", "Düsseldorf", "Nürnberg", "Straßburg"]
BRANDS = ["Voltix", "Aqualine", "Thermaco", "Fixwell", "Proline", "Brightway", "Solido", "Nordpipe"]
DRIFT_KINDS = ("segment_mix", "category_surge", "price_shift")
BAD_DATA_CLASSES = (
    "null_customer_id",
    "null_product_id",
    "unknown_customer",
    "unknown_product",
    "absurd_quantity",
    "orphan_return",
    "duplicate_line",
    "future_timestamp",
)


@dataclass(frozen=True)
class GeneratorConfig:
    """Scale and behaviour of the generated data.

    Parameters
    ----------
    customers, products : int
        Sizes of the master data tables.
    days : int
        Length of the order history, ending on `end_date` (inclusive).
    lines_per_day : int
        Mean order lines per day (weekends carry fewer, weekdays more).
    seed : int
        Same seed and same other knobs give the same data, row for row.
    end_date : datetime.date or None
        Last day of orders; None means yesterday (UTC).
    drift_start : datetime.date or None
        From this day on, orders follow the drifted world given by `drift_kind`.
    drift_kind : str
        ``segment_mix`` (one segment orders 5x as often), ``category_surge`` (one category takes a large
        share of new purchases) or ``price_shift`` (prices +40 %).
    bad_data_rate : float
        Share of order lines, per bad-data class in `BAD_DATA_CLASSES`, that are made bad.
    closed_weekdays : tuple of int
        Weekdays (0 = Monday) without any order: a shop closed at weekends has ``(5, 6)``.
    holidays : bool
        No orders on public holidays (New Year, Good Friday, Easter Monday, 1 May, Ascension, Whit Monday,
        3 October, Christmas Eve to Boxing Day, New Year's Eve).
    summer_closure_days : int
        The branch closes this many days from the first Monday of August every year.
    seasonality : float
        Amplitude of the yearly cycle of order volume (0: none; 0.3: +-30 % between spring/autumn and winter).
    mean_basket : float
        Mean order lines per order.
    activity_sigma : float
        Spread of the customers' ordering rates (log-normal sigma): larger means most customers order once or
        twice and a few order all the time.
    lifetimes : bool
        Customers arrive over the history and some leave: each orders only between its first and last day.
    local_names : bool
        Customer names and regions with non-ASCII letters (Müller, Köln), as a European ERP exports them.
    reorder_cycles : bool
        Repeat buying by product kind (`reorder_cycles.ReorderModel`): consumables are reordered at
        product-specific intervals, project and durable products are bought once. Off, each customer reorders a
        personal pool of products at random order lines, with no rhythm. The orders' customers, days and sizes
        are the same either way.
    """

    customers: int = 2_000
    products: int = 3_000
    days: int = 90
    lines_per_day: int = 1_000
    seed: int = 42
    end_date: dt.date | None = None
    drift_start: dt.date | None = None
    drift_kind: str = "category_surge"
    bad_data_rate: float = 0.0
    closed_weekdays: tuple[int, ...] = ()
    holidays: bool = False
    summer_closure_days: int = 0
    seasonality: float = 0.0
    mean_basket: float = 4.0
    activity_sigma: float = 1.0
    lifetimes: bool = False
    local_names: bool = False
    reorder_cycles: bool = False

    @classmethod
    def realistic(cls, **overrides) -> GeneratorConfig:
        """A shop's real order history rather than a busy demo: three years, closed at weekends and on public
        holidays and for two weeks each summer, a yearly cycle, small baskets, customers arriving and leaving,
        most customers with one to three orders a year (the sparsity of a B2B distributor's export), and
        consumables reordered at their own intervals while project products are bought once."""
        preset = {
            "customers": 2_500,
            "products": 1_500,
            "days": 3 * 365,
            "lines_per_day": 40,
            "closed_weekdays": (5, 6),
            "holidays": True,
            "summer_closure_days": 14,
            "seasonality": 0.3,
            "mean_basket": 2.5,
            "activity_sigma": 1.6,
            "lifetimes": True,
            "local_names": True,
            "reorder_cycles": True,
        }
        return cls(**{**preset, **overrides})

    def resolved_end_date(self) -> dt.date:
        return self.end_date or (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1))

    def start_date(self) -> dt.date:
        return self.resolved_end_date() - dt.timedelta(days=self.days - 1)


@dataclass
class GeneratedData:
    orders: pd.DataFrame
    products: pd.DataFrame
    customers: pd.DataFrame
    # with `reorder_cycles`: product_id, kind (consumable or project) and reorder_days (the drawn typical interval,
    # NaN for project products); the generator's truth, not part of the source tables
    product_kinds: pd.DataFrame | None = None


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """`prefix` + each number zero-padded to `width` digits (``P000042``), as Python strings; the digits are
    written with numpy (several times faster than formatting each number), numbers outside 0..10**width - 1
    are formatted one by one with the same result."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if len(numbers) == 0 or numbers.min() < 0 or numbers.max() >= 10**width or not prefix.isascii():
        return prefix + pd.Series(numbers).astype(str).str.zfill(width)
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    text = np.empty((len(numbers), len(head) + width), dtype=np.uint8)
    text[:, : len(head)] = head
    remaining = numbers.copy()
    for position in range(len(head) + width - 1, len(head) - 1, -1):
        text[:, position] = remaining % 10 + ord("0")
        remaining //= 10
    return pd.Series(text.view(f"S{text.shape[1]}").ravel().astype(f"U{text.shape[1]}").astype(object))


def _sample_rows(cumulative: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one column index per entry of `rows` from the row-wise cumulative distributions."""
    out = np.empty(len(rows), dtype=np.int64)
    for start in range(0, len(rows), 100_000):  # chunks bound the (chunk x columns) temporary
        chunk = rows[start : start + 100_000]
        u = rng.random(len(chunk))[:, None]
        out[start : start + 100_000] = (cumulative[chunk] < u).sum(axis=1)
    return np.minimum(out, cumulative.shape[1] - 1)


class _Catalogue:
    """Products grouped by category; inside a category each segment has its own Zipf popularity order,
    partly shared with the market-wide order (plumbers and electricians favour different brands)."""

    def __init__(self, n_products: int, n_categories: int, n_segments: int, rng: np.random.Generator):
        self.category = np.sort(rng.integers(0, n_categories, n_products))
        self.n_categories = n_categories
        self.n_segments = n_segments
        self.members: list[np.ndarray] = []
        self.cdf: dict[tuple[int, int], np.ndarray] = {}
        self.companion = np.arange(n_products)
        for k in range(n_categories):
            members = np.flatnonzero(self.category == k)
            if len(members) == 0:
                members = np.array([rng.integers(0, n_products)])
            members = rng.permutation(members)
            zipf = 1.0 / np.arange(1, len(members) + 1) ** 1.1
            market = zipf / zipf.sum()
            self.members.append(members)
            for segment in range(n_segments):
                own = rng.permutation(market)
                weights = 0.4 * market + 0.6 * own
                self.cdf[(segment, k)] = np.cumsum(weights) / weights.sum()
            # each product has one companion in its category that is often bought in the same basket
            self.companion[members] = np.roll(members, -1)

    def restricted(self, keep: np.ndarray) -> _Catalogue:
        """The same catalogue drawing only the products where `keep` is true, with their relative popularity; a
        category without any of them draws from all of them alike."""
        other = object.__new__(_Catalogue)
        other.category, other.companion = self.category, self.companion
        other.n_categories, other.n_segments = self.n_categories, self.n_segments
        other.members, other.cdf = [], {}
        anywhere = np.flatnonzero(keep)
        for k, members in enumerate(self.members):
            kept = keep[members]
            other.members.append(members[kept] if kept.any() else anywhere)
            for segment in range(self.n_segments):
                popularity = np.diff(self.cdf[(segment, k)], prepend=0.0)
                weights = popularity[kept] if kept.any() else np.ones(len(anywhere))
                other.cdf[(segment, k)] = np.cumsum(weights) / weights.sum()
        return other

    def draw(self, categories: np.ndarray, segments: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        products = np.empty(len(categories), dtype=np.int64)
        key = segments.astype(np.int64) * self.n_categories + categories
        order = np.argsort(key, kind="stable")
        bounds = np.searchsorted(key[order], np.arange(self.n_segments * self.n_categories + 1))
        for segment in range(self.n_segments):
            for k in range(self.n_categories):
                slot = segment * self.n_categories + k
                lines = order[bounds[slot] : bounds[slot + 1]]
                if len(lines):
                    rank = np.searchsorted(self.cdf[(segment, k)], rng.random(len(lines)))
                    products[lines] = self.members[k][np.minimum(rank, len(self.members[k]) - 1)]
        return products


def public_holidays(years: range) -> set[dt.date]:
    """Common Western European public holidays of `years` (fixed dates and the Easter-based ones)."""
    found = set()
    for year in years:
        easter = _easter(year)
        found |= {dt.date(year, m, d) for m, d in ((1, 1), (5, 1), (10, 3), (12, 24), (12, 25), (12, 26), (12, 31))}
        found |= {easter + dt.timedelta(days=offset) for offset in (-2, 1, 39, 50)}
    return found


def _easter(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    j = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * j) // 433
    month = (h + j - 7 * m + 90) // 25
    return dt.date(year, month, (h + j - 7 * m + 33 * month + 19) % 32)


def trading_day_weights(days: pd.DatetimeIndex, config: GeneratorConfig) -> np.ndarray:
    """Relative order volume of each day: weekday rhythm, closed days (weight 0) and the yearly cycle."""
    weight = np.array([1.0, 1.05, 1.0, 0.95, 0.9, 0.25, 0.1])[days.dayofweek]
    weight[np.isin(days.dayofweek, list(config.closed_weekdays))] = 0.0
    dates = days.date
    if config.holidays:
        holidays = public_holidays(range(days[0].year, days[-1].year + 1))
        weight[np.array([d in holidays for d in dates])] = 0.0
    if config.summer_closure_days > 0:
        for year in range(days[0].year, days[-1].year + 1):
            first = dt.date(year, 8, 1)
            first += dt.timedelta(days=(7 - first.weekday()) % 7)  # the first Monday of August
            closed = (dates >= first) & (dates < first + dt.timedelta(days=config.summer_closure_days))
            weight[closed] = 0.0
    if config.seasonality:
        # busiest in spring and autumn, quietest around the new year and in high summer
        weight = weight * (1.0 + config.seasonality * np.cos(4 * np.pi * (days.dayofyear.to_numpy() - 105) / 365.25))
    if weight.sum() <= 0:
        raise ValueError("generator: every day of the history is closed; no order can be placed")
    return weight


def _orders_within_lifetimes(
    activity: np.ndarray, day_weight: np.ndarray, n_orders: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Customers arrive over the history and a third of them leave: each order goes to a customer (by activity,
    times the share of the history the customer is around) and to a trading day inside that customer's window."""
    n_customers, n_days = len(activity), len(day_weight)
    first = rng.integers(0, n_days, n_customers) * (rng.random(n_customers) < 0.7)  # 30 % were there from the start
    leaves = rng.random(n_customers) < 0.35
    # a leaver stays at least 60 days (the whole history when it is shorter)
    stay = rng.integers(min(60, n_days), n_days + 1, n_customers)
    last = np.where(leaves, np.minimum(n_days - 1, first + stay), n_days - 1)
    cdf = np.concatenate([[0.0], np.cumsum(day_weight)])
    presence = cdf[last + 1] - cdf[first]
    rate = activity * presence
    order_customer = np.sort(rng.choice(n_customers, size=n_orders, p=rate / rate.sum()))
    low, high = cdf[first[order_customer]], cdf[last[order_customer] + 1]
    order_day = np.searchsorted(cdf, low + rng.random(n_orders) * (high - low), side="right") - 1
    order_day = np.clip(order_day, first[order_customer], last[order_customer])
    by_day = np.argsort(order_day, kind="stable")
    return order_customer[by_day], order_day[by_day]


# Orders per chunk of generated order lines. A fixed number, not one derived from the memory at hand, so a
# seed gives the same rows on every machine. Every history up to scale M (1 M lines, ~250 k orders) fits in one
# chunk and is generated exactly as by the unchunked generator; at scale L (10 M lines) the chunks bound the
# memory to about one chunk's lines (~1.2 M) plus the per-customer set-up.
CHUNK_ORDERS = 300_000


@dataclass
class _World:
    """The per-customer, per-product and per-order set-up: everything but the order lines (O(orders))."""

    config: GeneratorConfig
    rng: np.random.Generator
    drift_rng: np.random.Generator
    catalogue: _Catalogue
    customer_segment: np.ndarray
    taste_cdf: np.ndarray
    pool_size: np.ndarray
    pool_start: np.ndarray
    pool_products: np.ndarray
    days: pd.DatetimeIndex
    end: pd.Timestamp
    day_weight: np.ndarray
    order_customer: np.ndarray
    order_day: np.ndarray
    basket: np.ndarray
    drift_day: int | None
    repeats: _Repeats | None = None


@dataclass
class _Repeats:
    """Repeat buying by product kind (`GeneratorConfig.reorder_cycles`): the products' kinds and, per order, the
    regular consumables it buys again (`count` of them, from `start` in `products`); they are its first lines."""

    kinds: ProductKinds
    count: np.ndarray
    start: np.ndarray
    products: np.ndarray
    line_rng: np.random.Generator  # the new lines' products and all quantities, chunk after chunk


def _build_world(config: GeneratorConfig) -> _World:
    if config.customers < 1 or config.products < 2 or config.days < 1 or config.lines_per_day < 1:
        raise ValueError(f"generator scale must be positive, got {config}")
    if config.drift_kind not in DRIFT_KINDS:
        raise ValueError(f"drift_kind must be one of {DRIFT_KINDS}, got {config.drift_kind!r}")
    rng = np.random.default_rng(config.seed)
    n_cat = int(np.clip(config.products // 80, 4, len(CATEGORY_WORDS)))
    n_seg = len(SEGMENTS)
    catalogue = _Catalogue(config.products, n_cat, n_seg, rng)

    segment_taste = rng.dirichlet(np.full(n_cat, 0.25), size=n_seg)
    customer_segment = rng.choice(n_seg, size=config.customers, p=rng.dirichlet(np.full(n_seg, 4.0)))
    personal_taste = rng.dirichlet(np.full(n_cat, 0.2), size=config.customers)
    # 0.75 * segment + 0.25 * personal, then the cumulative sum, in place (the same values, a third of the memory)
    taste_cdf = segment_taste[customer_segment]
    taste_cdf *= 0.75
    personal_taste *= 0.25
    taste_cdf += personal_taste
    del personal_taste
    np.cumsum(taste_cdf, axis=1, out=taste_cdf)
    activity = rng.lognormal(0.0, 1.0, config.customers)

    # personal re-order pool: a few consumables each customer keeps buying
    pool_size = 2 + rng.poisson(6, config.customers)
    pool_owner = np.repeat(np.arange(config.customers), pool_size)
    pool_products = catalogue.draw(_sample_rows(taste_cdf, pool_owner, rng), customer_segment[pool_owner], rng)
    pool_start = np.concatenate([[0], np.cumsum(pool_size)[:-1]])
    del pool_owner

    # orders: day weighted by weekday, customer by activity, basket size ~ 1 + Poisson
    end = config.resolved_end_date()
    start = config.start_date()
    days = pd.date_range(start, end, freq="D")
    day_weight = trading_day_weights(days, config)
    total_lines = config.days * config.lines_per_day
    n_orders = max(1, int(round(total_lines / config.mean_basket)))
    if config.activity_sigma != 1.0:
        activity = rng.lognormal(0.0, config.activity_sigma, config.customers)
    if config.lifetimes:
        order_customer, order_day = _orders_within_lifetimes(activity, day_weight, n_orders, rng)
    else:
        order_day = rng.choice(len(days), size=n_orders, p=day_weight / day_weight.sum())
        order_day.sort()
        order_customer = rng.choice(config.customers, size=n_orders, p=activity / activity.sum())
    drift_day = None
    if config.drift_start is not None:
        drift_day = (pd.Timestamp(config.drift_start) - pd.Timestamp(start)).days
    # drift draws from its own stream, so the data before drift_start is identical with and without drift
    drift_rng = np.random.default_rng([config.seed, 1])
    if drift_day is not None and config.drift_kind == "segment_mix":
        drifted_segment = int(drift_rng.integers(n_seg))
        boosted = activity * np.where(customer_segment == drifted_segment, 5.0, 1.0)
        after = order_day >= drift_day
        order_customer[after] = drift_rng.choice(config.customers, size=int(after.sum()), p=boosted / boosted.sum())
    basket = 1 + rng.poisson(config.mean_basket - 1, n_orders)
    repeats = None
    if config.reorder_cycles:
        repeats = _draw_repeats(config, catalogue, taste_cdf, customer_segment, order_customer, order_day, basket)
    return _World(
        config=config,
        rng=rng,
        drift_rng=drift_rng,
        catalogue=catalogue,
        customer_segment=customer_segment,
        taste_cdf=taste_cdf,
        pool_size=pool_size,
        pool_start=pool_start,
        pool_products=pool_products,
        days=days,
        end=pd.Timestamp(end),
        day_weight=day_weight,
        order_customer=order_customer,
        order_day=order_day,
        basket=basket,
        drift_day=drift_day,
        repeats=repeats,
    )


def _draw_repeats(
    config: GeneratorConfig,
    catalogue: _Catalogue,
    taste_cdf: np.ndarray,
    customer_segment: np.ndarray,
    order_customer: np.ndarray,
    order_day: np.ndarray,
    basket: np.ndarray,
    model: ReorderModel = ReorderModel(),
) -> _Repeats:
    """Product kinds, each customer's regular consumables (drawn by its tastes among the consumables, as many as its
    orders have room for, see `reorder_cycles.regular_consumables`) and the renewal process that puts them into the
    orders (`reorder_cycles.simulate_reorders`). Drawn from a stream of their own, after the orders, so the
    orders' customers, days and sizes are unchanged."""
    rng = np.random.default_rng([config.seed, 2])
    kinds = draw_product_kinds(catalogue.category, catalogue.n_categories, model, rng)
    slots = rng.binomial(basket, model.reorder_slot_share)
    rhythm = order_rhythm(order_customer, order_day, slots, config.customers, model.room_floor_days)
    owner = np.repeat(np.arange(config.customers), regular_candidates(rhythm.room_per_day, model))
    candidates = catalogue.restricted(kinds.consumable).draw(
        _sample_rows(taste_cdf, owner, rng), customer_segment[owner], rng
    )
    cycle_days = kinds.interval_days[candidates] * rng.lognormal(0.0, model.customer_sigma, len(candidates))
    regulars = regular_consumables(
        owner, candidates, cycle_days, rhythm.room_per_day, model.regular_load, model.min_regulars
    )
    del owner, candidates, cycle_days
    count, products = simulate_reorders(
        order_customer, order_day, slots, regulars, rhythm.days_between_orders, model, rng
    )
    return _Repeats(
        kinds=kinds,
        count=count,
        start=np.cumsum(count) - count,
        products=products,
        line_rng=np.random.default_rng([config.seed, 3]),
    )


def _order_chunks(world: _World, chunk_orders: int) -> Iterator[pd.DataFrame]:
    """The order lines of `chunk_orders` orders at a time (the last chunk may hold fewer), drawn from the world's
    random stream one chunk after the other; each chunk sorted by (order_ts, order_id, line_no).

    A chunk holds its orders' lines, the credit notes of those lines (they may fall after the chunk's last day)
    and, with a bad-data rate, its bad rows at that rate (every class in each chunk). Ids are global: order ids
    are the orders' numbers, credit notes are numbered on across chunks, so (order_id, line_no) is unique except
    for the duplicates injected on purpose.
    """
    config, rng, drift_rng, catalogue = world.config, world.rng, world.drift_rng, world.catalogue
    drift_day, n_cat = world.drift_day, catalogue.n_categories
    end = world.end
    closes = bool(config.closed_weekdays or config.holidays or config.summer_closure_days)
    open_days = world.days[world.day_weight > 0] if closes else None
    consumable = base_price = surged = None  # drawn in the first chunk, where the unchunked generator drew them
    repeats = world.repeats
    bought = np.zeros(0, dtype=np.int64)  # (customer, product) keys of the chunks before
    returns_so_far = 0
    for first in range(0, len(world.basket), chunk_orders):
        basket = world.basket[first : first + chunk_orders]
        chunk_order = np.repeat(np.arange(len(basket)), basket)
        line_order = first + chunk_order
        line_no = np.arange(len(chunk_order)) - np.repeat(np.cumsum(basket) - basket, basket) + 1
        line_customer = world.order_customer[line_order]
        n_lines = len(line_order)

        # each line re-orders from the pool or explores: category from taste, product by popularity
        products = np.empty(n_lines, dtype=np.int64)
        repeat = rng.random(n_lines) < 0.45
        owners = line_customer[repeat]
        pick = world.pool_start[owners] + (rng.random(len(owners)) * world.pool_size[owners]).astype(np.int64)
        products[repeat] = world.pool_products[pick]
        del owners, pick
        if drift_day is not None and config.drift_kind == "category_surge" and surged is None:
            surged = int(drift_rng.integers(n_cat))
        _fill_new_lines(world, products, ~repeat, line_customer, line_order, line_no, rng, drift_rng, surged)
        del repeat

        if consumable is None:
            consumable = rng.random(n_cat) < 0.4
        quantity = 1 + rng.poisson(np.where(consumable[catalogue.category[products]], 6.0, 0.6))
        if base_price is None:
            base_price = np.round(rng.lognormal(3.0, 1.0, config.products), 2) + 0.5
        price_noise = rng.normal(0, 0.02, n_lines)
        if repeats is not None:
            # repeat buying draws the lines' products and quantities from streams of its own after the draws above,
            # which stay those without it: the orders' times, cancellations and credit notes are the same
            products, bought = _repeat_buying_lines(world, line_order, line_no, line_customer, surged, bought)
            quantity = 1 + repeats.line_rng.poisson(np.where(repeats.kinds.consumable[products], 6.0, 0.6))
        unit_price = np.round(base_price[products] * (1 + price_noise), 2)
        del price_noise
        if drift_day is not None and config.drift_kind == "price_shift":
            late = world.order_day[line_order] >= drift_day
            unit_price = np.where(late, np.round(unit_price * 1.4, 2), unit_price)
        seconds = rng.integers(6 * 3600, 18 * 3600, len(basket))
        order_ts = world.days.values[world.order_day[first : first + len(basket)]] + seconds.astype("timedelta64[s]")
        cancelled = rng.random(len(basket)) < 0.02

        orders = pd.DataFrame(
            {
                "order_id": _ids("O", line_order, 8),
                "line_no": line_no.astype(np.int64),
                "order_ts": order_ts[chunk_order],
                "customer_id": _ids("C", line_customer, 6),
                "product_id": _ids("P", products, 6),
                "quantity": quantity.astype(np.float64),
                "unit_price": unit_price.astype(np.float64),
                "currency": "EUR",
                "order_status": np.where(cancelled[chunk_order], "cancelled", "completed"),
            }
        )
        del chunk_order, line_order, line_no, line_customer, products, quantity, unit_price
        returns = _returns(orders, rng, end + pd.Timedelta(days=1), open_days, first_line_no=returns_so_far + 1)
        returns_so_far += len(returns)
        orders = pd.concat([orders, returns])
        del returns
        if config.bad_data_rate > 0:
            orders = inject_bad_rows(orders, config.bad_data_rate, rng, end)
        orders = orders.sort_values(["order_ts", "order_id", "line_no"], kind="stable").reset_index(drop=True)
        for column in ("order_id", "customer_id", "product_id", "currency", "order_status"):
            orders[column] = orders[column].astype(TEXT_DTYPE)
        yield orders


def _fill_new_lines(
    world: _World,
    products: np.ndarray,
    new_lines: np.ndarray,
    line_customer: np.ndarray,
    line_order: np.ndarray,
    line_no: np.ndarray,
    rng: np.random.Generator,
    surge_rng: np.random.Generator,
    surged: int | None,
    companions_replace_new_lines_only: bool = False,
) -> None:
    """Fill the `new_lines` of `products` in place: category by the customer's tastes (the `surged` category takes
    35 % of them from the drift day), product by popularity; then a quarter of the lines after the first become
    the companion of the line before (only new lines with `companions_replace_new_lines_only`: with repeat
    buying, a line bought again stays what the customer needed)."""
    categories = _sample_rows(world.taste_cdf, line_customer[new_lines], rng)
    if surged is not None:
        after = world.order_day[line_order[new_lines]] >= world.drift_day
        categories[after & (surge_rng.random(len(categories)) < 0.35)] = surged
    products[new_lines] = world.catalogue.draw(categories, world.customer_segment[line_customer[new_lines]], rng)
    del categories
    bundle = (line_no > 1) & (rng.random(len(products)) < 0.25)
    if companions_replace_new_lines_only:
        bundle &= new_lines
    bundle_idx = np.flatnonzero(bundle)
    products[bundle_idx] = world.catalogue.companion[products[bundle_idx - 1]]


def _repeat_buying_lines(
    world: _World,
    line_order: np.ndarray,
    line_no: np.ndarray,
    line_customer: np.ndarray,
    surged: int | None,
    bought_before: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The lines' products with repeat buying: an order's first lines are the regular consumables it buys again
    (see `_draw_repeats`), the others new products for the customer (`_new_products_only`). Returns the products
    and the (customer, product) keys bought so far."""
    repeats, rng = world.repeats, world.repeats.line_rng
    products = np.empty(len(line_order), dtype=np.int64)
    again = line_no <= repeats.count[line_order]
    products[again] = repeats.products[repeats.start[line_order[again]] + line_no[again] - 1]
    _fill_new_lines(world, products, ~again, line_customer, line_order, line_no, rng, rng, surged, True)
    return products, _new_products_only(world, products, line_customer, ~again, bought_before)


# Redraws of a new line that hit a product its customer bought before; what is left after them stays (rare, with the
# most active customers, who exhaust their favourite categories).
NEW_PRODUCT_REDRAWS = 3


def _new_products_only(
    world: _World, products: np.ndarray, line_customer: np.ndarray, new_lines: np.ndarray, bought_before: np.ndarray
) -> np.ndarray:
    """With repeat buying, what a customer buys again comes from its reorder cycles only: a new line (`new_lines`:
    explored, not bought again) holding a product its customer bought on an earlier line (or in `bought_before`, the
    keys of earlier chunks) is drawn again by the customer's tastes, up to `NEW_PRODUCT_REDRAWS` times. So project
    products are bought once (rarely twice) and a tried consumable is not reordered at random. Changes `products`
    in place; returns the (customer, product) keys bought so far."""
    n_products = world.config.products
    for _ in range(NEW_PRODUCT_REDRAWS):
        key = line_customer * n_products + products
        # hashed, not sorted: np.isin and np.union1d take seconds on a million keys
        earlier = pd.Series(np.concatenate([bought_before, key])).duplicated().to_numpy()[len(bought_before) :]
        again = np.flatnonzero(new_lines & earlier)
        if len(again) == 0:
            break
        owners = line_customer[again]
        categories = _sample_rows(world.taste_cdf, owners, world.repeats.line_rng)
        products[again] = world.catalogue.draw(categories, world.customer_segment[owners], world.repeats.line_rng)
    return pd.unique(np.concatenate([bought_before, line_customer * n_products + products]))


def _master_frames(world: _World) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The products and customers tables (drawn after every order line, as the unchunked generator did)."""
    config, rng, catalogue = world.config, world.rng, world.catalogue
    product_numbers = np.arange(config.products)
    product_frame = pd.DataFrame(
        {
            "product_id": _ids("P", product_numbers, 6),
            "name": [f"{CATEGORY_WORDS[c].capitalize()} {i:05d}" for i, c in enumerate(catalogue.category)],
            "category": np.array(CATEGORY_WORDS)[catalogue.category],
            "brand": np.array(BRANDS)[rng.integers(0, len(BRANDS), config.products)],
            "active": rng.random(config.products) >= 0.03,
        }
    )
    names, regions = (LOCAL_NAMES, LOCAL_REGIONS) if config.local_names else (None, REGIONS)
    customer_frame = pd.DataFrame(
        {
            "customer_id": _ids("C", np.arange(config.customers), 6),
            "name": [
                f"{names[i % len(names)]} {i:06d}" if names else f"Customer {i:06d}" for i in range(config.customers)
            ],
            "segment": np.array(SEGMENTS)[world.customer_segment],
            "region": np.array(regions)[rng.integers(0, len(regions), config.customers)],
        }
    )
    return product_frame, customer_frame


class GeneratedStream:
    """The generated data of `config` with the order lines as a stream of frames (bounded memory at any scale).

    `orders` yields the order lines `chunk_orders` orders at a time (see `_order_chunks`); it can be iterated
    once. `products` and `customers` are drawn after the last order line, so they can be read only once
    `orders` is exhausted; `tables()` gives all three for `SourceDatabase.write_tables` in that order.
    Same config and same `chunk_orders` give the same rows; `generate(config)` holds exactly these rows.

    Parameters
    ----------
    config : GeneratorConfig
        What to generate.
    chunk_orders : int or None
        Orders per chunk (None: `CHUNK_ORDERS`); a fixed number, never derived from free memory, because another
        chunk size draws other rows from the same seed (histories of one chunk are the same for any size).
    """

    def __init__(self, config: GeneratorConfig, chunk_orders: int | None = None):
        chunk_orders = CHUNK_ORDERS if chunk_orders is None else chunk_orders
        if chunk_orders < 1:
            raise ValueError(f"chunk_orders must be positive, got {chunk_orders}")
        self.config = config
        self.chunk_orders = chunk_orders
        self._world: _World | None = _build_world(config)
        self.n_orders = len(self._world.basket)
        self.n_lines = int(self._world.basket.sum())  # purchase lines, before credit notes and bad rows
        self.n_chunks = -(-self.n_orders // chunk_orders)
        self.product_kinds = _kinds_frame(self._world.repeats.kinds) if self._world.repeats else None
        self._masters: tuple[pd.DataFrame, pd.DataFrame] | None = None
        self.orders: Iterator[pd.DataFrame] = self._orders()

    def _orders(self) -> Iterator[pd.DataFrame]:
        world = self._world
        yield from _order_chunks(world, self.chunk_orders)
        self._masters = _master_frames(world)
        self._world = None  # the set-up's arrays are not needed any more

    def _master(self, index: int) -> pd.DataFrame:
        if self._masters is None:
            raise RuntimeError("the master tables are drawn after the order lines: exhaust `orders` first")
        return self._masters[index]

    @property
    def products(self) -> pd.DataFrame:
        return self._master(0)

    @property
    def customers(self) -> pd.DataFrame:
        return self._master(1)

    def tables(self, orders: Iterable[pd.DataFrame] | None = None) -> dict:
        """{"orders": the order chunks (or `orders`, e.g. the chunks wrapped for progress), "products": ...,
        "customers": ...} for `SourceDatabase.write_tables`: the master tables as callables, called after the
        order lines are written."""
        return {
            "orders": self.orders if orders is None else orders,
            "products": lambda: self.products,
            "customers": lambda: self.customers,
        }


def generate_stream(config: GeneratorConfig, chunk_orders: int | None = None) -> GeneratedStream:
    """The generated data of `config` with the order lines as a stream of chunks (see `GeneratedStream`)."""
    return GeneratedStream(config, chunk_orders)


def generate(config: GeneratorConfig, chunk_orders: int | None = None) -> GeneratedData:
    """Generate orders, products and customers for `config`, the order lines in one frame sorted by
    (order_ts, order_id, line_no). Deterministic for a given config; the rows of `generate_stream(config)`."""
    stream = GeneratedStream(config, chunk_orders)
    chunks = list(stream.orders)
    if len(chunks) == 1:
        orders = chunks[0]
    else:
        orders = pd.concat(chunks, ignore_index=True)
        del chunks
        orders = orders.sort_values(["order_ts", "order_id", "line_no"], kind="stable").reset_index(drop=True)
    return GeneratedData(
        orders=orders, products=stream.products, customers=stream.customers, product_kinds=stream.product_kinds
    )


def _kinds_frame(kinds: ProductKinds) -> pd.DataFrame:
    """The products' kinds as a frame: product_id, kind (consumable or project), reorder_days (NaN for projects)."""
    return pd.DataFrame(
        {
            "product_id": _ids("P", np.arange(len(kinds.consumable)), 6),
            "kind": np.where(kinds.consumable, "consumable", "project"),
            "reorder_days": kinds.interval_days,
        }
    )


def _returns(
    orders: pd.DataFrame,
    rng: np.random.Generator,
    horizon: pd.Timestamp,
    open_days: pd.DatetimeIndex | None = None,
    first_line_no: int = 1,
) -> pd.DataFrame:
    """Credit notes: ~1.5 % of completed lines come back 1-10 days later as negative quantities (on the next
    open day when the shop has closed days), numbered on from `first_line_no`."""
    completed = orders[orders["order_status"] == "completed"]
    picked = completed[rng.random(len(completed)) < 0.015].copy()
    picked["order_ts"] = picked["order_ts"] + pd.to_timedelta(rng.integers(1, 11, len(picked)), unit="D")
    if open_days is not None and len(open_days):
        day = picked["order_ts"].dt.normalize()
        position = np.minimum(open_days.searchsorted(day), len(open_days) - 1)
        picked["order_ts"] = open_days[position].to_numpy() + (picked["order_ts"] - day).to_numpy()
    picked = picked[picked["order_ts"] < horizon]
    picked["order_id"] = "R" + picked["order_id"].str[1:]
    picked["line_no"] = np.arange(first_line_no, first_line_no + len(picked))
    picked["quantity"] = -picked["quantity"]
    return picked


def inject_bad_rows(orders: pd.DataFrame, rate: float, rng: np.random.Generator, end: pd.Timestamp) -> pd.DataFrame:
    """Make `rate` of the lines bad for every class in `BAD_DATA_CLASSES` (disjoint lines per class).

    Future timestamps are set a year past `end`: they sit in the source table but in no past partition.
    """
    orders = orders.reset_index(drop=True).copy()
    per_class = max(1, int(len(orders) * rate))
    picks = rng.choice(len(orders), size=min(len(orders), per_class * 7), replace=False)
    groups = np.array_split(picks, 7)
    orders["customer_id"] = orders["customer_id"].astype(object)
    orders["product_id"] = orders["product_id"].astype(object)
    orders.loc[groups[0], "customer_id"] = None
    orders.loc[groups[1], "product_id"] = None
    orders.loc[groups[2], "customer_id"] = "C_UNKNOWN"
    orders.loc[groups[3], "product_id"] = "P_UNKNOWN"
    orders.loc[groups[4], "quantity"] = 1e7
    orders.loc[groups[5], "quantity"] = -orders.loc[groups[5], "quantity"].abs() - 1e5
    orders.loc[groups[6], "order_ts"] = end + pd.Timedelta(days=365)
    duplicates = orders.iloc[rng.choice(len(orders), size=per_class, replace=False)]
    return pd.concat([orders, duplicates], ignore_index=True)
