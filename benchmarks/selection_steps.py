"""Benchmark: model selection's candidates as separate steps, in one process vs one process per step.

    .venv/bin/python benchmarks/selection_steps.py [--scale S|M]

Generates the scale's data into a temporary home, ingests it (in-process), then runs `retrain_job` twice with
`dagster job execute`: with the default in-process executor, and with RECSYS_EXECUTOR=multiprocess (two
processes at once on these 2 cores). For each run it reports the wall time of the candidate steps
(`als_model.fit_candidate[...]`) from first start to last end, the sum of their durations, and their parallelism
(sum / wall: 1.0 is one step at a time, 2.0 both cores busy all along).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCALES = {
    "S": dict(customers=5_000, products=5_000, days=120, lines_per_day=834),
    "M": dict(customers=50_000, products=20_000, days=365, lines_per_day=2_740),
}
END_DATE = dt.date(2026, 6, 30)


def candidate_windows(instance, run_id: str) -> dict[str, tuple[float, float]]:
    windows: dict[str, list[float]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        candidate = event and event.step_key and "fit_candidate" in event.step_key
        if candidate and event.event_type_value in ("STEP_START", "STEP_SUCCESS"):
            windows.setdefault(event.step_key, []).append(entry.timestamp)
    return {step: (min(ts), max(ts)) for step, ts in windows.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=sorted(SCALES), default="M")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="recsys-bench-steps-"))
    os.environ.update(RECSYS_HOME=str(home), DAGSTER_HOME=str(home / "dagster"), OPENBLAS_NUM_THREADS="1")
    os.environ["RECSYS_PARTITIONS_START"] = str(END_DATE - dt.timedelta(days=SCALES[args.scale]["days"] - 1))

    from recsys_assets.cli.local_run import materialize_graph, persistent_instance
    from recsys_assets.core.data.generator import GeneratorConfig, generate
    from recsys_assets.core.stores.source_db import open_for_writing
    from recsys_assets.settings import local_source_url

    data = generate(GeneratorConfig(**SCALES[args.scale], seed=1, end_date=END_DATE))
    open_for_writing(local_source_url()).write_tables(
        {"orders": data.orders, "products": data.products, "customers": data.customers}
    )
    del data
    instance = persistent_instance()
    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    run = materialize_graph(run_config=quiet, instance=instance)
    assert run.ingest.success

    dagster = Path(sys.executable).parent / "dagster"
    rows = []
    for executor in ("in_process", "multiprocess"):
        env = {**os.environ, "RECSYS_EXECUTOR": executor, "RECSYS_MAX_CONCURRENT": "2"}
        started = time.perf_counter()
        result = subprocess.run(
            [str(dagster), "job", "execute", "-m", "recsys_assets.definitions", "-j", "retrain_job"],
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        [latest] = instance.get_runs(limit=1)
        windows = candidate_windows(instance, latest.run_id)
        span = max(end for _, end in windows.values()) - min(start for start, _ in windows.values())
        busy = sum(end - start for start, end in windows.values())
        rows.append((executor, len(windows), span, busy, busy / span, wall))
    cores, memory = os.cpu_count(), os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"\n### Candidates as steps, scale {args.scale}")
    print(
        f"machine: {cores} cores, {memory:.0f} GiB RAM, {platform.machine()}, Python {platform.python_version()}, "
        f"{dt.date.today()}, load average at the end {os.getloadavg()[0]:.2f}"
    )
    print(
        "\n| executor | candidate steps | their wall s (first start to last end) | sum of their durations s "
        "| parallelism | whole retrain_job s |\n|---|---|---|---|---|---|"
    )
    for executor, steps, span, busy, parallel, wall in rows:
        print(f"| {executor} | {steps} | {span:.1f} | {busy:.1f} | {parallel:.2f} | {wall:.1f} |")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
