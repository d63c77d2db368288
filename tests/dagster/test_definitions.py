"""The code location loads the way `dagster dev` loads it: from workspace.yaml."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_definitions_validate_from_workspace(recsys_home):
    dagster = Path(sys.executable).parent / "dagster"
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_graph_has_the_designed_assets():
    from recsys_assets.definitions import defs

    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {
        "raw_orders",
        "products",
        "customers",
        "interactions",
        "train_test_split",
        "als_model",
        "model_metrics",
        "recommendations",
        "buy_again_lists",
        "related_lists",
        "published_recommendations",
    } <= keys


def test_local_and_deployed_instances_allow_one_retraining_at_a_time():
    import yaml

    from recsys_assets.cli.local_run import INSTANCE_SETTINGS
    from recsys_assets.definitions import defs
    from recsys_assets.tags import CONCURRENCY_TAG, RETRAIN_CONCURRENCY

    local = yaml.safe_load(INSTANCE_SETTINGS.read_text())["concurrency"]
    deployed = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())["concurrency"]
    assert local == deployed
    assert {"key": CONCURRENCY_TAG, "value": RETRAIN_CONCURRENCY, "limit": 1} in local["runs"]["tag_concurrency_limits"]
    assert defs.resolve_job_def("retrain_job").tags[CONCURRENCY_TAG] == RETRAIN_CONCURRENCY


def test_the_helm_values_and_the_image_match_the_code_location():
    """deploy/helm-values.yaml (Dagster's Helm chart) runs this code location with the same run limits, and the
    Kubernetes run launcher and step executor the chart relies on import with the pinned dagster-k8s."""
    import yaml
    from dagster_k8s import K8sRunLauncher, k8s_job_executor

    from recsys_assets.cli.local_run import INSTANCE_SETTINGS

    values = yaml.safe_load((ROOT / "deploy" / "helm-values.yaml").read_text())
    [deployment] = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "recsys_assets.definitions"]
    assert values["runLauncher"]["type"] == K8sRunLauncher.__name__ and k8s_job_executor.name == "k8s"
    limits = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    assert limits == yaml.safe_load(INSTANCE_SETTINGS.read_text())["concurrency"]["runs"]["tag_concurrency_limits"]
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert '"-m", "recsys_assets.definitions"' in dockerfile and "constraints.txt" in dockerfile


def _retrain_executor_in_fresh_process(env: dict[str, str]) -> subprocess.CompletedProcess:
    # the jobs are defined at import time, so each setting needs its own interpreter
    script = (
        "from recsys_assets.definitions import defs\n"
        "job = defs.resolve_job_def('retrain_job')\n"
        "config = job.executor_def.apply_config_mapping({}).value or {}\n"
        "ui = defs.resolve_implicit_global_asset_job_def()\n"  # the UI's Materialize and backfills run this job
        "print(job.executor_def.name, config.get('config', {}).get('max_concurrent'), ui.executor_def.name)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_retrain_executor_is_chosen_by_the_environment():
    default = _retrain_executor_in_fresh_process({"RECSYS_EXECUTOR": ""})
    assert default.stdout.split() == ["in_process", "None", "in_process"], default.stderr
    parallel = _retrain_executor_in_fresh_process({"RECSYS_EXECUTOR": "multiprocess", "RECSYS_MAX_CONCURRENT": "2"})
    assert parallel.stdout.split() == ["multiprocess", "2", "multiprocess"], parallel.stderr
    wrong = _retrain_executor_in_fresh_process({"RECSYS_EXECUTOR": "threads"})
    assert wrong.returncode != 0 and "RECSYS_EXECUTOR must be one of" in wrong.stderr
