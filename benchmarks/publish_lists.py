"""Benchmark: publishing the three lists (for you, buy again, related) against today's single list — the "for
you" list published by the code before the three lists existed — at scale M, on the local SQLite store (issue 24:
goal at most 1.5x).

    .venv/bin/python benchmarks/publish_lists.py [--rounds 3] [--baseline-ref 1a665b7^] [--profile]

Builds lists of scale M's shape (not timed): 50 000 customers x 10 "for you" items with their explanations (reason
and a JSON array of bought products), 50 000 customers x 4 buy-again items, 20 000 products x 10 bought-together
and x 10 similar items (600 000 side-list rows), with the repeated explanation sentences the list builders write.
Then times what `published_recommendations` does with them — the version hash over the lists and
`LocalRecommendationStore.publish` into a store that already holds the previous version — three ways, alternately,
`--rounds` times each, each publish in a fresh process: "today" (the "for you" lists alone, by the code of
`--baseline-ref`, extracted with `git archive`: main before the three lists were merged), "for_you" (the "for you"
lists alone, by this checkout) and "three" (the three lists, by this checkout). Prints each run, the medians, the
ratios, the machine (cores, RAM) and the load average before and after. `--profile` prints the cProfile of one
three-list publish instead.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CUSTOMERS, PRODUCTS, FOR_YOU_K, BUY_AGAIN_K, RELATED_K = 50_000, 20_000, 10, 4, 10
BASELINE_REF = "1a665b7^"  # main just before the three lists were merged: today's single-list publish
WAYS = ("today", "for_you", "three")


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
    version). CPU time is the process's own: on a shared machine it moves far less with the load than wall time.
    Works with the code of today's single list too (no side lists: the older signatures)."""
    from recsys_assets.assets.publishing import publish_version
    from recsys_assets.core.stores.store import LocalRecommendationStore

    store = LocalRecommendationStore(store_path)
    extra = {} if side is None else {"side_lists": side}
    start, cpu = time.perf_counter(), time.process_time()
    version = publish_version(f"bench-{round_no}", for_you, *([] if side is None else [side]))
    store.publish(version, for_you, {"model_version": f"bench-{round_no}"}, keep_versions=3, **extra)
    return time.perf_counter() - start, time.process_time() - cpu


def measure_in_this_process(folder: Path, way: str, round_no: int) -> None:
    """One timed publish of `way` (the lists pickled in `folder`), into a store holding one earlier version; prints
    {"wall": s, "cpu": s}."""
    for_you = pd.read_pickle(folder / "for_you.pkl")
    side = pd.read_pickle(folder / "side.pkl") if way == "three" else None
    path = folder / f"{way}-{round_no}.sqlite"
    publish_once(path, 0, for_you.assign(score=for_you["score"] * 0.5), side)  # the earlier version, not timed
    wall, cpu = publish_once(path, round_no, for_you, side)
    print(json.dumps({"wall": wall, "cpu": cpu}))


def measure(code: Path, folder: Path, way: str, round_no: int) -> tuple[float, float]:
    """(wall, CPU) of one publish of `way` in a fresh process running the code under `code`."""
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", way, "--lists", str(folder)]
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run([*command, "--round", str(round_no)], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{way} round {round_no} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["wall"], result["cpu"]


def code_at(ref: str, folder: Path) -> Path:
    """`recsys_assets` as it was at `ref` (git archive), under `folder`."""
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(root), "archive", ref, "recsys_assets"], capture_output=True, check=True)
    folder.mkdir()
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def machine() -> str:
    memory = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    gib = int(memory.split()[1]) / 2**20
    return f"{platform.machine()}, {os.cpu_count()} cores, {gib:.0f} GiB RAM, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-ref", default=BASELINE_REF, help="the commit whose code publishes today's list")
    parser.add_argument("--profile", action="store_true", help="profile one three-list publish instead")
    parser.add_argument("--measure", choices=WAYS, help=argparse.SUPPRESS)  # the child process of one publish
    parser.add_argument("--lists", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--round", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure_in_this_process(args.lists, args.measure, args.round)
        return
    for_you, side = scale_m_lists()
    print(f"lists: {len(for_you)} for-you rows, {len(side)} side-list rows ({side['list'].value_counts().to_dict()})")
    folder = Path(tempfile.mkdtemp(prefix="recsys-publish-lists-"))
    try:
        if args.profile:
            path = folder / "three.sqlite"
            publish_once(path, 0, for_you.assign(score=for_you["score"] * 0.5), side)
            profiler = cProfile.Profile()
            profiler.enable()
            publish_once(path, 1, for_you, side)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            return
        for_you.to_pickle(folder / "for_you.pkl")
        side.to_pickle(folder / "side.pkl")
        codes = {"today": code_at(args.baseline_ref, folder / "today-code")}
        codes["for_you"] = codes["three"] = Path(__file__).resolve().parents[1]
        print(f"machine: {machine()}; load average before {os.getloadavg()}")
        print(f"today: the code of {args.baseline_ref}; for_you and three: this checkout")
        times: dict[str, list[tuple[float, float]]] = {way: [] for way in WAYS}
        for round_no in range(1, args.rounds + 1):
            for way in WAYS:
                wall, cpu = measure(codes[way], folder, way, round_no)
                times[way].append((wall, cpu))
                load = os.getloadavg()[0]
                print(f"round {round_no} {way:8s} wall {wall:6.2f} s  CPU {cpu:6.2f} s  (load {load:.1f})", flush=True)
        for index, what in ((0, "wall"), (1, "CPU")):
            median = {way: statistics.median(t[index] for t in times[way]) for way in WAYS}
            print(f"median {what}: " + ", ".join(f"{way} {median[way]:.2f} s" for way in WAYS))
            print(f"  three lists / today's single list {median['three'] / median['today']:.2f}x; "
                  f"three / for you alone (this code) {median['three'] / median['for_you']:.2f}x; "
                  f"for you alone: this code / today's {median['for_you'] / median['today']:.2f}x")  # fmt: skip
        print(f"load average after {os.getloadavg()}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
