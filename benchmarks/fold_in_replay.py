"""Benchmark (issue 23): folded-in lists against the nightly refit, replayed offline on a generated shop.

    .venv/bin/python benchmarks/fold_in_replay.py              (scale S, the sparse `realistic` shop, the same x10)
    .venv/bin/python benchmarks/fold_in_replay.py --scale M    (scale M and the sparse shop x10)
    options: --holdout-days 14 --event-days 3 --k 10 --repeats 3

Each shop is generated, cleaned and cut in time: the model of day T is trained on the orders before the last
`--holdout-days` days; the hold-out's first `--event-days` days are replayed as new order lines ("events"), the
rest of it is the evaluation period. Per model family (the default ALS config and the default item_knn) these
lists are built for the customers with events:

- fold-in: the model of day T with the event customers folded in (`folded_model`: ALS solves their factors again
  against the fixed item factors, kNN ranks from the updated purchases), their lists by `recommend_for_customers`;
- refit: the same config trained on the orders up to the end of the events (what the next nightly run serves);
- no update: the model of day T, the events ignored (its already-bought filter is the one of day T);
- control: the event customers solved again on the history of day T, without their events (for ALS: what the exact
  solve alone changes against the fit's factors; for kNN and popularity the lists of no update).

All are scored with MAP@K and recall@K on the same customers: those with events who buy, in the evaluation
period, a product they had not bought before it (events included) among the products the refit knows; what a
customer had bought is not relevant, as `holdout_relevance` does with `exclude_purchased`. The paired difference
fold-in - refit gets a 95 % bootstrap interval over customers (`bootstrap_intervals`, customers resampled jointly).
Timings (best of `--repeats`): folding every event customer and building their lists (and, apart, the production
path `fold_in_lists` with explanations and buy-again lists, no rules) against the refit (`train`: index + fit) and
the same customers' lists, in the same process.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit's ALS threads itself; nested BLAS threads slow it

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from recsys_assets.core.data.cleaning import CleaningRules, clean_orders  # noqa: E402
from recsys_assets.core.data.generator import GeneratorConfig, generate  # noqa: E402
from recsys_assets.core.data.split import NOISE_BELOW_CUSTOMERS  # noqa: E402
from recsys_assets.core.modeling.candidates import TrainingConfig  # noqa: E402
from recsys_assets.core.modeling.fold_in import ListSettings, fold_in_lists, folded_model  # noqa: E402
from recsys_assets.core.modeling.matrix import IdMap, binary  # noqa: E402
from recsys_assets.core.modeling.metrics import bootstrap_intervals, per_user_metrics  # noqa: E402
from recsys_assets.core.modeling.training import (  # noqa: E402
    TrainedModel,
    inactive_item_indices,
    recommend_for_customers,
    train,
)
from recsys_assets.core.rules.rule_data import RuleTables  # noqa: E402

END_DATE = dt.date(2026, 6, 30)
GENERATOR_SEED = 1
BOOTSTRAP_SEED = 0
# the dense shops of benchmarks/run_graph.py and sparse shops (closed days, most customers ordering a few times a
# year: the generator's realistic preset): the preset has too few customers with events for a verdict, so it is also
# run with ten times the customers and order lines
SPARSE_X10 = ("realistic x10", GeneratorConfig.realistic(customers=25_000, lines_per_day=400))
SHOPS = {
    "S": [
        ("S", GeneratorConfig(customers=5_000, products=5_000, days=120, lines_per_day=834)),
        ("realistic", GeneratorConfig.realistic()),
        SPARSE_X10,
    ],
    "M": [("M", GeneratorConfig(customers=50_000, products=20_000, days=365, lines_per_day=2_740)), SPARSE_X10],
}
FAMILIES = {"als": TrainingConfig(), "item_knn": TrainingConfig(model="item_knn")}


@dataclass
class Replay:
    """The interactions cut at day T (`train`), the replayed events (T to T + event days) and the evaluation
    period (the rest of the hold-out)."""

    train: pd.DataFrame
    events: pd.DataFrame
    evaluation: pd.DataFrame
    cutoff: pd.Timestamp  # first moment after day T
    events_end: pd.Timestamp  # first moment of the evaluation period

    @property
    def history(self) -> pd.DataFrame:
        """What the fold-in and the refit see: the training orders and the events."""
        return pd.concat([self.train, self.events], ignore_index=True)


def replay_split(interactions: pd.DataFrame, holdout_days: int, event_days: int) -> Replay:
    """The last `holdout_days` days (counted from midnight after the last order) held out, their first
    `event_days` days replayed as events."""
    if not 0 < event_days < holdout_days:
        raise ValueError(f"event days must be between 1 and the hold-out's {holdout_days} - 1, got {event_days}")
    end = interactions["order_ts"].max().normalize() + pd.Timedelta(days=1)
    cutoff = end - pd.Timedelta(days=holdout_days)
    events_end = cutoff + pd.Timedelta(days=event_days)
    ts = interactions["order_ts"]
    part = lambda mask: interactions[mask.to_numpy()].reset_index(drop=True)  # noqa: E731
    return Replay(
        part(ts < cutoff), part((ts >= cutoff) & (ts < events_end)), part(ts >= events_end), cutoff, events_end
    )


def evaluation_relevance(replay: Replay, customers: IdMap, items: IdMap) -> sp.csr_matrix:
    """customers x items: 1 where the customer buys the product in the evaluation period and had not bought it
    before (events included): what a list that leaves out the bought products can still find."""
    relevant = binary(replay.evaluation, customers, items)
    relevant = relevant - relevant.multiply(binary(replay.history, customers, items))
    relevant.eliminate_zeros()
    return relevant.tocsr()


def list_matrix(lists: pd.DataFrame, customers: IdMap, items: IdMap, k: int) -> np.ndarray:
    """The lists (customer_id, rank, product_id rows) as an (n customers x k) array of `items` indices, -1 for an
    empty slot or a product outside `items`."""
    matrix = np.full((len(customers), k), -1, dtype=np.int64)
    rows = customers.index_of(lists["customer_id"])
    keep = (rows >= 0) & (lists["rank"].to_numpy() <= k)
    matrix[rows[keep], lists["rank"].to_numpy()[keep] - 1] = items.index_of(lists["product_id"])[keep]
    return matrix


def lists_of(model: TrainedModel, customer_ids: list[str], products: pd.DataFrame, k: int) -> pd.DataFrame:
    """Top-k lists as the publish ranks them before the rules: bought and inactive products left out."""
    return recommend_for_customers(
        model, pd.Series(customer_ids, dtype=object), k, True, inactive_item_indices(model, products)
    )


def verdict(low: float, high: float, n: int) -> str:
    if n < NOISE_BELOW_CUSTOMERS:
        return f"n < {NOISE_BELOW_CUSTOMERS}: noise"
    if high < 0:
        return "significant loss"
    if low > 0:
        return "significant gain"
    return "no significant loss"


def replay_family(family: str, replay: Replay, data, k: int, repeats: int) -> dict:
    """The three lists of one family scored on the same customers, with the timings."""
    config = FAMILIES[family]
    history = replay.history
    event_customers = sorted({str(c) for c in replay.events["customer_id"]})
    nightly = train(replay.train, config)

    # each side's cost to give the event customers new lists: the model update, then their lists (best of
    # `repeats`: the machine is shared)
    refit, refit_lists, refit_model_seconds, refit_seconds = _timed(
        repeats, lambda: train(history, config), lambda m: lists_of(m, event_customers, data.products, k)
    )
    folded, folded_lists, fold_model_seconds, fold_seconds = _timed(
        repeats,
        lambda: folded_model(nightly, history, event_customers),
        lambda m: lists_of(m, event_customers, data.products, k),
    )
    production, _, production_seconds, _ = _timed(
        repeats,
        lambda: fold_in_lists(
            nightly,
            "replay",
            history,
            event_customers,
            data.products,
            data.customers,
            RuleTables(),
            ListSettings(k=k),
            replay.events_end.date(),
        ),  # fmt: skip
        lambda m: None,
    )

    # the customers scored: with events and with something new to find in the evaluation period
    candidates = IdMap(pd.Index(event_customers, dtype=object))
    relevant = evaluation_relevance(replay, candidates, refit.items)
    scored = np.flatnonzero(np.diff(relevant.indptr) > 0)
    customers = IdMap(candidates.ids[scored])
    relevant = relevant[scored]
    ids = list(customers.ids)
    lists = {
        "fold": folded_lists,
        "refit": refit_lists,
        "none": lists_of(nightly, ids, data.products, k),
        # control: the customers folded on the history of day T (no event): what solving again alone changes
        "control": lists_of(folded_model(nightly, replay.train, ids), ids, data.products, k),
    }
    values = {
        name: per_user_metrics(list_matrix(frame, customers, refit.items, k), relevant, k)
        for name, frame in lists.items()
    }
    samples = {}
    for metric in ("map", "recall"):
        for name in lists:
            samples[f"{name}_{metric}"] = values[name][metric]
        samples[f"fold_minus_refit_{metric}"] = values["fold"][metric] - values["refit"][metric]
        samples[f"fold_minus_none_{metric}"] = values["fold"][metric] - values["none"][metric]
        samples[f"refit_minus_none_{metric}"] = values["refit"][metric] - values["none"][metric]
        samples[f"control_minus_none_{metric}"] = values["control"][metric] - values["none"][metric]
    intervals = bootstrap_intervals(samples, 0.95, seed=BOOTSTRAP_SEED)
    same = _same_lists(folded_lists, production.for_you, event_customers)
    no_update_lists = lists_of(nightly, event_customers, data.products, k)
    changed = 1.0 - _same_lists(folded_lists, no_update_lists, event_customers)
    known = [c for c in event_customers if nightly.users.index_of(np.asarray([c], dtype=object))[0] >= 0]
    control_lists = lists_of(folded_model(nightly, replay.train, known), known, data.products, k)
    changed_without_events = 1.0 - _same_lists(control_lists, no_update_lists, known)
    same_sets_without_events = _same_lists(control_lists, no_update_lists, known, ordered=False)
    diff = intervals["fold_minus_refit_map"]
    return {
        "family": family,
        "event_customers": len(event_customers),
        "new_customers": int(np.count_nonzero(nightly.users.index_of(np.asarray(event_customers, dtype=object)) < 0)),
        "n": len(ids),
        "intervals": intervals,
        "verdict": verdict(diff.low, diff.high, len(ids)),
        "fold_seconds": fold_seconds,
        "fold_model_seconds": fold_model_seconds,
        "refit_model_seconds": refit_model_seconds,
        "production_seconds": production_seconds,
        "refit_seconds": refit_seconds,
        "same_as_production": same,
        "changed_by_fold": changed,
        "changed_without_events": changed_without_events,
        "same_sets_without_events": same_sets_without_events,
    }


def _timed(repeats: int, update, lists_of_update):
    """(update's result, its lists, best seconds of the update, best seconds of update + lists) over `repeats` runs."""
    best_update = best_total = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        updated = update()
        update_seconds = time.perf_counter() - started
        lists = lists_of_update(updated)
        best_update = min(best_update, update_seconds)
        best_total = min(best_total, time.perf_counter() - started)
    return updated, lists, best_update, best_total


def _same_lists(first: pd.DataFrame, second: pd.DataFrame, customer_ids: list[str], ordered: bool = True) -> float:
    """Share of `customer_ids` whose two lists hold the same products (in the same order if `ordered`)."""
    kind = tuple if ordered else frozenset
    products = lambda f: f.sort_values(["customer_id", "rank"]).groupby("customer_id")["product_id"].agg(kind)  # noqa: E731
    a, b = products(first), products(second)
    return float(np.mean([a.get(c, ()) == b.get(c, ()) for c in customer_ids])) if customer_ids else float("nan")


def prepare_shop(config: GeneratorConfig):
    data = generate(config)
    interactions = clean_orders(
        data.orders, data.products, data.customers, CleaningRules(as_of=pd.Timestamp(END_DATE) + pd.Timedelta(days=1))
    ).interactions
    return data, interactions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=sorted(SHOPS), default="S")
    parser.add_argument("--holdout-days", type=int, default=14)
    parser.add_argument("--event-days", type=int, default=3)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="timings: best of this many runs")
    args = parser.parse_args()
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"load before: {_uptime()}")
    print(
        f"seeds: generator {GENERATOR_SEED}, ALS random_state {FAMILIES['als'].als.random_state}, "
        f"bootstrap {BOOTSTRAP_SEED}; OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}"
    )
    rows = []
    wall = time.perf_counter()
    for shop, base in SHOPS[args.scale]:
        config = dataclasses.replace(base, seed=GENERATOR_SEED, end_date=END_DATE)
        data, interactions = prepare_shop(config)
        replay = replay_split(interactions, args.holdout_days, args.event_days)
        print(
            f"\n{shop}: {len(interactions)} interactions; day T = {(replay.cutoff - pd.Timedelta(days=1)).date()}, "
            f"events {replay.cutoff.date()} to {(replay.events_end - pd.Timedelta(days=1)).date()} "
            f"({len(replay.events)} interactions), evaluation from {replay.events_end.date()} "
            f"({len(replay.evaluation)} interactions)"
        )
        for family in FAMILIES:
            result = replay_family(family, replay, data, args.k, args.repeats)
            rows.append((shop, result))
            print(_describe(result, args.k))
    print(f"\nwall {time.perf_counter() - wall:.0f}s; load after: {_uptime()}")
    print(_table(rows, args.k))


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _iv(interval) -> str:
    return f"{interval.mean:+.4f} [{interval.low:+.4f}, {interval.high:+.4f}]"


