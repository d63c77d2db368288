"""The model gate: may a candidate model replace the live one? A pure decision on offline metrics.

The candidate must beat the popularity baseline (MAP@K above `min_lift` x popularity's MAP@K) and must not be
worse than the published champion by more than `tolerance` (relative), both scored on the same hold-out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..data.split import TemporalSplit
from ..modeling.training import evaluate, inactive_item_indices
from ..stores.model_registry import ModelRegistry
from ..stores.store import RecommendationStore


@dataclass(frozen=True)
class GateVerdict:
    passed: bool
    candidate_map: float
    popularity_map: float
    champion_map: float | None
    reasons: list[str] = field(default_factory=list)

    def message(self) -> str:
        return ("accepted: " if self.passed else "refused: ") + "; ".join(self.reasons)


def judge_candidate(
    candidate_map: float,
    popularity_map: float,
    champion_map: float | None,
    tolerance: float,
    min_lift: float = 1.0,
    k: int = 10,
    champion_note: str = "",
    candidate_is_popularity: bool = False,
) -> GateVerdict:
    """Decide whether the candidate may be published.

    Parameters
    ----------
    candidate_map, popularity_map : float
        MAP@K of the candidate and of the popularity baseline on the candidate's hold-out.
    champion_map : float or None
        MAP@K of the live champion on the same hold-out; None when there is no champion to compare with.
    tolerance : float
        The candidate may be at most this fraction worse than the champion (0.05: down to 95 % of its MAP@K).
    min_lift : float
        The candidate's MAP@K must exceed popularity's times this factor (1.0: simply beat it).
    champion_note : str
        Why there is no champion figure (no published version yet, model no longer in the registry, ...).
    candidate_is_popularity : bool
        Model selection chose the popularity baseline itself: publishing it is never worse than popularity, so
        only the champion condition applies.
    """
    if tolerance < 0 or min_lift < 0:
        raise ValueError(f"tolerance and min_lift must not be negative, got {tolerance}, {min_lift}")
    reasons = []
    if candidate_is_popularity:
        beats_popularity = True
        reasons.append(f"the selected model is the popularity baseline (MAP@{k} {candidate_map:.4f})")
    else:
        beats_popularity = candidate_map > popularity_map * min_lift
        relation = ">" if beats_popularity else "<="
        reasons.append(
            f"MAP@{k} {candidate_map:.4f} {relation} {min_lift:g} x popularity {popularity_map:.4f}"
            + ("" if beats_popularity else " (must beat the popularity baseline)")
        )
    keeps_up = True
    if champion_map is None:
        reasons.append(f"no champion comparison: {champion_note or 'no published champion'}")
    else:
        floor = champion_map * (1 - tolerance)
        keeps_up = candidate_map >= floor
        reasons.append(
            f"MAP@{k} {candidate_map:.4f} {'>=' if keeps_up else '<'} champion {champion_map:.4f} x (1 - {tolerance:g})"
            f" = {floor:.4f}" + ("" if keeps_up else " (worse than the live champion beyond the tolerance)")
        )
    return GateVerdict(beats_popularity and keeps_up, candidate_map, popularity_map, champion_map, reasons)


@dataclass(frozen=True)
class ChampionScore:
    version: str | None
    map: float | None
    note: str


def score_champion(
    store: RecommendationStore,
    registry: ModelRegistry,
    candidate_version: str,
    candidate_map: float,
    split: TemporalSplit,
    products: pd.DataFrame,
    k: int,
    exclude_purchased: bool,
) -> ChampionScore:
    """MAP@K of the live champion on the candidate's hold-out, or None with the reason (`note`).

    The champion is the model version recorded in the live store version's metadata. Its `evaluation` model
    (fitted before its own cutoff) is scored, unless it saw data from the candidate's hold-out period.
    """
    live = store.live_version()
    if live is None:
        return ChampionScore(None, None, "nothing is published yet")
    info = next((v for v in store.versions() if v.version == live), None)
    version = (info.metadata if info else {}).get("model_version")
    if version is None:
        return ChampionScore(None, None, f"the live version {live} records no model version")
    if version == candidate_version:
        return ChampionScore(version, candidate_map, "the candidate is the live champion")
    champion = registry.load(version)
    if champion is None:
        return ChampionScore(version, None, f"champion model {version} is not in the registry {registry.root}")
    if champion.evaluation.trained_until >= split.cutoff:
        return ChampionScore(
            version,
            None,
            f"champion {version} was trained on data up to {champion.evaluation.trained_until}, inside the "
            f"candidate's hold-out (from {split.cutoff}): no fair comparison",
        )
    model = champion.evaluation
    scored = evaluate(model, split.test, k, exclude_purchased, inactive_item_indices(model, products))
    return ChampionScore(version, float(scored["model"]["map"]), "scored on the candidate's hold-out")
