"""Benchmark: publishing the three lists (for you, buy again, related) against the "for you" list alone, at scale M,
on the local SQLite store (issue 24: goal at most 1.5x).

    .venv/bin/python benchmarks/publish_lists.py [--rounds 3] [--profile]

Builds lists of scale M's shape (not timed): 50 000 customers x 10 "for you" items with their explanations (reason
and a JSON array of bought products), 50 000 customers x 4 buy-again items, 20 000 products x 10 bought-together
and x 10 similar items (600 000 side-list rows), with the repeated explanation sentences the list builders write.
Then times what `published_recommendations` does with them — the version hash over the lists and
`LocalRecommendationStore.publish` into a store that already holds the previous version — alternately for the
"for you" list alone and for the three lists, `--rounds` times each, in one process. Prints each run, the medians,
their ratio, the machine (cores, RAM) and the load average before and after. `--profile` prints the cProfile of
one three-list publish instead.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CUSTOMERS, PRODUCTS, FOR_YOU_K, BUY_AGAIN_K, RELATED_K = 50_000, 20_000, 10, 4, 10


def scale_m_lists(seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """("for you" lists, side lists) of scale M's shape, as the list builders hand them to the publish step."""
    rng = np.random.default_rng(seed)
    customers = np.array([f"C{i:06d}" for i in range(CUSTOMERS)], dtype=object)
    products = np.array([f"P{i:06d}" for i in range(PRODUCTS)], dtype=object)
    rows = CUSTOMERS * FOR_YOU_K
    because = rng.integers(0, PRODUCTS, size=(rows, 2))
    for_you = pd.DataFrame(
        {
            "customer_id": np.repeat(customers, FOR_YOU_K),
            "rank": np.tile(np.arange(1, FOR_YOU_K + 1), CUSTOMERS),
            "product_id": products[rng.integers(0, PRODUCTS, rows)],
            "score": rng.random(rows),
            "source": "als",
            "model_version": "bench-1",
            "reason": "because_you_bought",
            "because": [f'["{products[a]}", "{products[b]}"]' for a, b in because],
        }
    )
    every = rng.integers(1, 13, CUSTOMERS * BUY_AGAIN_K)
    ago = rng.integers(1, 20, CUSTOMERS * BUY_AGAIN_K)
    buy_again = pd.DataFrame(
        {
            "list": "buy_again",
            "key": np.repeat(customers, BUY_AGAIN_K),
            "rank": np.tile(np.arange(1, BUY_AGAIN_K + 1), CUSTOMERS),
            "product_id": products[rng.integers(0, PRODUCTS, CUSTOMERS * BUY_AGAIN_K)],
            "score": rng.random(CUSTOMERS * BUY_AGAIN_K),
            "source": "due",
            "reason": "reorder",
            "explanation": [
                f"you buy this every ~{e} weeks; last bought {a} weeks ago" for e, a in zip(every, ago, strict=True)
            ],
        }
    )
    related = []
    for kind, sentence in (("bought_together", "bought together with {} in {} % of orders"), ("similar", None)):
        n = PRODUCTS * RELATED_K
        shares = rng.integers(1, 60, n)
        queries = np.repeat(products, RELATED_K)
        related.append(
            pd.DataFrame(
                {
                    "list": kind,
                    "key": queries,
                    "rank": np.tile(np.arange(1, RELATED_K + 1), PRODUCTS),
                    "product_id": products[rng.integers(0, PRODUCTS, n)],
                    "score": rng.random(n),
                    "source": kind,
                    "reason": kind,
                    "explanation": (
                        [sentence.format(q, s) for q, s in zip(queries, shares, strict=True)]
                        if sentence
                        else "bought by the same kind of customers"
                    ),
                }
            )
        )
    return for_you, pd.concat([buy_again, *related], ignore_index=True)


def publish_once(
    store_path: Path, round_no: int, for_you: pd.DataFrame, side: pd.DataFrame | None
) -> tuple[float, float]:
    """(wall, CPU) seconds of the publish step: version hash and store publish (the store holds one earlier
    version). CPU time is the process's own: on a shared machine it moves far less with the load than wall time."""
    from recsys_assets.assets.publishing import publish_version
    from recsys_assets.core.stores.store import LocalRecommendationStore

    store = LocalRecommendationStore(store_path)
    start, cpu = time.perf_counter(), time.process_time()
    frames = () if side is None else (side,)
    version = publish_version(f"bench-{round_no}", for_you, *frames)
    store.publish(version, for_you, {"model_version": f"bench-{round_no}"}, keep_versions=3, side_lists=side)
    return time.perf_counter() - start, time.process_time() - cpu


def fresh_store(folder: Path, name: str, for_you: pd.DataFrame, side: pd.DataFrame | None) -> Path:
    """A store file holding one earlier version (published, not timed), as a nightly publish finds it."""
    path = folder / f"{name}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    publish_once(path, 0, for_you.assign(score=for_you["score"] * 0.5), side)
    return path


def machine() -> str:
    memory = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    gib = int(memory.split()[1]) / 2**20
    return f"{platform.machine()}, {os.cpu_count()} cores, {gib:.0f} GiB RAM, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile one three-list publish instead")
    args = parser.parse_args()
    for_you, side = scale_m_lists()
    print(f"lists: {len(for_you)} for-you rows, {len(side)} side-list rows ({side['list'].value_counts().to_dict()})")
    folder = Path(tempfile.mkdtemp(prefix="recsys-publish-lists-"))
    try:
        if args.profile:
            path = fresh_store(folder, "three", for_you, side)
            profiler = cProfile.Profile()
            profiler.enable()
            publish_once(path, 1, for_you, side)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            return
        print(f"machine: {machine()}; load average before {os.getloadavg()}")
        times: dict[str, list[tuple[float, float]]] = {"for_you": [], "three": []}
        for round_no in range(1, args.rounds + 1):
            for name, lists in (("for_you", None), ("three", side)):
                path = fresh_store(folder, name, for_you, lists)
                wall, cpu = publish_once(path, round_no, for_you, lists)
                times[name].append((wall, cpu))
                load = os.getloadavg()[0]
                print(f"round {round_no} {name:8s} wall {wall:6.2f} s  CPU {cpu:6.2f} s  (load {load:.1f})", flush=True)
        for index, what in ((0, "wall"), (1, "CPU")):
            single = statistics.median(t[index] for t in times["for_you"])
            three = statistics.median(t[index] for t in times["three"])
            ratio = three / single
            print(f"median {what}: for you alone {single:.2f} s, three lists {three:.2f} s, ratio {ratio:.2f}x")
        print(f"load average after {os.getloadavg()}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
