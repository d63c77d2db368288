"""The model registry on MLflow (core/stores/mlflow_registry.py) against a real `mlflow server` (SQLite backend,
local artifact store, started by the session fixture): what is logged per model version, what readers see, pruning,
a registration killed before its registered version, and the import of an older home's folder of pickles."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from recsys_assets.core.data.cleaning import CleaningRules, clean_orders
from recsys_assets.core.lifecycle.model_registration import register_candidate
from recsys_assets.core.lifecycle.order_history import HistorySample
from recsys_assets.core.modeling.artifact import ModelArtifact
from recsys_assets.core.modeling.candidates import TrainingConfig
from recsys_assets.core.modeling.fold_in import ListSettings
from recsys_assets.core.modeling.selection import CandidateResult, SelectionResult, SelectionSettings
from recsys_assets.core.modeling.training import train
from recsys_assets.core.stores.mlflow_registry import VERSION_TAG, MlflowModelRegistry, import_folder_registry
from recsys_assets.core.stores.model_registry import ModelRegistry
from recsys_assets.core.stores.store import VersionInfo
from tests.support.serving import tiny_data

ROOT = Path(__file__).resolve().parents[2]
_names = itertools.count()
SAMPLE = HistorySample("2026-06-30 09:00:00", (("O1", 1, "C1", "P1", "2026-06-30"),))
METRICS = {
    "k": 10,
    "model": {"map": 0.031, "precision": 0.02, "evaluated_users": 120},
    "popularity": {"map": 0.012, "precision": 0.01, "evaluated_users": 120},
    "intervals": {"model_map": {"low": 0.025, "high": 0.037}, "lead_map": {"low": 0.011, "high": 0.027}},
    "verdict": "the model beats popularity",
}


@pytest.fixture(scope="module")
def trained():
    data = tiny_data()
    rules = CleaningRules(as_of=None)
    interactions = clean_orders(data.orders, data.products, data.customers, rules).interactions
    return train(interactions, TrainingConfig(model="item_knn"))


def artifact(version: str, model=None) -> ModelArtifact:
    selection = None
    if model is not None:
        configs = [model.config, TrainingConfig(model="popularity")]
        candidates = [CandidateResult(c, {"map": 0.03 - i * 0.01}, 0.1, 0.05) for i, c in enumerate(configs)]
        selection = SelectionResult(candidates, model.config.label, "best MAP", SelectionSettings(), "last 14 days",
                                    1000, 200, 50)  # fmt: skip
    return ModelArtifact(version, f"data-{version}", model, model, selection=selection)


@pytest.fixture
def registry(mlflow_tracking_server) -> MlflowModelRegistry:
    """A registered model of its own on the session's server (the experiment of the same name)."""
    return MlflowModelRegistry(mlflow_tracking_server.url, f"recsys-test-{os.getpid()}-{next(_names)}")


class _Store:
    def __init__(self, live_model: str | None):
        self.infos = [VersionInfo("v-live", "2026-06-30T00:00:00", 1, 1, {"model_version": live_model})]
        self.live = "v-live" if live_model else None

    def live_version(self):
        return self.live

    def versions(self):
        return self.infos if self.live else []


