"""The model registry on MLflow: every model that went to the gate as an MLflow run plus a registered model version.

One MLflow run per model version, in an experiment named like the registered model (`recsys-<deployment>`): the
model's params, its hold-out metrics with their bootstrap intervals, tags (our model version, data version,
trained_until, git commit) and artifacts (the pickled `ModelArtifact`, `history.json`, `lists.json`, the candidate
table of model selection). Then, LAST, a version of the registered model, tagged with our version string.

Only registered versions count: `versions()`, `load()`, `history()` and `list_settings()` look a model up through
its registered version. A run killed while registering leaves an MLflow run without a registered version, which
they ignore; registering the same model version again reuses that run, and `prune` deletes such runs once they
are older than `orphan_grace_seconds` (younger ones may belong to a registration still under way).

mlflow is imported lazily (about 2 s): the serving app and the code location load without it.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import pickle
import tempfile
import time
from pathlib import Path

from ..faults import failpoint
from ..lifecycle.order_history import HistorySample
from ..modeling.artifact import ModelArtifact
from ..modeling.fold_in import ListSettings
from .model_registry import _RenamedModulesUnpickler

VERSION_TAG = "recsys.model_version"  # our version string, on the run and on the registered version
LIST_SETTINGS_TAG = "recsys.list_settings"  # ListSettings JSON, on the run (also the artifact lists.json)
MODEL_FILE, HISTORY_FILE, SETTINGS_FILE, CANDIDATES_FILE = "model.pkl", "history.json", "lists.json", "candidates.csv"
MODEL_DIR = "model"  # the artifact folder a registered version points at


def quiet_mlflow() -> None:
    """No telemetry and no INFO chatter (database migrations, "Created version ..."): set before mlflow is imported."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # mlflow sets its loggers' level from it on import
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no tqdm bars on stderr in run logs
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # no "View run ... at" per registration
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def mlflow_client(tracking_uri: str):
    quiet_mlflow()
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def metric_entries(model_metrics: dict | None) -> dict[str, float]:
    """The hold-out metrics of `model_metrics` (the asset's summary) as MLflow metric names: each metric of the
    model and of popularity with its bootstrap interval (`model_map_at_10`, `..._low`, `..._high`) and the lead."""
    if not model_metrics:
        return {}
    k, intervals, flat = model_metrics.get("k", 0), model_metrics.get("intervals") or {}, {}
    for side in ("model", "popularity"):
        for metric, value in (model_metrics.get(side) or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                flat[f"{side}_{metric}_at_{k}" if metric != "evaluated_users" else f"{side}_{metric}"] = value
    for name, interval in intervals.items():
        for bound in ("low", "high"):
            if isinstance(interval, dict) and bound in interval:
                flat[f"{name}_at_{k}_{bound}"] = interval[bound]
    return {key: float(value) for key, value in flat.items() if math.isfinite(float(value))}


def candidate_table(artifact: ModelArtifact) -> str | None:
    """Model selection's candidates (label, params, validation metrics, timings, error) as CSV; None without one."""
    if artifact.selection is None:
        return None
    import pandas as pd

    rows = [
        {
            "label": c.label,
            "winner": c.label == artifact.selection.winner,
            "params": json.dumps(c.config.as_dict(), sort_keys=True),
            **{f"validation_{m}": v for m, v in c.metrics.items()},
            "fit_seconds": c.fit_seconds,
            "score_seconds": c.score_seconds,
            "error": c.error or "",
        }
        for c in artifact.selection.candidates
    ]
    return pd.DataFrame(rows).to_csv(index=False)


class MlflowModelRegistry:
    """Model versions in an MLflow tracking server and model registry (see the module docstring).

    tracking_uri : the MLflow tracking and registry URI (`sqlite:///...` locally, the server in dev/prod).
    model_name : the registered model, also the name of the experiment holding the runs.
    artifact_location : where a new experiment keeps its artifacts (None: the server's default artifact root).
    """

    def __init__(
        self,
        tracking_uri: str,
        model_name: str,
        artifact_location: str | None = None,
        orphan_grace_seconds: float = 3600.0,
    ):
        self.tracking_uri = tracking_uri
        self.model_name = model_name
        self.artifact_location = artifact_location
        self.orphan_grace_seconds = orphan_grace_seconds
        self._client = None
        self._experiment_id: str | None = None

    @property
    def public_uri(self) -> str:
        """The tracking URI without any credentials in it (for messages and hints)."""
        scheme, sep, rest = self.tracking_uri.partition("://")
        host, slash, path = rest.partition("/")
        return f"{scheme}{sep}{host.rsplit('@', 1)[-1]}{slash}{path}" if sep and "@" in host else self.tracking_uri

    @property
    def location(self) -> str:
        """Where the registry is, for messages."""
        return f"MLflow model {self.model_name!r} at {self.public_uri}"

    @property
    def client(self):
        if self._client is None:
            self._client = mlflow_client(self.tracking_uri)
        return self._client

    # --- runs and registered versions -------------------------------------------------------------------------
    def experiment_id(self) -> str:
        if self._experiment_id is None:
            experiment = self.client.get_experiment_by_name(self.model_name)
            if experiment is None:
                from mlflow.exceptions import MlflowException

                try:
                    self._experiment_id = self.client.create_experiment(
                        self.model_name, artifact_location=self.artifact_location
                    )
                except MlflowException:  # created meanwhile by another process
                    self._experiment_id = self.client.get_experiment_by_name(self.model_name).experiment_id
            else:
                self._experiment_id = experiment.experiment_id
        return self._experiment_id

    def _runs(self, version: str | None = None) -> list:
        """Our runs (of `version`), newest first."""
        query = f"tags.`{VERSION_TAG}` = '{_quoted(version)}'" if version else f"tags.`{VERSION_TAG}` != ''"
        return self.client.search_runs(
            [self.experiment_id()], filter_string=query, order_by=["attributes.start_time DESC"], max_results=1000
        )

    def _registered(self) -> list:
        """The registered versions carrying our version tag, newest first."""
        from mlflow.exceptions import MlflowException

        try:
            found = self.client.search_model_versions(f"name = '{_quoted(self.model_name)}'")
        except MlflowException as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                return []
            raise
        found = [v for v in found if v.tags.get(VERSION_TAG)]
        return sorted(found, key=lambda v: (int(v.creation_timestamp or 0), int(v.version)), reverse=True)

    def registered_version(self, version: str):
        """The MLflow model version registered for our `version` (newest), or None."""
        return next((v for v in self._registered() if v.tags.get(VERSION_TAG) == version), None)

    def _run_for(self, version: str, create: bool):
        """The run of a registered `version`; else the newest run of it (one a killed registration left); else a
        new run when `create`."""
        _check(version)
        registered = self.registered_version(version)
        if registered is not None and registered.run_id:
            return self.client.get_run(registered.run_id)
        runs = self._runs(version)
        if runs:
            return runs[0]
        if not create:
            return None
        return self.client.create_run(self.experiment_id(), tags={VERSION_TAG: version}, run_name=version)

    def _log_text(self, run_id: str, text: str | bytes, name: str, folder: str | None = None) -> None:
        with tempfile.TemporaryDirectory(prefix="recsys-mlflow-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
            self.client.log_artifact(run_id, str(path), folder)

    def _read_text(self, run_id: str, name: str) -> bytes | None:
        from mlflow.exceptions import MlflowException

        with tempfile.TemporaryDirectory(prefix="recsys-mlflow-") as tmp:
            try:
                path = self.client.download_artifacts(run_id, name, tmp)
            except (MlflowException, OSError):
                return None
            return Path(path).read_bytes() if Path(path).is_file() else None

    # --- the registry interface (as core/stores/model_registry.ModelRegistry) ---------------------------------
    def save(self, artifact: ModelArtifact, metrics: dict | None = None, tags: dict[str, str] | None = None) -> str:
        """Log `artifact` (params, `metrics`, `tags`, artifacts) to the run of its version, then register it.

        Returns the MLflow model version number. The registered version is created last: a kill before it leaves
        an unregistered run, invisible to `versions()` and `load()`."""
        from mlflow.entities import Metric, Param, RunTag

        run = self._run_for(artifact.version, create=True)
        run_id = run.info.run_id
        serving = artifact.serving
        config = serving.config.as_dict() if serving is not None else {}
        params = {key: str(value)[:6000] for key, value in config.items() if key not in run.data.params}  # immutable
        now = int(time.time() * 1000)
        run_tags = {
            VERSION_TAG: artifact.version,
            "recsys.data_version": artifact.data_version,
            **(
                {"recsys.trained_until": str(serving.trained_until), "recsys.model": serving.config.label}
                if serving
                else {}
            ),
            **({"recsys.window_start": str(artifact.window_start)} if artifact.window_start is not None else {}),
            **({"recsys.selection_winner": artifact.selection.winner} if artifact.selection else {}),
            **{f"recsys.{key}": str(value) for key, value in (tags or {}).items()},
        }
        self.client.log_batch(
            run_id,
            metrics=[Metric(key, value, now, 0) for key, value in metric_entries(metrics).items()],
            params=[Param(key, value) for key, value in params.items()],
            tags=[RunTag(key, value) for key, value in run_tags.items()],
        )
        self._log_text(run_id, pickle.dumps(artifact, pickle.HIGHEST_PROTOCOL), MODEL_FILE, MODEL_DIR)
        table = candidate_table(artifact)
        if table is not None:
            self._log_text(run_id, table, CANDIDATES_FILE)
        if metrics:
            self._log_text(run_id, json.dumps(metrics, sort_keys=True, default=str), "model_metrics.json")
        self.client.set_terminated(run_id)
        failpoint("registry.before_register")  # the run logged, its registered version not yet created
        existing = self.registered_version(artifact.version)
        if existing is not None:  # the same model registered again: its run was updated above
            return str(existing.version)
        return str(self._register(run_id, artifact.version).version)

    def _register(self, run_id: str, version: str):
        from mlflow.exceptions import MlflowException

        try:
            self.client.create_registered_model(
                self.model_name, description="recsys models (the model gate's registry)"
            )
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        source = f"{self.client.get_run(run_id).info.artifact_uri.rstrip('/')}/{MODEL_DIR}"
        return self.client.create_model_version(self.model_name, source, run_id=run_id, tags={VERSION_TAG: version})

    def save_history(self, version: str, sample: HistorySample) -> str:
        """Record the order lines model `version` learned from (logged before the model, see register_candidate)."""
        run = self._run_for(version, create=True)
        self._log_text(run.info.run_id, sample.to_json(), HISTORY_FILE)
        return run.info.run_id

    def history(self, version: str) -> HistorySample | None:
        """The order lines recorded with registered model `version`; None when it has none or is not registered."""
        registered = self.registered_version(version) if version else None
        data = self._read_text(registered.run_id, HISTORY_FILE) if registered is not None else None
        return HistorySample.from_json(data.decode("utf-8")) if data is not None else None

    def save_list_settings(self, version: str, settings: ListSettings) -> str:
        """Record how the lists of model `version` are built: a tag (read without a download) and `lists.json`."""
        run = self._run_for(version, create=True)
        text = settings.to_json()
        self._log_text(run.info.run_id, text, SETTINGS_FILE)
        self.client.set_tag(run.info.run_id, LIST_SETTINGS_TAG, text)
        return run.info.run_id

    def list_settings(self, version: str) -> ListSettings | None:
        """How the lists of registered model `version` were built; None when not recorded or not registered."""
        registered = self.registered_version(version) if version else None
        if registered is None:
            return None
        run = self.client.get_run(registered.run_id)
        text = run.data.tags.get(LIST_SETTINGS_TAG)
        if text is None:
            data = self._read_text(registered.run_id, SETTINGS_FILE)
            text = data.decode("utf-8") if data is not None else None
        return ListSettings.from_json(text) if text else None

    def load(self, version: str) -> ModelArtifact | None:
        """The artifact of registered model `version`, or None when it is not (or no longer) registered."""
        registered = self.registered_version(version) if version else None
        data = self._read_text(registered.run_id, f"{MODEL_DIR}/{MODEL_FILE}") if registered is not None else None
        return _RenamedModulesUnpickler(io.BytesIO(data)).load() if data is not None else None

    def versions(self) -> list[str]:
        """Registered model versions (ours), newest first."""
        seen, ordered = set(), []
        for registered in self._registered():
            version = registered.tags[VERSION_TAG]
            if version not in seen:
                seen.add(version)
                ordered.append(version)
        return ordered

    def describe(self) -> list[dict]:
        """Each registered version (newest first): ours, MLflow's version number, run id, aliases."""
        return [
            {
                "version": v.tags[VERSION_TAG],
                "mlflow_version": str(v.version),
                "run_id": v.run_id,
                "aliases": list(getattr(v, "aliases", []) or []),
                "created": int(v.creation_timestamp or 0),
            }
            for v in self._registered()
        ]

    def prune(self, keep: int, protect: set[str] | None = None) -> list[str]:
        """Delete all but the newest `keep` registered versions (and their runs), never one in `protect` (the live
        champion); also the runs of registrations killed before registering, once older than the grace period."""
        protect = protect or set()
        removed = [v for v in self.versions()[keep:] if v not in protect]
        for registered in self._registered():
            if registered.tags[VERSION_TAG] in removed:
                self.client.delete_model_version(self.model_name, registered.version)
                if registered.run_id:
                    self._delete_run(self.client.get_run(registered.run_id))
        registered_runs = {v.run_id for v in self._registered()}
        cutoff = (time.time() - self.orphan_grace_seconds) * 1000
        for run in self._runs():
            orphan = run.info.run_id not in registered_runs and run.data.tags.get(VERSION_TAG) not in protect
            if orphan and run.info.start_time < cutoff:
                self._delete_run(run)
        return removed

    def _delete_run(self, run) -> None:
        """Delete `run` with its artifacts: MLflow only marks a deleted run (its artifacts stay until `mlflow gc`), and
        a model's pickle is the bulk of the registry's storage."""
        from mlflow.exceptions import MlflowException
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        try:
            get_artifact_repository(run.info.artifact_uri, tracking_uri=self.tracking_uri).delete_artifacts()
        except (MlflowException, OSError, NotImplementedError) as error:  # the run is deleted all the same
            logging.getLogger(__name__).warning(f"model registry: artifacts of run {run.info.run_id} kept: {error}")
        self.client.delete_run(run.info.run_id)

    def set_alias(self, alias: str, version: str) -> bool:
        """Point MLflow alias `alias` at registered model `version` (False when it is not registered)."""
        registered = self.registered_version(version)
        if registered is None:
            return False
        self.client.set_registered_model_alias(self.model_name, alias, registered.version)
        return True


def _check(version: str) -> None:
    if not version or "/" in version or version.startswith("."):
        raise ValueError(f"invalid model version {version!r}")


def _quoted(value: str) -> str:
    return value.replace("'", "\\'")


def import_folder_registry(folder: Path, registry: MlflowModelRegistry) -> list[str]:
    """Register the models of an older home's folder of pickles (`<version>.pkl`, `.history.json`, `.lists.json`)
    in MLflow, oldest first (so `versions()` keeps their order), then rename the folder `<folder>.imported`: done
    once, and the files stay for whoever wants them. Versions already registered are skipped. The live champion may
    be among them: the gate and the fold-ins find it in MLflow afterwards."""
    from .model_registry import ModelRegistry

    if not folder.is_dir() or not any(folder.glob("*.pkl")):
        return []
    old = ModelRegistry(folder)
    known, imported = set(registry.versions()), []
    for version in reversed(old.versions()):
        if version in known:
            continue
        history = old.history(version)
        if history is not None:
            registry.save_history(version, history)
        registry.save(old.load(version), tags={"imported_from": str(folder / f"{version}.pkl")})
        settings = old.list_settings(version)
        if settings is not None:
            registry.save_list_settings(version, settings)
        imported.append(version)
    folder.rename(folder.with_name(folder.name + ".imported"))
    return imported


def open_registry(
    tracking_uri: str, model_name: str, artifact_location: str = "", legacy_folder: str = ""
) -> MlflowModelRegistry:
    """The registry of the deployment (arguments from settings.model_registry_settings); the models of an older
    local folder registry are imported first."""
    registry = MlflowModelRegistry(tracking_uri, model_name, artifact_location or None)
    if legacy_folder:
        import_folder_registry(Path(legacy_folder), registry)
    return registry
