"""Fold-in: a customer's lists rebuilt from their updated order history with the live model, between nightly runs.

ALS keeps its item factors; each folded customer's factors are solved again from their full updated history
(implicit's `recalculate_user`, as its maintainers advise for new interactions: a least-squares solve against the
fixed item factors, the same equation the fit's last user step solves). The confidence row is built exactly as the
fit built it (distinct-order counts, the model's decay and weighting). Models without per-customer factors to
solve need no refit: kNN and popularity rank from the customer's purchases, which are updated. BPR cannot solve a
customer's factors from their history (implicit has no `recalculate_user` for it): a known customer keeps their
factors and gets the updated purchases filtered, a new one stays on popularity until the nightly refit.

The lists are then built by the publish's own code (`rule_filtered_lists`, `explain_lists`, the buy-again ranking
and the side lists' rules) on a model whose folded customers' rows are replaced: for kNN and popularity a fold-in of a
customer with no new order line gives their published lists back, item for item. For ALS it gives the lists of
factors solved against the final item factors, where the fit's last user step solved them against the item factors
of the sweep before: even without a new order, about half the lists come back reordered and one in seven with
another product, at the same MAP (benchmarks/RESULTS.md, "Fresh lists"; tests/unit/test_fold_in.py).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..data.schema import TEXT_DTYPE
from ..rules.rule_data import RuleTables
from ..rules.rule_lists import mark_campaign_items, rule_filtered_lists
from ..rules.rule_set import compile_rules
from ..rules.side_lists import rule_side_lists
from .buy_again import RANKINGS, BuyAgainSettings, ProductRhythm, product_rhythm, purchase_history
from .explain import ExplainSettings, explain_lists
from .matrix import IdMap, binary, confidence, order_counts
from .shop_lists import buy_again_lists, publish_as_of
from .training import TrainedModel, as_popularity, inactive_item_indices

# candidates ranked per buy-again slot before the rules take some out (as the buy_again_lists asset)
BUY_AGAIN_CANDIDATES_PER_SLOT = 2
# families whose customers' scores come from their purchases or from factors solved from them: a customer the
# model never saw can be folded in; a BPR model has no solve, its new customers stay cold starts
FOLDS_NEW_CUSTOMERS = frozenset({"als", "item_knn", "popularity"})


@dataclass(frozen=True)
class ListSettings:
    """How the published lists of a model were built, recorded with the model (model registry) so a fold-in builds
    a customer's lists the same way: the `recommendations` asset's settings and model_metrics' buy-again choice."""

    k: int = 10
    exclude_purchased: bool = True
    explain: bool = True
    explain_top: int = 3
    segment_top: int = 50
    buy_again_ranking: str = "top_frequency"
    buy_again_settings: dict = field(default_factory=dict)
    buy_again_k: int = 10
    published_popularity: bool = False  # the lists published were popularity's (no lead beyond noise)
    trained_until: str | None = None  # the newest order the lists know (ISO-8601): later lines are folded in

    def __post_init__(self) -> None:
        if self.buy_again_ranking not in RANKINGS:
            raise ValueError(f"buy-again ranking {self.buy_again_ranking!r} is not one of {list(RANKINGS)}")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ListSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in json.loads(text).items() if key in known})


@dataclass
class FoldedLists:
    """The folded customers' new "for you" lists (the publish's columns) and buy-again lists (side-list columns)."""

    customers: list[str]
    for_you: pd.DataFrame
    buy_again: pd.DataFrame


def _with_rows(matrix: sp.csr_matrix, n_rows: int, rows: np.ndarray, replacement: sp.csr_matrix) -> sp.csr_matrix:
    """`matrix` grown to `n_rows` rows, with rows `rows` taken from `replacement` (same shape) and the others kept."""
    matrix = sp.csr_matrix(matrix, copy=False)
    if matrix.shape[0] < n_rows:
        matrix = sp.vstack([matrix, sp.csr_matrix((n_rows - matrix.shape[0], matrix.shape[1]))]).tocsr()
    keep = np.ones(n_rows, dtype=matrix.dtype)
    keep[rows] = 0
    taken = np.zeros(n_rows, dtype=replacement.dtype)
    taken[rows] = 1
    result = (sp.diags(keep) @ matrix + sp.diags(taken) @ replacement).tocsr().astype(matrix.dtype)
    result.eliminate_zeros()
    result.sort_indices()
    return result


def _customer_rows(history: pd.DataFrame, customer_ids: list[str]) -> pd.DataFrame:
    return history[history["customer_id"].astype(str).isin(customer_ids)]


def folded_model(model: TrainedModel, history: pd.DataFrame, customer_ids: list[str]) -> TrainedModel:
    """`model` with the purchases (and, for ALS, the factors and confidence) of `customer_ids` recomputed from
    `history` (the updated interactions of the whole window: ALS's BM25 weighting reads every customer's counts).
    Customers the model never saw are appended (not for BPR: see the module docstring)."""
    family = model.config.model
    ids = pd.Index([str(c) for c in customer_ids])
    unknown = ids[model.users.index_of(ids.to_numpy()) < 0]
    users = model.users
    if len(unknown) and family in FOLDS_NEW_CUSTOMERS:
        users = IdMap(model.users.ids.append(pd.Index(unknown, dtype=object)))
    rows = users.index_of(ids.to_numpy())
    rows = rows[rows >= 0]
    own = _customer_rows(history, list(ids))
    purchased = _with_rows(model.purchased, len(users), rows, binary(own, users, model.items))
    recommender = model.recommender
    if family == "als":
        recommender = _folded_als(model, users, rows, history, own)
    elif family == "bpr" and len(users) > len(model.users):  # not reached: BPR adds no customer
        raise AssertionError("a BPR model cannot fold in a customer it never saw")
    return dataclasses.replace(model, users=users, purchased=purchased, recommender=recommender)