def test_a_registered_model_version_is_a_run_with_its_params_metrics_tags_and_artifacts(registry, trained):
    assert registry.versions() == [] and registry.load("m1") is None and registry.history("m1") is None
    registration = register_candidate(
        registry, artifact("m1", trained), _Store(None), keep=5, history=SAMPLE, metrics=METRICS,
        tags={"git_commit": "abc123"},
    )  # fmt: skip
    registry.save_list_settings("m1", ListSettings(k=7, trained_until="2026-06-30T00:00:00"))
    assert registration.version == "m1" and registry.versions() == ["m1"]

    loaded = registry.load("m1")
    assert isinstance(loaded, ModelArtifact) and loaded.version == "m1" and loaded.serving.config == trained.config
    assert registry.history("m1") == SAMPLE
    assert registry.list_settings("m1").k == 7

    [described] = registry.describe()
    assert described["version"] == "m1" and described["mlflow_version"] == "1"
    client = registry.client
    registered = client.get_model_version(registry.model_name, "1")
    assert registered.tags[VERSION_TAG] == "m1" and registered.run_id == described["run_id"]
    run = client.get_run(registered.run_id)
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == registry.model_name
    assert run.data.params["model"] == "item_knn"
    assert run.data.metrics["model_map_at_10"] == 0.031
    assert (run.data.metrics["model_map_at_10_low"], run.data.metrics["model_map_at_10_high"]) == (0.025, 0.037)
    assert run.data.metrics["lead_map_at_10_low"] == 0.011 and run.data.metrics["popularity_evaluated_users"] == 120
    tags = run.data.tags
    assert (tags[VERSION_TAG], tags["recsys.data_version"], tags["recsys.git_commit"]) == ("m1", "data-m1", "abc123")
    assert tags["recsys.trained_until"] == str(trained.trained_until)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"model", "history.json", "lists.json", "candidates.csv", "model_metrics.json"} <= artifacts
    assert [a.path for a in client.list_artifacts(run.info.run_id, "model")] == ["model/model.pkl"]
    local = client.download_artifacts(run.info.run_id, "candidates.csv", str(Path(registry_tmp(registry))))
    table = pd.read_csv(local)
    assert table["label"].tolist() == [trained.config.label, "popularity"] and table["winner"].tolist() == [True, False]


def registry_tmp(registry) -> Path:
    import tempfile

    return Path(tempfile.mkdtemp(prefix="recsys-test-mlflow-"))


def test_versions_are_newest_first_and_prune_keeps_the_protected_champion(registry, mlflow_tracking_server):
    for version in ("a", "b", "c", "d"):
        registry.save_history(version, SAMPLE)
        registry.save(artifact(version))
    assert registry.versions() == ["d", "c", "b", "a"]
    assert registry.load("b").version == "b"
    run_b = registry.registered_version("b").run_id
    stored = lambda run_id: list(mlflow_tracking_server.artifacts.rglob(f"{run_id}/artifacts/*"))  # noqa: E731
    assert stored(run_b)  # the server keeps the artifacts in its --artifacts-destination
    assert registry.prune(keep=2, protect={"a"}) == ["b"]
    assert registry.versions() == ["d", "c", "a"]
    assert registry.load("b") is None and registry.history("b") is None  # gone with its run
    assert not stored(run_b)  # and its artifacts with it (MLflow alone would keep them until `mlflow gc`)
    assert registry.history("a") == SAMPLE
    assert "b" not in {r.data.tags[VERSION_TAG] for r in registry.client.search_runs([registry.experiment_id()])}
    with pytest.raises(ValueError, match="invalid model version"):
        registry.save(artifact("../x"))


def test_registering_the_same_model_version_again_updates_its_run_and_adds_no_version(registry):
    registry.save(artifact("same"))
    registry.save(artifact("same"), metrics=METRICS)
    assert [item["mlflow_version"] for item in registry.describe()] == ["1"]
    run = registry.client.get_run(registry.describe()[0]["run_id"])
    assert run.data.metrics["model_map_at_10"] == 0.031


DRIVER = """
import sys
from recsys_assets.core.lifecycle.model_registration import register_candidate
from recsys_assets.core.lifecycle.order_history import HistorySample
from recsys_assets.core.modeling.artifact import ModelArtifact
from recsys_assets.core.stores.mlflow_registry import MlflowModelRegistry
from tests.unit.test_mlflow_registry import SAMPLE, _Store

registry = MlflowModelRegistry(sys.argv[1], sys.argv[2])
register_candidate(registry, ModelArtifact(sys.argv[3], "d", None, None), _Store(sys.argv[4]), keep=5, history=SAMPLE)
print("registered")
"""