def _describe(r: dict, k: int) -> str:
    iv = r["intervals"]
    return (
        f"  {r['family']}: {r['event_customers']} event customers ({r['new_customers']} new to the model of day T), "
        f"{r['n']} scored\n"
        f"    MAP@{k}: fold-in {iv['fold_map'].mean:.4f}, refit {iv['refit_map'].mean:.4f}, "
        f"no update {iv['none_map'].mean:.4f}; fold - refit {_iv(iv['fold_minus_refit_map'])} ({r['verdict']}); "
        f"fold - no update {_iv(iv['fold_minus_none_map'])}; refit - no update {_iv(iv['refit_minus_none_map'])}\n"
        f"    recall@{k}: fold-in {iv['fold_recall'].mean:.4f}, refit {iv['refit_recall'].mean:.4f}, "
        f"no update {iv['none_recall'].mean:.4f}; fold - refit {_iv(iv['fold_minus_refit_recall'])}; "
        f"fold - no update {_iv(iv['fold_minus_none_recall'])}; "
        f"refit - no update {_iv(iv['refit_minus_none_recall'])}\n"
        f"    seconds: fold {r['fold_model_seconds']:.3f} + lists = {r['fold_seconds']:.3f} "
        f"(fold_in_lists {r['production_seconds']:.3f}); refit {r['refit_model_seconds']:.3f} + lists = "
        f"{r['refit_seconds']:.3f}; fold / refit {r['fold_seconds'] / r['refit_seconds']:.2f}\n"
        f"    control, the customers solved again without their events: MAP@{k} {iv['control_map'].mean:.4f} "
        f"(- no update {_iv(iv['control_minus_none_map'])}), recall@{k} {iv['control_recall'].mean:.4f}; "
        f"it reorders {r['changed_without_events']:.1%} of the known "
        f"event customers' lists, {1 - r['same_sets_without_events']:.1%} get other products\n"
        f"    the fold changed the lists of {r['changed_by_fold']:.1%} of the event customers; "
        f"fold_in_lists (no rules) gives the benchmark's folded lists for {r['same_as_production']:.1%} of them"
    )


def _table(rows, k: int) -> str:
    lines = [
        f"\n| shop | family | n scored (event customers) | MAP@{k} fold-in | refit | no update "
        f"| fold-in - refit [95 % CI] | verdict | recall@{k} fold-in / refit / no update "
        f"| fold s (fold_in_lists s) | refit s | fold / refit |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for shop, r in rows:
        iv = r["intervals"]
        lines.append(
            f"| {shop} | {r['family']} | {r['n']} ({r['event_customers']}) "
            f"| {iv['fold_map'].mean:.4f} | {iv['refit_map'].mean:.4f} | {iv['none_map'].mean:.4f} "
            f"| {_iv(iv['fold_minus_refit_map'])} | {r['verdict']} "
            f"| {iv['fold_recall'].mean:.4f} / {iv['refit_recall'].mean:.4f} / {iv['none_recall'].mean:.4f} "
            f"| {r['fold_seconds']:.3f} ({r['production_seconds']:.3f}) | {r['refit_seconds']:.3f} "
            f"| {r['fold_seconds'] / r['refit_seconds']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
