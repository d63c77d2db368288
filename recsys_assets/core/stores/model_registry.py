"""The folder model registry of older homes: every judged `ModelArtifact` pickled by version, the newest N kept.

Model versions now live in MLflow (core/stores/mlflow_registry.py); a local home that still holds this folder
(`RECSYS_HOME/models`) is imported from it once (`import_folder_registry`). This class reads (and, for that
import's tests, writes) the folder.

The model gate needs the live champion's model to score it on the candidate's hold-out; the champion is the
model version recorded in the live store version's metadata, looked up here. Next to each model, a sample of the
order lines it learned from (`<version>.history.json`, core/lifecycle/order_history.py): small and readable without
unpickling the model, it tells the gate whether the source still holds that order history.
"""

from __future__ import annotations

import pickle
from pathlib import Path

from ..lifecycle.order_history import HistorySample
from ..modeling.artifact import ModelArtifact
from ..modeling.fold_in import ListSettings
from .files import write_atomically

# Artifacts saved before core/ was grouped into packages name the old flat modules; the live champion may be one.
_CORE = "recsys_assets.core."
_MOVED_MODULES = {
    **{
        f"{_CORE}{m}": f"{_CORE}modeling.{m}"
        for m in ("matrix", "models", "knn", "bpr", "candidates", "selection", "training", "metrics")
    },
    **{f"{_CORE}{m}": f"{_CORE}data.{m}" for m in ("schema", "split", "cleaning")},
}


class _RenamedModulesUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module == f"{_CORE}training" and name == "ModelArtifact":
            module = f"{_CORE}modeling.artifact"
        return super().find_class(_MOVED_MODULES.get(module, module), name)


class ModelRegistry:
    """Pickled model artifacts under `root`, one file per version (`<version>.pkl`)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def location(self) -> str:
        return str(self.root)

    def _path(self, version: str) -> Path:
        if not version or "/" in version or version.startswith("."):
            raise ValueError(f"invalid model version {version!r}")
        return self.root / f"{version}.pkl"

    def save(self, artifact: ModelArtifact, metrics: dict | None = None, tags: dict[str, str] | None = None) -> Path:
        """Store `artifact` under its version (atomically: a reader never sees half a file); the folder keeps
        neither `metrics` nor `tags` (MLflow does)."""
        return write_atomically(self._path(artifact.version), pickle.dumps(artifact, pickle.HIGHEST_PROTOCOL))

    def _history_path(self, version: str) -> Path:
        return self._path(version).with_suffix(".history.json")

    def save_history(self, version: str, sample: HistorySample) -> Path:
        """Record the order lines model `version` learned from (atomically)."""
        return write_atomically(self._history_path(version), sample.to_json().encode("utf-8"))

    def history(self, version: str) -> HistorySample | None:
        """The order lines recorded with model `version`; None for a model registered before samples were recorded
        (or registered without one)."""
        path = self._history_path(version)
        return HistorySample.from_json(path.read_text(encoding="utf-8")) if path.exists() else None

    def _settings_path(self, version: str) -> Path:
        return self._path(version).with_suffix(".lists.json")

    def save_list_settings(self, version: str, settings: ListSettings) -> Path:
        """Record how the lists of model `version` are built (a fold-in builds a customer's lists the same way)."""
        return write_atomically(self._settings_path(version), settings.to_json().encode("utf-8"))

    def list_settings(self, version: str) -> ListSettings | None:
        """How the lists of model `version` were built; None for a model registered before they were recorded."""
        path = self._settings_path(version)
        return ListSettings.from_json(path.read_text(encoding="utf-8")) if path.exists() else None

    def load(self, version: str) -> ModelArtifact | None:
        """The artifact of `version`, or None when it is not (or no longer) in the registry."""
        path = self._path(version)
        if not path.exists():
            return None
        with path.open("rb") as stream:
            return _RenamedModulesUnpickler(stream).load()

    def versions(self) -> list[str]:
        """Stored versions, newest first."""
        if not self.root.exists():
            return []
        files = sorted(self.root.glob("*.pkl"), key=lambda p: p.stat().st_mtime, reverse=True)
        return [p.stem for p in files]

    def prune(self, keep: int, protect: set[str] | None = None) -> list[str]:
        """Delete all but the newest `keep` versions, never one in `protect` (the live champion); returns them."""
        protect = protect or set()
        removed = [v for v in self.versions()[keep:] if v not in protect]
        for version in removed:
            self._path(version).unlink(missing_ok=True)
            self._history_path(version).unlink(missing_ok=True)
            self._settings_path(version).unlink(missing_ok=True)
        return removed
