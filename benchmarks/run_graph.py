"""Benchmark: materialize the whole asset graph at scale S or M; per-asset wall time and peak RSS.

    .venv/bin/python benchmarks/run_graph.py --scale S   (100 k order lines)
    .venv/bin/python benchmarks/run_graph.py --scale M   (1 M lines, 50 k customers, 20 k products)
    .venv/bin/python benchmarks/run_graph.py --scale L   (10 M lines, 500 k customers, 100 k products)
    add --baseline: first run benchmarks/baseline_script.py (the same core work hand-written, no Dagster) on the
    same source in a fresh process, and report the ratio graph / baseline measured in this one run

Data generation is excluded from the timings. Peak RSS is sampled every 50 ms from /proc — this process and its
child processes (the model fits' workers) summed — and attributed to the asset step running at that moment (the
in-process executor runs one step at a time).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SCALES = {
    "S": dict(customers=5_000, products=5_000, days=120, lines_per_day=834),
    "M": dict(customers=50_000, products=20_000, days=365, lines_per_day=2_740),
    "L": dict(customers=500_000, products=100_000, days=365, lines_per_day=27_400),
}
END_DATE = dt.date(2026, 6, 30)


class RssSampler(threading.Thread):
    """Resident memory of this process and its child processes (the model fits' worker processes), summed."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, int]] = []
        self.stopped = threading.Event()

    @staticmethod
    def rss_bytes() -> int:
        total, me = 0, str(os.getpid())
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    parent = stat.read().rsplit(")", 1)[1].split()[1]
                if entry.name == me or parent == me:
                    with open(f"/proc/{entry.name}/statm") as statm:
                        total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, IndexError):  # the process ended meanwhile
                continue
        return total

    def run(self) -> None:
        while not self.stopped.is_set():
            self.samples.append((time.time(), self.rss_bytes()))
            time.sleep(0.05)

    @property
    def peak(self) -> int:
        return max((rss for _, rss in self.samples), default=0)

    def peak_between(self, start: float, end: float) -> int:
        inside = [rss for ts, rss in self.samples if start <= ts <= end]
        return max(inside) if inside else 0


def step_windows(instance, result) -> dict[str, tuple[float, float]]:
    windows: dict[str, list[float]] = {}
    for entry in instance.all_logs(result.run_id):
        event = entry.dagster_event
        if event and event.step_key and event.event_type_value in ("STEP_START", "STEP_SUCCESS"):
            windows.setdefault(event.step_key, []).append(entry.timestamp)
    return {step: (min(ts), max(ts)) for step, ts in windows.items()}


def generate_source(scale: str) -> int:
    """Write the generated tables of `scale` to the source database of RECSYS_HOME; the number of order lines.

    Streamed (`generate_stream`): the order lines go to the database chunk by chunk in one transaction."""
    from recsys_assets.core.data.generator import GeneratorConfig, generate_stream
    from recsys_assets.core.stores.source_db import open_for_writing
    from recsys_assets.settings import local_source_url

    stream = generate_stream(GeneratorConfig(**SCALES[scale], seed=1, end_date=END_DATE))
    lines = 0

    def counted(chunks):
        nonlocal lines
        for chunk in chunks:
            lines += len(chunk)
            yield chunk

    open_for_writing(local_source_url()).write_tables(stream.tables(orders=counted(stream.orders)))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=sorted(SCALES), default="S")
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    parser.add_argument("--baseline", action="store_true", help="run the hand-written baseline first; report the ratio")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate_only:  # child process: RECSYS_HOME is inherited from the parent
        print(generate_source(args.scale))
        return

    home = Path(tempfile.mkdtemp(prefix=f"recsys-bench-{args.scale}-"))
    os.environ["RECSYS_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    # generated in a child process: the generator's own peak (~1.5 GB at L, streamed) must not count as the graph's
    started = time.perf_counter()
    generated = subprocess.run(
        [sys.executable, __file__, "--scale", args.scale, "--generate-only"], capture_output=True, text=True, check=True
    )
    lines = int(generated.stdout.split()[-1])
    print(f"generated {lines} order lines in {time.perf_counter() - started:.1f}s (excluded)")

    # imported only now: the daily partitions start at the source's first order day, read when the code loads
    # (imported before the source existed, they started at the default 2026-01-01 and the graph saw half the year)
    from dagster import DagsterInstance

    from recsys_assets.cli.local_run import materialize_graph
    from recsys_assets.settings import local_source_url

    baseline = None
    if args.baseline:
        script = Path(__file__).with_name("baseline_script.py")
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(script), local_source_url(), str(home / "baseline")],
            capture_output=True,
            text=True,
            check=True,
        )
        baseline = {**json.loads(done.stdout.strip().splitlines()[-1]), "wall": time.perf_counter() - started}

    sampler = RssSampler()
    sampler.start()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with DagsterInstance.ephemeral() as instance:
        wall_start = time.perf_counter()
        run = materialize_graph(instance=instance, run_config=quiet)
        wall = time.perf_counter() - wall_start
        sampler.stopped.set()
        sampler.join()
        assert run.success
        ingested = max(  # every partition of a single-run backfill carries the run's row count
            event.materialization.metadata["rows"].value
            for event in run.ingest.get_asset_materialization_events()
            if event.asset_key.path == ["raw_orders"]
        )
        assert ingested == lines, f"the graph ingested {ingested} of the {lines} order lines"
        rows = []
        for result in run.runs:
            for step, (start, end) in step_windows(instance, result).items():
                rows.append((start, step, end - start, sampler.peak_between(start, end)))
    # the sampled peak of this process plus its worker processes, or this process' own peak if that is higher
    peak = max(sampler.peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    metrics = run.downstream.output_for_node("model_metrics")
    cores, memory = os.cpu_count(), os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"\n### Scale {args.scale}: {lines} order lines, {SCALES[args.scale]}")
    print(
        f"machine: {cores} cores, {memory:.0f} GiB RAM, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, {dt.date.today()}"
    )
    print("\n| asset (step) | wall s | peak RSS MiB |\n|---|---|---|")
    for _, step, seconds, rss in sorted(rows):
        print(f"| {step} | {seconds:.2f} | {rss / 2**20:.0f} |")
    print(
        f"| **whole graph (3 runs, incl. Dagster overhead)** | **{wall:.1f}** | **{peak / 2**20:.0f}** (with workers) |"
    )
    print(f"\nMAP@10 model {metrics['model']['map']:.4f} vs popularity {metrics['popularity']['map']:.4f}")
    if baseline:
        phases = ", ".join(f"{name} {seconds:.1f}" for name, seconds in baseline["phases"].items())
        print(
            f"\nbaseline script (fresh process, imports included): **{baseline['wall']:.1f} s**, peak RSS "
            f"{baseline['peak_rss'] / 2**20:.0f} MiB, MAP@10 {baseline['map@10']:.4f}; phases s: {phases}\n"
            f"**graph / baseline = {wall / baseline['wall']:.2f}×**, peak RSS graph / baseline = "
            f"{peak / baseline['peak_rss']:.2f}×; load average at the end {os.getloadavg()[0]:.2f}"
        )
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
