"""Benchmark: what explanations cost when publishing at scale M (target: at most +30 % of the publish time).

    .venv/bin/python benchmarks/publish_explanations.py [--scale M] [--rounds 2]

Generates the data (not timed) and materializes the whole graph once. Then, on that model, materializes the
publishing steps — `recommendations` (lists, and with `explain: true` their explanations), its checks
(`recommendations_suite`, `model_gate`) and `published_recommendations` (the SQLite store) — alternately with
`explain: false` (the publish time before explanations existed) and `explain: true`, `--rounds` times each, in
the same process. Reports the wall time of those steps per run (from the event log), and the ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from run_graph import END_DATE, SCALES, step_windows

PUBLISHING = ["recommendations", "published_recommendations"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=sorted(SCALES), default="M")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix=f"recsys-explain-{args.scale}-"))
    os.environ["RECSYS_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # the partitions are read when the code is imported, before the source exists here: start them on its first day
    os.environ["RECSYS_PARTITIONS_START"] = str(END_DATE - dt.timedelta(days=SCALES[args.scale]["days"] - 1))

    from dagster import AssetSelection, DagsterInstance, materialize

    from recsys_assets.assets import ALL_ASSETS
    from recsys_assets.checks import ALL_CHECKS
    from recsys_assets.cli.local_run import materialize_graph
    from recsys_assets.core.data.generator import GeneratorConfig, generate
    from recsys_assets.core.stores.source_db import open_for_writing
    from recsys_assets.resources import resources_for
    from recsys_assets.settings import local_source_url

    data = generate(GeneratorConfig(**SCALES[args.scale], seed=1, end_date=END_DATE))
    database = open_for_writing(local_source_url())
    for table in ("orders", "products", "customers"):
        database.write(table, getattr(data, table), replace=True)
    print(f"scale {args.scale}: {len(data.orders)} order lines, {len(data.customers)} customers")
    del data
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    timings: dict[bool, list[float]] = {False: [], True: []}
    per_step: dict[bool, list[dict]] = {False: [], True: []}
    with DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        run = materialize_graph(instance=instance, run_config=quiet)
        assert run.success
        model = run.downstream.output_for_node("als_model").serving.config.label
        print(f"whole graph once: {time.perf_counter() - started:.1f}s; model {model}")
        for _ in range(args.rounds):
            for explain in (False, True):
                result = materialize(
                    [*ALL_ASSETS, *ALL_CHECKS],
                    selection=AssetSelection.keys(*PUBLISHING),
                    instance=instance,
                    resources=resources_for("local"),
                    run_config={**quiet, "ops": {"recommendations": {"config": {"explain": explain}}}},
                )
                windows = step_windows(instance, result)
                steps = {step: end - start for step, (start, end) in windows.items()}
                timings[explain].append(sum(steps.values()))
                per_step[explain].append(steps)
                print(f"explain={explain}: " + ", ".join(f"{k} {v:.2f}s" for k, v in sorted(steps.items())))
    off, on = statistics.median(timings[False]), statistics.median(timings[True])
    print(f"\npublishing steps, median of {args.rounds}: without explanations {off:.2f}s, with {on:.2f}s, "
          f"ratio {on / off:.2f} (+{(on / off - 1):.0%}); load {os.getloadavg()}")  # fmt: skip
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
