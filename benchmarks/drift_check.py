"""Benchmark: one data-drift check of 1 M current order lines against 1 M reference lines.

Measures what a drift check does after reading the lines: purchase-line filter, reference profile, order
features of both sides (leave-one-out for the reference), fixed-seed sampling and the Evidently report, plus
writing the HTML report. Generation of the synthetic lines is not timed. Run: `.venv/bin/python
benchmarks/drift_check.py [--lines 1000000] [--sample-size 100000]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import tempfile
import time

import pandas as pd

from monitoring.config import DriftThresholds
from monitoring.drift import run_drift_check
from monitoring.features import (
    CATEGORICAL_FEATURES,
    NUMERICAL_FEATURES,
    order_features,
    purchase_lines,
    reference_profile,
)
from monitoring.reports import write_report
from recsys_assets.core.data.generator import GeneratorConfig, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000, help="order lines per side")
    parser.add_argument("--sample-size", type=int, default=DriftThresholds().sample_size)
    parser.add_argument("--drift-kind", default="category_surge")
    args = parser.parse_args()

    days = 100
    end = dt.date(2026, 6, 30)
    drift_start = end - dt.timedelta(days=days // 2 - 1)
    started = time.perf_counter()
    data = generate(
        GeneratorConfig(
            customers=50_000,
            products=20_000,
            days=days,
            lines_per_day=2 * args.lines // days,
            seed=1,
            end_date=end,
            drift_start=drift_start,
            drift_kind=args.drift_kind,
        )
    )
    cut = data.orders["order_ts"] < pd.Timestamp(drift_start)
    reference_orders, current_orders = data.orders[cut], data.orders[~cut]
    print(
        f"generated {len(reference_orders)} reference and {len(current_orders)} current lines "
        f"in {time.perf_counter() - started:.1f}s (not timed)"
    )
    import evidently  # noqa: F401  (import cost measured separately: it is paid once per process)

    timings = {}
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    reference_lines = purchase_lines(reference_orders)
    profile = reference_profile(reference_lines)
    reference = order_features(reference_lines, data.products, data.customers, profile, leave_one_out=True)
    timings["reference features"] = time.perf_counter() - t0
    t = time.perf_counter()
    current = order_features(purchase_lines(current_orders), data.products, data.customers, profile)
    timings["current features"] = time.perf_counter() - t
    t = time.perf_counter()
    thresholds = DriftThresholds(sample_size=args.sample_size)
    result, snapshot = run_drift_check(
        "data_drift", reference, current, NUMERICAL_FEATURES, CATEGORICAL_FEATURES, thresholds
    )
    timings["evidently check"] = time.perf_counter() - t
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        files = write_report(folder, "data_drift", result.as_dict(), snapshot)
        size = files.html.stat().st_size
    timings["html + json report"] = time.perf_counter() - t
    total = time.perf_counter() - t0
    cpu = time.process_time() - cpu0

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}"
    )
    print(f"orders: {len(reference)} reference, {len(current)} current; sampled {result.sampled_rows}")
    for name, seconds in timings.items():
        print(f"  {name:<22}{seconds:7.2f} s")
    print(f"  {'total':<22}{total:7.2f} s wall, {cpu:.2f} s CPU   (HTML report {size / 1e6:.1f} MB)")
    print(f"load average during the run: {os.getloadavg()}")
    print(f"verdict: drifted={result.drifted}, features {result.drifted_features}")


if __name__ == "__main__":
    main()
