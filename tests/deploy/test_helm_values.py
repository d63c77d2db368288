"""deploy/helm-values.yaml checked against what the code reads: nothing is mounted (every piece of state lives in a
shared store), every variable the values set is one the code reads, every variable dev / prod cannot start without
reaches every pod (in the values or in the secret the docs create), and the model registry is the MLflow server.

The chart's own values.schema.json is not checked here: no package source this project installs from ships it.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
VALUES = ROOT / "deploy" / "helm-values.yaml"
SETTINGS = ROOT / "recsys_assets" / "settings.py"
RESOURCES = ROOT / "recsys_assets" / "resources"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
REGISTRY_ENV = "MLFLOW_TRACKING_URI"


def helm_values() -> dict:
    return yaml.safe_load(VALUES.read_text(encoding="utf-8"))


def _code_reads(name: str) -> bool:
    return re.search(rf"os\.environ\.get\(\"{name}\"[,)]|os\.environ\[\"{name}\"\]", SETTINGS.read_text()) is not None


def test_every_mount_is_a_folder_the_code_reads_and_the_registry_is_the_mlflow_server_of_every_pod():
    values = helm_values()
    [deployment] = values["dagster-user-deployments"]["deployments"]
    env = {item["name"]: item.get("value") for item in deployment["env"]}
    runs = values["runLauncher"]["config"]["k8sRunLauncher"]
    mounts = [*deployment.get("volumeMounts", []), *runs.get("volumeMounts", [])]
    volumes = {volume["name"]: volume for volume in [*deployment.get("volumes", []), *runs.get("volumes", [])]}

    # nothing mounted that no setting of the code points at
    for mount in mounts:
        readers = [name for name, value in env.items() if value == mount["mountPath"]]
        assert readers and all(_code_reads(name) for name in readers), f"{mount['mountPath']} is read by no setting"
        assert mount["name"] in volumes, f"volume {mount['name']} is mounted but not declared"

    # the model registry is the MLflow server the code reads from MLFLOW_TRACKING_URI, handed to every pod (runs
    # included) through the secret the docs tell to create with it; no folder is shared for it
    assert _code_reads(REGISTRY_ENV)
    assert "RECSYS_MODEL_REGISTRY_DIR" not in SETTINGS.read_text() and "RECSYS_MODEL_REGISTRY_DIR" not in env
    assert deployment.get("includeConfigInLaunchedRuns", {}).get("enabled", True), "runs must get the env"
    assert {"name": "recsys-secrets"} in deployment["envSecrets"] and {"name": "recsys-secrets"} in runs["envSecrets"]
    secrets_doc = (ROOT / "docs" / "how-to" / "azure-resources.md").read_text(encoding="utf-8")
    assert re.search(rf"recsys-secrets.*{REGISTRY_ENV}|{REGISTRY_ENV}.*recsys-secrets", secrets_doc, re.S)
    uid = re.search(r"useradd\b.*--uid (\d+)", DOCKERFILE.read_text()).group(1)
    assert re.search(r"^USER recsys$", DOCKERFILE.read_text(), re.M)
    security = runs["runK8sConfig"]["podSpecConfig"]["securityContext"]
    assert security["fsGroup"] == security["runAsUser"] == int(uid)


def test_nothing_is_mounted_and_every_variable_is_read_and_every_required_one_reaches_the_pods():
    from recsys_assets.settings import AZURE_REQUIRED

    values = helm_values()
    [deployment] = values["dagster-user-deployments"]["deployments"]
    runs = values["runLauncher"]["config"]["k8sRunLauncher"]
    for where in (deployment, runs):
        assert not where.get("volumes") and not where.get("volumeMounts"), "no state lives on a pod's disk"
    env = {item["name"]: item.get("value") for item in deployment["env"]}
    code = SETTINGS.read_text() + "".join(path.read_text() for path in RESOURCES.glob("*.py"))
    unread = [name for name in env if f'"{name}"' not in code]
    assert not unread, f"the values set variables no code reads: {unread}"
    secrets_doc = (ROOT / "docs" / "how-to" / "azure-resources.md").read_text(encoding="utf-8")
    command = re.search(r"kubectl create secret generic recsys-secrets (.*?)\n(?!\s)", secrets_doc, re.S).group(1)
    in_secret = set(re.findall(r"--from-literal=(\w+)=", command))
    missing = [name for name in (*AZURE_REQUIRED, "MLFLOW_TRACKING_URI") if name not in env and name not in in_secret]
    assert not missing, f"dev / prod refuse to start without {missing}: neither in the values nor in recsys-secrets"
    assert env["RECSYS_DEPLOYMENT"] == "prod"
