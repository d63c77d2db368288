"""The model gate: may a candidate model replace the live one? A pure decision on offline metrics.

The candidate must beat the popularity baseline (MAP@K above `min_lift` x popularity's MAP@K) and must not be
worse than the published champion by more than `tolerance` (relative), both scored on the same hold-out.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    """
    if tolerance < 0 or min_lift < 0:
        raise ValueError(f"tolerance and min_lift must not be negative, got {tolerance}, {min_lift}")
    reasons = []
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