def register_in_a_process(registry, version: str, live: str, failpoint: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "RECSYS_FAILPOINT": failpoint, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", DRIVER, registry.tracking_uri, registry.model_name, version, live]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)


def test_a_registration_killed_before_its_registered_version_is_invisible_and_the_next_one_recovers(registry):
    assert register_in_a_process(registry, "champ", "").returncode == 0
    killed = register_in_a_process(registry, "cand", "champ", failpoint="registry.before_register")
    assert killed.returncode == -9, killed.stderr
    # the killed registration left a complete, unregistered run: nothing reads it
    runs = {r.data.tags[VERSION_TAG]: r for r in registry.client.search_runs([registry.experiment_id()])}
    assert set(runs) == {"champ", "cand"}
    assert registry.versions() == ["champ"]
    assert registry.load("cand") is None and registry.history("cand") is None
    # the gate still loads the live champion (scoring it: tests/dagster/test_checks.py, against the same server)
    assert registry.load("champ").version == "champ" and registry.history("champ") == SAMPLE

    # the next run registers the same candidate: it reuses the orphaned run and registers it
    assert register_in_a_process(registry, "cand", "champ").returncode == 0
    assert registry.versions() == ["cand", "champ"] and registry.history("cand") == SAMPLE
    assert len(registry.client.search_runs([registry.experiment_id()])) == 2

    # an orphan of another version is removed by prune once older than the grace period, never a live one
    killed = register_in_a_process(registry, "other", "cand", failpoint="registry.before_register")
    assert killed.returncode == -9, killed.stderr
    registry.orphan_grace_seconds = 3600.0
    registry.prune(keep=5)
    assert "other" in {r.data.tags[VERSION_TAG] for r in registry.client.search_runs([registry.experiment_id()])}
    registry.orphan_grace_seconds = 0.0
    assert registry.prune(keep=5, protect={"cand"}) == []
    left = {r.data.tags[VERSION_TAG] for r in registry.client.search_runs([registry.experiment_id()])}
    assert left == {"champ", "cand"} and registry.versions() == ["cand", "champ"]


def test_an_older_homes_folder_of_pickles_is_imported_once_oldest_first(registry, tmp_path, trained):
    folder = tmp_path / "models"
    old = ModelRegistry(folder)
    for i, version in enumerate(["old", "live"]):
        os.utime(old.save(artifact(version, trained)), (1_000 + i, 1_000 + i))
    old.save_history("live", SAMPLE)
    old.save_list_settings("live", ListSettings(k=9))
    assert import_folder_registry(folder, registry) == ["old", "live"]
    assert registry.versions() == ["live", "old"]
    assert registry.history("live") == SAMPLE and registry.list_settings("live").k == 9
    assert registry.load("live").serving.config == trained.config
    assert not folder.exists() and (tmp_path / "models.imported" / "live.pkl").exists()
    assert import_folder_registry(folder, registry) == []  # done once


def test_the_local_registry_and_the_required_tracking_uri_of_dev(recsys_home, monkeypatch):
    from recsys_assets.resources import resources_for
    from recsys_assets.settings import DeploymentError, model_registry_settings

    local = model_registry_settings("local")
    assert local["tracking_uri"] == f"sqlite:///{recsys_home / 'mlflow' / 'mlflow.db'}"
    assert local["artifact_location"] == (recsys_home / "mlflow" / "artifacts").as_uri()
    assert local["model_name"] == "recsys-local"
    registry = resources_for("local")["models"].registry()
    registry.save(artifact("m"))
    run = registry.client.get_run(registry.describe()[0]["run_id"])
    assert run.info.artifact_uri.startswith((recsys_home / "mlflow" / "artifacts").as_uri())
    assert (recsys_home / "mlflow" / "artifacts").is_dir()
    with pytest.raises(DeploymentError, match="MLFLOW_TRACKING_URI"):
        model_registry_settings("dev")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://user:secret@mlflow.example.com")
    monkeypatch.setenv("RECSYS_MLFLOW_MODEL_NAME", "shop-models")
    dev = model_registry_settings("dev")
    assert (dev["model_name"], dev["artifact_location"], dev["legacy_folder"]) == ("shop-models", "", "")
    assert "secret" not in MlflowModelRegistry(dev["tracking_uri"], "x").location
