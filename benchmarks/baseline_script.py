"""The hand-written baseline of the graph benchmark: the graph's core work as one plain script, no Dagster.

    .venv/bin/python benchmarks/baseline_script.py SOURCE_URL OUT_DIR

read the orders, products and customers (one query each) → clean (cancelled lines, duplicates, unknown ids,
absurd quantities, credit notes netted) → sparse customer × product matrix → one ALS fit (the graph's defaults:
32 factors, regularization 1.0, 15 iterations, log confidence) on all but the last 14 days → MAP@10 on the
customers who bought in those days → refit on everything → recommend 10 per customer → write them to SQLite.

It uses the same libraries as the project (pandas, SQLAlchemy, scipy, implicit) and none of its code, so the
ratio graph / baseline in benchmarks/RESULTS.md is what the product adds: validation suites, the model selection,
intervals, explanations, events and storage of every step. `run_graph.py --baseline` runs it first and reports
the ratio. Prints one JSON line: seconds per phase, the MAP@10 and the peak RSS.
"""

from __future__ import annotations

import json
import resource
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from sqlalchemy import create_engine
from threadpoolctl import threadpool_limits

K, TEST_DAYS, MAX_QUANTITY = 10, 14, 10_000


def clean(orders: pd.DataFrame, products: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    orders = orders[orders["order_status"].fillna("") != "cancelled"].drop_duplicates()
    orders = orders.dropna(subset=["customer_id", "product_id"])
    orders = orders[orders["customer_id"].isin(customers["customer_id"])]
    orders = orders[orders["product_id"].isin(products["product_id"])]
    orders = orders[orders["quantity"].abs() <= MAX_QUANTITY]
    # credit notes: net the quantities per customer and product, keep what was bought in the end
    net = orders.groupby(["customer_id", "product_id"], as_index=False).agg(
        quantity=("quantity", "sum"), last_ts=("order_ts", "max"), first_ts=("order_ts", "min")
    )
    return net[net["quantity"] > 0]


def matrix(pairs: pd.DataFrame, users: pd.Index, items: pd.Index) -> sp.csr_matrix:
    rows = users.get_indexer(pairs["customer_id"])
    cols = items.get_indexer(pairs["product_id"])
    values = np.log1p(pairs["quantity"].to_numpy(dtype=np.float32))
    return sp.csr_matrix((values, (rows, cols)), shape=(len(users), len(items)), dtype=np.float32)


def fit(user_items: sp.csr_matrix) -> AlternatingLeastSquares:
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=32, regularization=1.0, iterations=15, random_state=42)
    model.fit(user_items, show_progress=False)
    return model


def map_at_k(recommended: np.ndarray, truth: list[set[int]]) -> float:
    scores = []
    for row, relevant in zip(recommended, truth, strict=True):
        hits, total = 0, 0.0
        for rank, item in enumerate(row, start=1):
            if item in relevant:
                hits += 1
                total += hits / rank
        scores.append(total / min(len(relevant), K))
    return float(np.mean(scores)) if scores else 0.0


def main(source_url: str, out_dir: str) -> None:
    phases, started = {}, time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        phases[name] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()

    engine = create_engine(source_url)
    with engine.connect() as connection:
        # Arrow-backed columns: what an experienced pandas user picks for 10 M strings (cleaning runs in C++)
        arrow = {"dtype_backend": "pyarrow"}
        orders = pd.read_sql("SELECT * FROM orders", connection, parse_dates=["order_ts"], **arrow)
        products = pd.read_sql("SELECT product_id FROM products", connection, **arrow)
        customers = pd.read_sql("SELECT customer_id FROM customers", connection, **arrow)
    lap("read")
    pairs = clean(orders, products, customers)
    del orders
    users, items = pd.Index(customers["customer_id"].unique()), pd.Index(products["product_id"].unique())
    lap("clean")

    cut = pairs["last_ts"].max().normalize() - pd.Timedelta(days=TEST_DAYS)
    train, test = pairs[pairs["first_ts"] < cut], pairs[pairs["first_ts"] >= cut]
    model = fit(matrix(train, users, items))
    lap("fit (training part)")
    train_matrix = matrix(train, users, items)
    truth = pd.Series(items.get_indexer(test["product_id"])).groupby(users.get_indexer(test["customer_id"])).agg(set)
    evaluated = truth.index.to_numpy()
    recommended, _ = model.recommend(evaluated, train_matrix[evaluated], N=K, filter_already_liked_items=True)
    score = map_at_k(recommended, list(truth))
    lap("MAP@10 on the last 14 days")

    everything = matrix(pairs, users, items)
    model = fit(everything)
    lap("fit (all data)")
    ids, scores = model.recommend(np.arange(len(users)), everything, N=K, filter_already_liked_items=True)
    lists = pd.DataFrame(
        {
            "customer_id": np.repeat(users.to_numpy(), ids.shape[1]),
            "rank": np.tile(np.arange(1, ids.shape[1] + 1), len(users)),
            "product_id": items.to_numpy()[ids.ravel()],
            "score": scores.ravel(),
        }
    )
    lap("recommend all")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(Path(out_dir) / "baseline.sqlite") as connection:
        lists.to_sql("recommendations", connection, if_exists="replace", index=False)
    lap("write")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"phases": phases, "map@10": round(score, 4), "evaluated": len(evaluated), "peak_rss": peak}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
