"""Benchmark: model selection's candidates as separate steps, in one process vs one process per step.

    .venv/bin/python benchmarks/selection_steps.py [--scale S|M] [--heavy]

Generates the scale's data into a temporary home, ingests it (in-process), then runs `retrain_job` twice with
`dagster job execute`: with the default in-process executor, and with RECSYS_EXECUTOR=multiprocess (two
processes at once on these 2 cores). For each run it reports the wall time of the candidate steps
(`als_model.fit_candidates[...]`) from first start to last end, the sum of their durations, the steps at once
(sum / wall: 1.0 is one step at a time) and the busy cores of the machine in that window (from /proc/stat: ALS
and BPR fit on implicit's threads, so one step alone may already use both cores).
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
import threading
import time
from pathlib import Path

import yaml

SCALES = {
    "S": dict(customers=5_000, products=5_000, days=120, lines_per_day=834),
    "M": dict(customers=50_000, products=20_000, days=365, lines_per_day=2_740),
}
END_DATE = dt.date(2026, 6, 30)
# --heavy: a grid whose candidates take long enough for a process start (about 5 s) to be small beside them
HEAVY_GRID = {"als_factors": [64, 128], "als_iterations": [30], "bpr_factors": [64], "knn_neighbours": [100]}


class CpuSampler:
    """Samples the machine's busy CPU time (/proc/stat) every `period_s`, to tell how many cores a window used."""

    def __init__(self, period_s: float = 0.2):
        self.period_s, self.samples, self._stop = period_s, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _read() -> tuple[float, float]:
        fields = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields) - idle, sum(fields)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), *self._read()))
            time.sleep(self.period_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def busy_cores(self, start: float, end: float) -> float:
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return float("nan")
        (_, busy0, total0), (_, busy1, total1) = inside[0], inside[-1]
        return (busy1 - busy0) / (total1 - total0) * (os.cpu_count() or 1)


def candidate_windows(instance, run_id: str) -> dict[str, tuple[float, float]]:
    windows: dict[str, list[float]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        candidate = event and event.step_key and "fit_candidates" in event.step_key
        if candidate and event.event_type_value in ("STEP_START", "STEP_SUCCESS"):
            windows.setdefault(event.step_key, []).append(entry.timestamp)
    return {step: (min(ts), max(ts)) for step, ts in windows.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=sorted(SCALES), default="M")
    parser.add_argument("--heavy", action="store_true", help=f"a longer grid: {HEAVY_GRID}")
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
    config = home / "run.yaml"
    grid = {"grid": HEAVY_GRID} if args.heavy else {}
    config.write_text(yaml.safe_dump({**quiet, "ops": {"als_model": {"config": grid}}}))
    rows = []
    for executor in ("in_process", "multiprocess"):
        env = {**os.environ, "RECSYS_EXECUTOR": executor, "RECSYS_MAX_CONCURRENT": "2"}
        started = time.perf_counter()
        with CpuSampler() as cpu:
            result = subprocess.run(
                [str(dagster), "job", "execute", "-m", "recsys_assets.definitions", "-j", "retrain_job"]
                + ["-c", str(config)],
                env=env,
                capture_output=True,
                text=True,
            )
        wall = time.perf_counter() - started
        [latest] = instance.get_runs(limit=1)
        windows = candidate_windows(instance, latest.run_id)
        # the second run meets the first one's champion: its model gate may refuse (the run then fails after
        # the candidates, which is what is measured here); any other failure is a benchmark error
        refused = "recommendations: model_gate" in result.stdout + result.stderr
        assert result.returncode == 0 or refused, result.stdout[-3000:] + result.stderr[-3000:]
        assert windows, "no candidate step finished"
        first, last = min(start for start, _ in windows.values()), max(end for _, end in windows.values())
        busy = sum(end - start for start, end in windows.values())
        span, used = last - first, cpu.busy_cores(first, last)
        outcome = "refused by model_gate" if refused else "published"
        rows.append((executor, len(windows), span, busy, busy / span, used, wall, outcome))
    cores, memory = os.cpu_count(), os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"\n### Candidates as steps, scale {args.scale}{' (heavy grid)' if args.heavy else ''}")
    print(
        f"machine: {cores} cores, {memory:.0f} GiB RAM, {platform.machine()}, Python {platform.python_version()}, "
        f"{dt.date.today()}, load average at the end {os.getloadavg()[0]:.2f}"
    )
    print(
        "\n| executor | candidate steps | their wall s (first start to last end) | sum of their durations s "
        "| steps at once | busy cores in that window | whole retrain_job s | run |\n|---|---|---|---|---|---|---|---|"
    )
    for executor, steps, span, busy, parallel, cores_used, wall, outcome in rows:
        print(
            f"| {executor} | {steps} | {span:.1f} | {busy:.1f} | {parallel:.2f} | {cores_used:.2f} | {wall:.1f} "
            f"| {outcome} |"
        )
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
