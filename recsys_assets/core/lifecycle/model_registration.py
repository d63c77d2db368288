"""Registering a candidate model: the registry keeps every model that went to the gate, so that once published it
can be scored as the champion of a later candidate; the newest N are kept, and always the live one. With each model
a sample of the order lines it learned from (core/lifecycle/order_history.py), by which the gate later tells
whether the source still holds that order history."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..modeling.artifact import ModelArtifact
from ..stores.registry import Registry
from ..stores.store import RecommendationStore
from .model_gate import live_version_info
from .order_history import HistorySample


@dataclass(frozen=True)
class Registration:
    version: str
    live_model_version: str | None  # the model behind the store's live version (kept whatever `keep` says)
    pruned: list[str] = field(default_factory=list)


def live_model_version(store: RecommendationStore) -> str | None:
    """The model version recorded with the store's live version; None when nothing is live or it records none."""
    info = live_version_info(store)
    return info.metadata.get("model_version") if info else None


def register_candidate(
    registry: Registry,
    artifact: ModelArtifact,
    store: RecommendationStore,
    keep: int,
    history: HistorySample | None = None,
    metrics: dict | None = None,
    tags: dict[str, str] | None = None,
) -> Registration:
    """Save `artifact` (and `history`, the order lines it learned from; `metrics`, its hold-out figures; `tags`, such
    as the git commit) and prune the registry to the newest `keep` versions, never the candidate or the live model.

    The sample is written before the model, and the model is registered last (MLflow: the registered version is
    created after the run's artifacts): a registered model always has its sample, even after a kill between the
    writes (a model without one is judged by the old rule, see `model_gate.score_champion`)."""
    if history is not None:
        registry.save_history(artifact.version, history)
    registry.save(artifact, metrics=metrics, tags=tags)
    live = live_model_version(store)
    pruned = registry.prune(keep, protect={v for v in (artifact.version, live) if v})
    return Registration(artifact.version, live, pruned)