def _folded_als(model: TrainedModel, users: IdMap, rows: np.ndarray, history: pd.DataFrame, own: pd.DataFrame):
    """A copy of the ALS recommender with the folded customers' confidence rows and factors recomputed."""
    config, source = model.config, model.recommender
    # the fit's confidence: distinct-order counts decayed to the training data's last day, weighted; BM25 weights
    # each count by every customer's and product's totals, so it needs the whole window's counts
    counted = history if config.weighting == "bm25" else own
    counts = order_counts(counted, users, model.items, model.trained_until, config.half_life_days)
    weighted = confidence(counts, config.weighting, config.alpha, config.bm25_k1, config.bm25_b)
    base = source.confidence if source.confidence is not None else model.purchased
    folded = copy.copy(source)
    folded.confidence = _with_rows(base, len(users), rows, weighted)
    als = copy.copy(source.model)
    factors = np.asarray(source.model.user_factors)
    if factors.shape[0] < len(users):
        factors = np.vstack([factors, np.zeros((len(users) - factors.shape[0], factors.shape[1]), factors.dtype)])
    else:
        factors = factors.copy()
    if len(rows):
        factors[rows] = source.model.recalculate_user(rows, folded.confidence[rows])
    als.user_factors = factors
    als._user_norms = None  # implicit caches the norms of the factors it had
    folded.model = als  # the copy keeps the cached explanation base: the item side did not change
    return folded


def fold_in_lists(
    model: TrainedModel,
    model_version: str,
    history: pd.DataFrame,
    customer_ids: list[str],
    products: pd.DataFrame,
    customers: pd.DataFrame,
    rule_tables: RuleTables,
    settings: ListSettings,
    today,
    rhythm: ProductRhythm | None = None,
    as_of: pd.Timestamp | None = None,
) -> FoldedLists:
    """The "for you" and buy-again lists of `customer_ids` from `history` (the window's interactions with their new
    lines) and the live `model`, built as the publish builds them (module docstring); `today` dates the rules.

    With `rhythm` (`buy_again_rhythm` of the window, computed once) and `as_of` (the day the window's lists are
    ranked for, `publish_as_of` of it) `history` need only hold the folded customers' interactions, unless the model
    weighs its confidence with BM25 (which reads every customer's counts)."""
    customer_ids = sorted({str(c) for c in customer_ids})
    if settings.published_popularity:
        model = as_popularity(model)
    folded = folded_model(model, history, customer_ids)
    rules = compile_rules(rule_tables, products, today)
    known_customers = customers[customers["customer_id"].astype(str).isin(customer_ids)]
    ruled = rule_filtered_lists(
        folded, known_customers, products, settings.k, settings.exclude_purchased,
        inactive_item_indices(folded, products), rules, rule_tables.settings.candidates_per_slot,
    )  # fmt: skip
    lists = ruled.lists
    if settings.explain:
        explain = ExplainSettings(settings.explain_top, settings.segment_top)
        lists = explain_lists(folded, lists, customers, explain)
    else:
        lists["reason"], lists["because"] = None, pd.array(["[]"] * len(lists), dtype=TEXT_DTYPE)
    lists = mark_campaign_items(lists, ruled.pinned)
    lists["model_version"] = pd.array([model_version] * len(lists), dtype=TEXT_DTYPE)
    again = _buy_again(history, customer_ids, products, customers, rules, settings, rhythm, as_of)
    return FoldedLists(customer_ids, lists, again)


def buy_again_rhythm(history: pd.DataFrame, settings: ListSettings) -> ProductRhythm:
    """What the buy-again ranking learns from every customer of `history` (each product's reorder interval and
    buyers), for `fold_in_lists`: computed once per live version, it makes a fold-in's buy-again lists cost the
    folded customers' history only (at scale M: ~1.5 s for the whole window, milliseconds for a customer)."""
    return product_rhythm(
        purchase_history(history, publish_as_of(history)), BuyAgainSettings(**settings.buy_again_settings)
    )


def _buy_again(history, customer_ids, products, customers, rules, settings, rhythm, as_of) -> pd.DataFrame:
    """The folded customers' buy-again lists, ranked as over the whole window (the reorder intervals and the buyers
    of a product are learned from every customer: given by `rhythm`, or from `history`), their rules applied."""
    active = products["product_id"]
    if "active" in products:
        active = active[products["active"].astype(bool)]
    ranked = buy_again_lists(
        _customer_rows(history, customer_ids) if rhythm is not None else history,
        active,
        settings.buy_again_ranking,
        BUY_AGAIN_CANDIDATES_PER_SLOT * settings.buy_again_k,
        BuyAgainSettings(**settings.buy_again_settings),
        as_of=as_of if as_of is not None else publish_as_of(history),  # the window's day, whoever is ranked
        rhythm=rhythm,
    )
    ranked = ranked[ranked["key"].isin(customer_ids)].reset_index(drop=True)
    segment_of = dict(zip(customers["customer_id"].astype(str), customers["segment"], strict=True))
    lists, _ = rule_side_lists(ranked, rules, segment_of, settings.buy_again_k)
    return lists
