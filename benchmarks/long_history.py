"""Benchmark: a 10-year history (3 650 daily partitions, ~1 M order lines) ingested and retrained, and the cost of
one partition.

    .venv/bin/python benchmarks/long_history.py [--years 10] [--lines 1000000]

A `generate --realistic` history (closed weekends and holidays, sparse customers) over `--years` years is written
to a fresh SQLite source (excluded from the timings). Then, in one process and one Dagster instance, the way
`recsys materialize` runs it: the ingest run (raw_orders over every partition as one single-run backfill, with its
checks) and the downstream run (interactions ... published_recommendations). The baseline is a hand-written
loop doing the ingest's core work without Dagster: one query, split by day, one pickle file per day. The
per-partition cost is (ingest - baseline) / partitions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pickle
import platform
import shutil
import tempfile
import time
from pathlib import Path

END_DATE = dt.date(2026, 6, 30)


def baseline_ingest(url: str, folder: Path, first: dt.date, last: dt.date) -> tuple[float, int]:
    """The ingest's core work by hand: read the range in one query, split by day, write one pickle per day."""
    from recsys_assets.core.stores.source_db import SourceDatabase, split_by_day

    started = time.perf_counter()
    keys = [d.strftime("%Y-%m-%d") for d in (first + dt.timedelta(days=i) for i in range((last - first).days + 1))]
    frame = SourceDatabase(url).read_orders(
        dt.datetime.combine(first, dt.time()), dt.datetime.combine(last, dt.time.max)
    )
    by_day = split_by_day(frame, keys)
    folder.mkdir(parents=True)
    for key in keys:
        (folder / key).write_bytes(pickle.dumps(by_day.get(key, frame.iloc[:0]), pickle.HIGHEST_PROTOCOL))
    return time.perf_counter() - started, len(keys)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="recsys-bench-long-"))
    os.environ.update(RECSYS_HOME=str(home), DAGSTER_HOME=str(home / "dagster"), OPENBLAS_NUM_THREADS="1")
    os.environ.pop("RECSYS_PARTITIONS_START", None)
    days = 365 * args.years

    from recsys_assets.core.data.generator import GeneratorConfig, generate
    from recsys_assets.core.stores.source_db import open_for_writing
    from recsys_assets.settings import local_source_url

    started = time.perf_counter()
    # the realistic preset trades on ~65 % of the days: scale the daily mean so the history holds ~args.lines
    config = GeneratorConfig.realistic(
        customers=20_000, products=5_000, days=days, lines_per_day=args.lines // days, seed=1, end_date=END_DATE
    )
    data = generate(config)
    url = local_source_url()
    open_for_writing(url).write_tables({"orders": data.orders, "products": data.products, "customers": data.customers})
    lines = len(data.orders)
    del data
    print(f"generated {lines} order lines over {days} days in {time.perf_counter() - started:.1f}s (excluded)")

    baseline, partitions = baseline_ingest(url, home / "baseline", config.start_date(), END_DATE)

    # imported after the source exists: the partitions start at its first order day, as for a user
    from dagster import DagsterInstance

    from recsys_assets.cli.local_run import materialize_graph

    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    with DagsterInstance.ephemeral() as instance:
        wall_start = time.perf_counter()
        run = materialize_graph(instance=instance, run_config=quiet)
        total = time.perf_counter() - wall_start
        assert run.success
        ingest = _run_seconds(instance, run.master_data.run_id) + _run_seconds(instance, run.ingest.run_id)
        downstream = _run_seconds(instance, run.downstream.run_id)
    cores, memory = os.cpu_count(), os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()
    print(f"\n### Long history: {args.years} years, {partitions} partitions, {lines} order lines")
    print(
        f"machine: {cores} cores, {memory:.0f} GiB RAM, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, {dt.date.today()}, load average at the end {load[0]:.2f}"
    )
    print("\n| phase | wall s |\n|---|---|")
    print(f"| baseline: one query, split by day, {partitions} pickles (no Dagster) | {baseline:.1f} |")
    print(
        f"| ingest run: raw_orders over {partitions} partitions + raw_orders_suite + raw_orders_volume | {ingest:.1f} |"
    )
    print(f"| downstream run: interactions ... published_recommendations | {downstream:.1f} |")
    print(f"| **ingest + retrain (recsys materialize)** | **{total:.1f}** |")
    print(
        f"\nper-partition cost of the ingest over the baseline: {(ingest - baseline) / partitions * 1000:.1f} ms; "
        f"ingest / baseline = {ingest / baseline:.1f}x"
    )
    shutil.rmtree(home, ignore_errors=True)


def _run_seconds(instance, run_id: str) -> float:
    record = instance.get_run_record_by_id(run_id)
    return (record.end_time or 0.0) - (record.start_time or 0.0)


if __name__ == "__main__":
    main()
