"""Benchmark (issue 22): what registering a model in MLflow and loading the champion back costs a run, against the
folder of pickles it replaced, each in a fresh process (a run registers once; a later run's gate loads once).

    .venv/bin/python benchmarks/model_registry.py             (scale S: 5 000 customers, ALS)
    .venv/bin/python benchmarks/model_registry.py --scale M   (50 000 customers, 20 000 products)
    options: --rounds 3

A shop of the scale is generated, cleaned and trained once (the default ALS config); the artifact is pickled to a
file. Then, alternately per round, a fresh Python process registers it (model, order-history sample, list settings,
hold-out metrics) and another fresh process loads it back with its sample and settings, in three homes:

- folder: the registry of earlier releases (core/stores/model_registry.py: pickles written atomically) — the baseline;
- MLflow, SQLite: the local default (`sqlite:///.../mlflow.db`, artifacts in a folder), the store made once;
- MLflow server: a real `mlflow server` (SQLite backend, local artifact destination) over HTTP, as dev/prod.

Each figure is the wall time of the whole process (interpreter start and imports included: what a run pays), the
median of the rounds; the ratio is to the folder in the same round.
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCALES = {"S": dict(customers=5_000, products=5_000, days=120, lines_per_day=834),
          "M": dict(customers=50_000, products=20_000, days=365, lines_per_day=2_740)}  # fmt: skip

REGISTER = """
import pickle, sys
from recsys_assets.core.lifecycle.order_history import HistorySample
from recsys_assets.core.modeling.fold_in import ListSettings
artifact = pickle.load(open(sys.argv[1], "rb"))
artifact.version = sys.argv[3]
registry = {registry}
registry.save_history(artifact.version, HistorySample("2026-06-30 09:00:00", (("O1", 1, "C1", "P1", "2026-06-30"),)))
registry.save(artifact{metrics})
registry.save_list_settings(artifact.version, ListSettings())
"""
LOAD = """
import sys
registry = {registry}
assert registry.load(sys.argv[3]) is not None and registry.history(sys.argv[3]) and registry.list_settings(sys.argv[3])
"""
CREATE = """
import sys
registry = {registry}
registry.versions()
"""
METRICS = ', metrics={"k": 10, "model": {"map": 0.03}, "intervals": {"model_map": {"low": 0.02, "high": 0.04}}}'
HOMES = {
    "folder": ("__import__('recsys_assets.core.stores.model_registry', fromlist=['x']).ModelRegistry(sys.argv[2])", ""),
    "mlflow-sqlite": ("__import__('recsys_assets.core.stores.mlflow_registry', fromlist=['x'])"
                      ".MlflowModelRegistry('sqlite:///' + sys.argv[2] + '/mlflow.db', 'recsys-bench', "
                      "'file://' + sys.argv[2] + '/artifacts')", METRICS),
    "mlflow-server": ("__import__('recsys_assets.core.stores.mlflow_registry', fromlist=['x'])"
                      ".MlflowModelRegistry(sys.argv[2], 'recsys-bench')", METRICS),
}  # fmt: skip


def timed(script: str, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", script, *args], cwd=ROOT, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    return time.perf_counter() - started


def trained_artifact(scale: str, folder: Path) -> Path:
    from recsys_assets.core.data.cleaning import CleaningRules, clean_orders
    from recsys_assets.core.data.generator import GeneratorConfig, generate
    from recsys_assets.core.modeling.artifact import ModelArtifact
    from recsys_assets.core.modeling.candidates import TrainingConfig
    from recsys_assets.core.modeling.training import train

    data = generate(GeneratorConfig(**SCALES[scale], seed=1))
    interactions = clean_orders(data.orders, data.products, data.customers, CleaningRules(as_of=None)).interactions
    model = train(interactions, TrainingConfig())
    path = folder / "artifact.pkl"
    path.write_bytes(pickle.dumps(ModelArtifact("m0", "data-0", model, model), pickle.HIGHEST_PROTOCOL))
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=sorted(SCALES), default="S")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from tests.support.mlflow_server import mlflow_server

    with tempfile.TemporaryDirectory() as tmp, mlflow_server() as server:
        folder = Path(tmp)
        artifact = trained_artifact(args.scale, folder)
        homes = {"folder": str(folder / "folder"), "mlflow-sqlite": str(folder / "sqlite"), "mlflow-server": server.url}
        (folder / "sqlite").mkdir()
        timed(CREATE.format(registry=HOMES["mlflow-sqlite"][0]), "", homes["mlflow-sqlite"])  # the store, made once
        size = artifact.stat().st_size / 1e6
        times = {(home, step): [] for home in HOMES for step in ("register", "load")}
        for round_ in range(args.rounds):
            for home, (registry, metrics) in HOMES.items():
                version = f"m{round_ + 1}"
                times[home, "register"].append(
                    timed(REGISTER.format(registry=registry, metrics=metrics), str(artifact), homes[home], version)
                )
                times[home, "load"].append(timed(LOAD.format(registry=registry), str(artifact), homes[home], version))
    load = os.getloadavg()
    print(f"scale {args.scale}, artifact {size:.1f} MB, {args.rounds} rounds, "
          f"{os.cpu_count()} cores, {platform.python_version()}, load {load[0]:.1f}")  # fmt: skip
    print("| home | register (s, median) | x folder | load champion (s, median) | x folder |")
    print("|---|---|---|---|---|")
    for home in HOMES:
        register, loaded = (statistics.median(times[home, step]) for step in ("register", "load"))
        base_register = statistics.median(times["folder", "register"])
        base_load = statistics.median(times["folder", "load"])
        print(f"| {home} | {register:.2f} | {register / base_register:.2f} | {loaded:.2f} | {loaded / base_load:.2f} |")


if __name__ == "__main__":
    main()
