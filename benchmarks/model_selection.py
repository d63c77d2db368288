"""Benchmark (issue 7): the default model-selection grid against the single-ALS `als_model` at scale M.

Scale M: 1 M order lines, 50 000 customers, 20 000 products, 365 days. Both paths start from the same cleaned
interactions and the same 14-day hold-out split:

- single ALS: what `als_model` did before selection (select_model: false): fit the configured ALS on the
  training part, refit it on all interactions;
- selection: the default grid of `ModelConfig` (validation split, every candidate fitted and scored), then
  the winner fitted on the training part and on all interactions.

The requirement: selection adds at most 3x the single-ALS time. Prints a markdown report (per-candidate fit
and scoring times) for benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/model_selection.py [--interactions cached.parquet] [--repeat 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pandas as pd  # noqa: E402

from recsys_assets.assets.modeling import ModelConfig  # noqa: E402
from recsys_assets.core.data.cleaning import CleaningRules, clean_orders  # noqa: E402
from recsys_assets.core.data.generator import GeneratorConfig, generate  # noqa: E402
from recsys_assets.core.data.split import temporal_split  # noqa: E402
from recsys_assets.core.modeling.selection import select_model  # noqa: E402
from recsys_assets.core.modeling.training import train  # noqa: E402

SCALE_M = GeneratorConfig(
    customers=50_000, products=20_000, days=365, lines_per_day=2_740, seed=1, end_date=dt.date(2026, 6, 30)
)


def interactions_m(cache: Path | None) -> pd.DataFrame:
    if cache is not None and cache.exists():
        return pd.read_parquet(cache)
    data = generate(SCALE_M)
    interactions = clean_orders(data.orders, data.products, data.customers, CleaningRules(as_of=None)).interactions
    if cache is not None:
        interactions.to_parquet(cache)
    return interactions


def single_als(config: ModelConfig, split, interactions) -> float:
    started = time.perf_counter()
    train(split.train, config.training_config())
    train(interactions, config.training_config())
    return time.perf_counter() - started


def with_selection(config: ModelConfig, split, interactions):
    started = time.perf_counter()
    selection = select_model(split.train, config.candidate_grid(), config.selection_settings())
    winner = selection.winner_config
    train(split.train, winner)
    train(interactions, winner)
    return time.perf_counter() - started, selection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=Path, default=None, help="parquet cache of the cleaned M data")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    interactions = interactions_m(args.interactions)
    split = temporal_split(interactions, 14)
    config = ModelConfig()
    print(f"# interactions {len(interactions)}, train {len(split.train)}, test {len(split.test)}")
    for attempt in range(args.repeat):
        baseline = single_als(config, split, interactions)
        total, selection = with_selection(config, split, interactions)
        added = total - baseline
        print(f"\n## run {attempt + 1}")
        print(f"- machine: {os.cpu_count()} cores, {platform.python_version()}, shared with other jobs")
        print(f"- single-ALS als_model (fit on train + refit on all): {baseline:.1f} s")
        print(
            f"- with selection ({len(selection.candidates)} candidates, {selection.validation_customers} "
            f"validation customers): {total:.1f} s, of which selection {selection.seconds:.1f} s"
        )
        print(f"- added by selection: {added:.1f} s = {added / baseline:.2f}x single ALS (limit 3x)")
        print(f"- whole als_model with selection = {total / baseline:.2f}x single ALS")
        print(f"- winner: {selection.winner} ({selection.reason})\n")
        print(selection.to_markdown())


if __name__ == "__main__":
    main()
