"""The model registry view: each `als_model` materialization joined with the metrics of its model version.

Pure Python (no Dagster): `recsys_assets/instance/model_versions.py` reads the materializations from the Dagster
instance as plain dicts of metadata; the asset's history in the Dagster UI is the registry itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ModelVersion:
    version: str
    trained_at: str
    run_id: str
    git_commit: str
    data_version: str
    params: dict
    fit_seconds: float | None
    metrics: dict = field(default_factory=dict)  # model_metrics metadata of this version (empty: not evaluated)

    def metric(self, name: str) -> float | None:
        """A metric by its name without @K (e.g. 'model_map', 'popularity_map'), whatever K was used."""
        for key, value in self.metrics.items():
            if key == name or key.startswith(f"{name}@"):
                return value
        return None

    def k(self) -> int | None:
        for key in self.metrics:
            if key.startswith("model_map@"):
                return int(key.split("@", 1)[1])
        return None


def join_versions(models: Iterable[Mapping], metrics: Iterable[Mapping]) -> list[ModelVersion]:
    """One ModelVersion per `als_model` materialization (newest first, as given), with the newest metrics of
    the same `model_version`. Each input mapping holds 'metadata', 'run_id' and 'timestamp' (ISO text)."""
    metrics_by_version: dict[str, dict] = {}
    for record in metrics:  # newest first: keep the first seen per version
        version = record["metadata"].get("model_version")
        if version and version not in metrics_by_version:
            metrics_by_version[version] = {
                key: value
                for key, value in record["metadata"].items()
                if isinstance(value, int | float) and not isinstance(value, bool)
            }
    versions = []
    for record in models:
        meta = record["metadata"]
        version = str(meta.get("model_version", "unknown"))
        fit = meta.get("fit_seconds")
        versions.append(
            ModelVersion(
                version=version,
                trained_at=str(meta.get("trained_at") or record["timestamp"]),
                run_id=record["run_id"],
                git_commit=str(meta.get("git_commit", "unknown")),
                data_version=str(meta.get("data_version", "unknown")),
                params=dict(meta.get("params") or {}),
                fit_seconds=float(fit) if isinstance(fit, int | float) else None,
                metrics=metrics_by_version.get(version, {}),
            )
        )
    return versions


PARAM_SUMMARY_KEYS = (
    "model",
    "factors",
    "regularization",
    "iterations",
    "weighting",
    "alpha",
    "similarity",
    "neighbours",
)


def params_summary(params: Mapping) -> str:
    """The main settings of the selected candidate, its family's nested settings (als, knn, bpr) flattened."""
    flat = {key: value for key, value in params.items() if not isinstance(value, Mapping)}
    for nested in ("als", "knn", "bpr"):
        if isinstance(params.get(nested), Mapping):
            flat.update(params[nested])
    return " ".join(f"{key}={flat[key]}" for key in PARAM_SUMMARY_KEYS if key in flat) or "-"


def format_table(versions: list[ModelVersion]) -> str:
    """A plain-text table: version, trained at, params summary, MAP@K model vs popularity, git commit."""
    header = ("version", "trained_at", "params", "map@k model", "map@k popularity", "git")
    rows = []
    for item in versions:
        model_map, popularity_map = item.metric("model_map"), item.metric("popularity_map")
        k = item.k()
        rows.append(
            (
                item.version,
                item.trained_at[:19],
                params_summary(item.params),
                f"{model_map:.4f} @{k}" if model_map is not None else "not evaluated",
                f"{popularity_map:.4f}" if popularity_map is not None else "-",
                item.git_commit[:10],
            )
        )
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)) for row in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)


def format_registered(registered: list[dict], live: Mapping[str, str]) -> str:
    """The registered model versions (MlflowModelRegistry.describe(), newest first) as a plain-text table: our
    version, MLflow's version number and run id, its aliases, and the targets whose live store version names it
    (the champion of that target)."""
    if not registered:
        return "    no registered model version yet"
    header = ("version", "mlflow", "run_id", "aliases", "live in")
    rows = [
        (
            item["version"],
            f"v{item['mlflow_version']}",
            item["run_id"] or "-",
            ",".join(item.get("aliases") or []) or "-",
            ",".join(target for target, version in live.items() if version == item["version"]) or "-",
        )
        for item in registered
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        ("    " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))).rstrip()
        for row in [header, *rows]
    )


def mlflow_ui_hint(tracking_uri: str, artifact_location: str | None) -> str:
    """How to open the MLflow UI on this registry: `make mlflow-ui` (an `mlflow ui` on the local store), or the
    tracking server itself."""
    if tracking_uri.startswith(("http://", "https://")):
        return f"open the MLflow UI at {tracking_uri}"
    if tracking_uri.startswith(("sqlite:", "postgresql", "mysql", "mssql", "file:")) or "://" not in tracking_uri:
        artifacts = f" --default-artifact-root {artifact_location}" if artifact_location else ""
        return f"open the MLflow UI: make mlflow-ui (mlflow ui --backend-store-uri {tracking_uri}{artifacts})"
    return f"open the MLflow UI of {tracking_uri.split('://', 1)[0]}:// (the workspace's own UI)"
