"""The model gate: may a candidate model replace the live one? A pure decision on offline metrics.

The candidate must beat the popularity baseline (MAP@K above `min_lift` x popularity's MAP@K) and must not be
worse than the published champion by more than `tolerance` (relative), both scored on the same hold-out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..data.split import TemporalSplit
from ..modeling.training import evaluate, inactive_item_indices
from ..stores.registry import Registry
from ..stores.store import RecommendationStore, VersionInfo
from .order_history import LineFinder, history_overlap


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
    champion_live: bool = False,
    lead_is_real: bool = True,
) -> GateVerdict:
    """Decide whether the candidate lists may be published: never anything worse than the best we have.

    Parameters
    ----------
    candidate_map, popularity_map : float
        MAP@K of the candidate and of the popularity baseline on the candidate's hold-out.
    champion_map : float or None
        MAP@K of the live champion on the same hold-out; None when it cannot be scored (or nothing is live).
    tolerance : float
        The candidate may be at most this fraction worse than the champion (0.05: down to 95 % of its MAP@K).
    min_lift : float
        A model's MAP@K must exceed popularity's times this factor (1.0: simply beat it).
    champion_note : str
        Why there is no champion figure (no published version yet, model no longer in the registry, ...).
    candidate_is_popularity : bool
        The candidate lists are popularity's (selection chose it, or the model showed no lead beyond noise).
        Popularity is a valid model: with nothing live it is published, so the shop is never left empty-handed;
        with a live champion it must keep up with it like any candidate.
    champion_live : bool
        Something is live: an unscorable champion is kept rather than replaced by popularity lists.
    lead_is_real : bool
        The model's lead over popularity is beyond noise (the lower bound of its bootstrap interval is > 0).
    """
    if tolerance < 0 or min_lift < 0:
        raise ValueError(f"tolerance and min_lift must not be negative, got {tolerance}, {min_lift}")
    reasons = []
    if candidate_is_popularity:
        beats_popularity = True
        reasons.append(f"the candidate lists are the popularity baseline's (MAP@{k} {candidate_map:.4f})")
    else:
        beats_popularity = candidate_map > popularity_map * min_lift and lead_is_real
        relation = ">" if candidate_map > popularity_map * min_lift else "<="
        reasons.append(
            f"MAP@{k} {candidate_map:.4f} {relation} {min_lift:g} x popularity {popularity_map:.4f}"
            + ("" if candidate_map > popularity_map * min_lift else " (must beat the popularity baseline)")
            + ("" if lead_is_real else " but the lead is within noise")
        )
    keeps_up = True
    if champion_map is None:
        if candidate_is_popularity and champion_live:
            keeps_up = False
            reasons.append(
                f"the live champion cannot be scored on this hold-out ({champion_note}); popularity lists do not "
                "replace it: the champion is kept"
            )
        elif candidate_is_popularity:
            reasons.append(
                f"nothing is live ({champion_note or 'no published champion'}): the popularity lists "
                "are published so the shop is not left without recommendations"
            )
        else:
            reasons.append(f"no champion comparison: {champion_note or 'no published champion'}")
    else:
        floor = champion_map * (1 - tolerance)
        keeps_up = candidate_map >= floor
        reasons.append(
            f"MAP@{k} {candidate_map:.4f} {'>=' if keeps_up else '<'} champion {champion_map:.4f} x (1 - {tolerance:g})"
            f" = {floor:.4f}" + ("" if keeps_up else " (worse than the live champion beyond the tolerance)")
        )
    return GateVerdict(beats_popularity and keeps_up, candidate_map, popularity_map, champion_map, reasons)


def live_version_info(store: RecommendationStore, live: str | None = None) -> VersionInfo | None:
    """What the store records about its live version (`live`, else asked), or None when nothing is live."""
    live = live or store.live_version()
    return next((v for v in store.versions() if v.version == live), None) if live else None


@dataclass(frozen=True)
class ChampionScore:
    version: str | None  # None: nothing is live (or nothing that learned from the current order history)
    map: float | None  # None: the champion cannot be scored on the candidate's hold-out (see `note`)
    note: str
    history: str = ""  # how the champion's order history was recognised in the source (or not)


def score_champion(
    store: RecommendationStore,
    registry: Registry,
    candidate_version: str,
    candidate_map: float,
    split: TemporalSplit,
    products: pd.DataFrame,
    k: int,
    exclude_purchased: bool,
    popularity_map: float | None = None,
    candidate_is_popularity: bool = False,
    orders_replaced_at: pd.Timestamp | None = None,
    find_lines: LineFinder | None = None,
) -> ChampionScore:
    """MAP@K of the live champion on the candidate's hold-out, or None with the reason (`note`).

    The champion is the model version recorded in the live store version's metadata. It must have learned from the
    order history the source holds now, else it is no champion, as if nothing were live (a demo's lists when the
    shop's own export was imported, another shop's export): decided from the data, not from the act of importing,
    so that a nightly full re-export of the same shop keeps its champion:

    - the order lines sampled from the champion's training window when it was registered (`registry.history`) are
      looked up in the source (`find_lines`, see core/lifecycle/order_history.py): at least half of them found with
      the same order id, line number, customer, product and day is the same history;
    - a champion registered before samples were recorded has none: for it the former rule holds, a version
      published before the orders were last replaced as a whole (`orders_replaced_at`: `import-orders` without
      --append, `generate`) learned from another order history. The next model published carries a sample.

    When the live version serves popularity lists (`published_model`), it is scored as popularity on the
    candidate's hold-out (`popularity_map`). Otherwise its `evaluation` model (fitted before its own cutoff) is
    scored, unless it saw data from the candidate's hold-out.
    """
    live = store.live_version()
    if live is None:
        return ChampionScore(None, None, "nothing is published yet")
    info = live_version_info(store, live)
    metadata = info.metadata if info else {}
    version = metadata.get("model_version")
    sample = registry.history(version) if version and find_lines is not None else None
    history = ""
    if sample is not None:
        overlap = history_overlap(sample, find_lines)
        history = f"model {version}: {overlap.describe()}"
        if not overlap.same_history:
            return ChampionScore(
                None, None, f"the live version {live} learned from another order history: {history}", history
            )
    elif info is not None and orders_replaced_at is not None and pd.Timestamp(info.published_at) < orders_replaced_at:
        return ChampionScore(
            None,
            None,
            f"the live version {live} (published {info.published_at}) learned from the orders replaced on "
            f"{orders_replaced_at.isoformat()}, another order history (it records no order-line sample: judged by "
            "when the orders were last replaced)",
        )
    elif version is not None:
        history = f"model {version} records no order-line sample; the orders were not replaced since it was published"
    if version is None:
        return ChampionScore(live, None, f"the live version {live} records no model version")
    champion_is_popularity = metadata.get("published_model") == "popularity"
    if champion_is_popularity and popularity_map is not None:
        return ChampionScore(
            version, popularity_map, "the live version serves popularity lists: scored as popularity", history
        )
    if version == candidate_version and not candidate_is_popularity:
        return ChampionScore(version, candidate_map, "the candidate is the live champion", history)
    champion = registry.load(version)
    if champion is None:
        return ChampionScore(
            version, None, f"champion model {version} is not in the registry ({registry.location})", history
        )
    if champion.evaluation.trained_until >= split.cutoff:
        return ChampionScore(
            version,
            None,
            f"champion {version} was trained on data up to {champion.evaluation.trained_until}, inside the "
            f"candidate's hold-out (from {split.cutoff}): no fair comparison",
            history,
        )
    model = champion.evaluation
    scored = evaluate(model, split.test, k, exclude_purchased, inactive_item_indices(model, products))
    return ChampionScore(version, float(scored["model"]["map"]), "scored on the candidate's hold-out", history)
