"""deploy/helm-values.yaml checked against the schema of Dagster's Helm chart (a copy: tests/deploy/README.md), and
its volumes checked against what the code reads.

`helm install` validates the chart's default values.yaml with the user's values merged over it: maps are merged key
by key, lists are replaced whole. The defaults are not kept here, so the test stands in for the merge: an error
is excused only when it is a missing required key of a map that the defaults fill (a `required` error whose place
in the values holds no list index); inside a list the user's items replace the defaults, so they must be complete,
and every misspelled key, wrong type or unknown enum value fails wherever it is. The stand-in is looser than Helm
in one way: a required key of a map the defaults leave out (say `storageAccount` of the Blob compute-log manager)
is excused too; rendering with `helm template` catches that.

The schema declares no `$schema`; its keywords (`definitions`, `if`/`then`, `const`) are draft 7's, the draft of the
pydantic models it is generated from, so it is read with Draft7Validator. Its Kubernetes object shapes (volumes,
resources, probes, env) are `$ref`s to kubernetesjsonschema.dev: no network here, so they resolve to an empty
schema (Kubernetes checks them when the objects are created); the registry volume is checked by shape below.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).with_name("dagster-chart-values.schema.json")
VALUES = ROOT / "deploy" / "helm-values.yaml"
SETTINGS = ROOT / "recsys_assets" / "settings.py"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
KUBERNETES_SCHEMAS = "https://kubernetesjsonschema.dev/"
REGISTRY_ENV = "RECSYS_MODEL_REGISTRY_DIR"


def _external_refs(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) and not node["$ref"].startswith("#") else []
        return found + [ref for value in node.values() for ref in _external_refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _external_refs(value)]
    return []


def _kubernetes_stubs(schema: dict) -> dict[str, dict]:
    """For each Kubernetes schema document the chart names, a document with an empty schema at every pointer used."""
    documents: dict[str, dict] = {}
    for ref in _external_refs(schema):
        uri, _, pointer = ref.partition("#")
        assert uri.startswith(KUBERNETES_SCHEMAS), f"unexpected external schema {ref}"
        node = documents.setdefault(uri, {})
        for part in pointer.strip("/").split("/"):
            node = node.setdefault(part, {})
    return documents


def chart_validator() -> Draft7Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    stubs = _kubernetes_stubs(schema)

    def retrieve(uri: str) -> Resource:
        if uri not in stubs:  # never fetched: the test reaches no network
            raise LookupError(f"no local copy of the schema {uri}")
        return Resource.from_contents(stubs[uri], default_specification=DRAFT7)

    return Draft7Validator(schema, registry=Registry(retrieve=retrieve))


def _filled_by_chart_defaults(error: ValidationError) -> bool:
    if error.validator == "required":
        return not any(isinstance(part, int) for part in error.absolute_path)
    if error.validator == "anyOf":  # valid if one branch fails only on keys the defaults fill
        branches: dict[int, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        return any(all(_filled_by_chart_defaults(sub) for sub in subs) for subs in branches.values())
    return False


def chart_errors(values: dict) -> list[str]:
    """What `helm install` would refuse in `values` merged over the chart's defaults (see the module docstring)."""

    def leaves(error: ValidationError) -> list[ValidationError]:
        return [leaf for sub in error.context for leaf in leaves(sub)] if error.context else [error]

    return sorted(
        f"{'.'.join(map(str, leaf.absolute_path)) or '<top>'}: {leaf.message}"
        for error in chart_validator().iter_errors(values)
        if not _filled_by_chart_defaults(error)
        for leaf in leaves(error)
        if not _filled_by_chart_defaults(leaf) and leaf.validator_value != "null"  # the `or null` branches
    )


def helm_values() -> dict:
    return yaml.safe_load(VALUES.read_text(encoding="utf-8"))


def test_the_helm_values_pass_the_charts_schema():
    assert chart_errors(helm_values()) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        # a misspelled key under a map whose schema forbids unknown keys
        (lambda v: v["runLauncher"]["config"]["k8sRunLauncher"].update(volumeMount=[]), "'volumeMount' was unexpected"),
        (lambda v: v.update(telemetry={"enable": False}), "'enable' was unexpected"),
        # a wrong type and an unknown enum value
        (
            lambda v: v["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"][
                0
            ].update(limit="1"),
            "'1' is not of type 'integer'",
        ),
        (lambda v: v["runLauncher"].update(type="KubernetesRunLauncher"), "'KubernetesRunLauncher' is not one of"),
        # a list replaces the chart's default list: its items must be complete
        (lambda v: v["dagster-user-deployments"]["deployments"][0].pop("port"), "'port' is a required property"),
    ],
)
def test_the_check_refuses_what_helm_refuses(mutate, expected):
    values = copy.deepcopy(helm_values())
    mutate(values)
    errors = chart_errors(values)
    assert any(expected in error for error in errors), errors


def test_keys_the_chart_defaults_fill_may_be_left_out():
    values = copy.deepcopy(helm_values())
    del values["telemetry"], values["postgresql"]["postgresqlUsername"]
    assert chart_errors(values) == []


def _code_reads(name: str) -> bool:
    return re.search(rf"os\.environ\.get\(\"{name}\"\)|os\.environ\[\"{name}\"\]", SETTINGS.read_text()) is not None


def test_every_mount_is_a_folder_the_code_reads_and_the_registry_is_shared_by_the_runs():
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

    # the registry folder the code reads is the shared claim, mounted in every run pod (where the gate runs),
    # and writable by the image's non-root user
    assert _code_reads(REGISTRY_ENV)
    assert deployment.get("includeConfigInLaunchedRuns", {}).get("enabled", True), "runs must get the env"
    [registry_mount] = [mount for mount in runs["volumeMounts"] if mount["mountPath"] == env[REGISTRY_ENV]]
    assert not registry_mount.get("readOnly", False)
    claim = volumes[registry_mount["name"]]["persistentVolumeClaim"]["claimName"]
    assert claim in (ROOT / "docs" / "how-to" / "azure-resources.md").read_text(encoding="utf-8")
    uid = re.search(r"useradd\b.*--uid (\d+)", DOCKERFILE.read_text()).group(1)
    assert re.search(r"^USER recsys$", DOCKERFILE.read_text(), re.M)
    security = runs["runK8sConfig"]["podSpecConfig"]["securityContext"]
    assert security["fsGroup"] == security["runAsUser"] == int(uid)
