"""Benchmark: validate the M-scale `interactions` (~1 M rows) with the GX suite expectations/interactions.json.

    .venv/bin/python benchmarks/validate_interactions.py [--repeat 3]

Generates the M-scale dataset (50 000 customers, 20 000 products, 365 days, 2 740 lines/day), cleans it like the
`interactions` asset, then times `validate_frame` in its default fast mode (BOOLEAN_ONLY first, details only
for failed expectations) and in the plain SUMMARY mode. Target: at most 10 s on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import pandas as pd

    from recsys_assets.core.data.cleaning import CleaningRules, clean_orders
    from recsys_assets.core.data.generator import GeneratorConfig, generate
    from recsys_assets.validation.frames import run_clock
    from recsys_assets.validation.gx_runner import validate_frame

    started = time.perf_counter()
    data = generate(
        GeneratorConfig(
            customers=50_000, products=20_000, days=365, lines_per_day=2_740, seed=1, end_date=dt.date(2026, 6, 30)
        )
    )
    interactions = clean_orders(data.orders, data.products, data.customers, CleaningRules()).interactions
    seconds = time.perf_counter() - started
    print(f"data: {len(data.orders)} order lines -> {len(interactions)} interactions in {seconds:.1f} s")
    parameters = {
        "known_customers": data.customers["customer_id"].astype(str).tolist(),
        "known_products": data.products["product_id"].astype(str).tolist(),
        "now": run_clock(None),
    }
    index = ["customer_id", "product_id", "order_id"]
    t0 = time.perf_counter()
    import great_expectations  # noqa: F401  (import cost reported apart)

    print(f"import great_expectations: {time.perf_counter() - t0:.2f} s")
    validate_frame(interactions.head(1000), "interactions", parameters, index)  # context set-up, reported apart
    for mode, fast in (("fast (BOOLEAN_ONLY, details on failure)", True), ("SUMMARY for every expectation", False)):
        timings = []
        for _ in range(args.repeat):
            report = validate_frame(interactions, "interactions", parameters, index, fast=fast)
            timings.append(report.seconds)
        print(
            f"{mode}: best {min(timings):.2f} s, median {sorted(timings)[len(timings) // 2]:.2f} s over "
            f"{args.repeat} runs; {report.evaluated} expectations, passed={report.success}, rows={report.rows}"
        )
    bad = interactions.copy()
    bad.loc[bad.index[::1000], "product_id"] = "P_UNKNOWN"
    report = validate_frame(bad, "interactions", parameters, index)
    print(f"fast mode on a failing frame (0.1 % unknown products): {report.seconds:.2f} s; {report.message()[:160]}")
    machine = f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores"
    print(f"machine: {machine}, pandas {pd.__version__}")


if __name__ == "__main__":
    main()
