"""What the model gate, registration and the fold-ins ask of a model registry (MlflowModelRegistry; the folder
registry of older homes, ModelRegistry, reads the same way)."""

from __future__ import annotations

from typing import Protocol

from ..lifecycle.order_history import HistorySample
from ..modeling.artifact import ModelArtifact
from ..modeling.fold_in import ListSettings


class Registry(Protocol):
    @property
    def location(self) -> str: ...

    def save(self, artifact: ModelArtifact, metrics: dict | None = None, tags: dict[str, str] | None = None): ...

    def save_history(self, version: str, sample: HistorySample): ...

    def history(self, version: str) -> HistorySample | None: ...

    def save_list_settings(self, version: str, settings: ListSettings): ...

    def list_settings(self, version: str) -> ListSettings | None: ...

    def load(self, version: str) -> ModelArtifact | None: ...

    def versions(self) -> list[str]: ...

    def prune(self, keep: int, protect: set[str] | None = None) -> list[str]: ...
