"""The model gate: a blocking check on `recommendations` that keeps a worse model from being published.

The candidate must beat popularity and must not be worse than the live champion beyond a tolerance (MAP@K on
the same hold-out); the decision is `core.lifecycle.model_gate`, this check gathers its inputs and reports it. It only
reads: the candidate was registered by `recommendations` (with a sample of the order lines it learned from), and the
settings it needs arrive with its inputs. Whether the live champion learned from the order history the source holds
now is looked up in the source (core/lifecycle/order_history.py), so a nightly full re-export keeps the champion.
"""

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetIn,
    AssetKey,
    Config,
    MetadataValue,
    asset_check,
)
from pydantic import Field

from ..assets.publishing import recommendations
from ..core.data.split import TemporalSplit
from ..core.lifecycle.model_gate import judge_candidate, score_champion
from ..core.modeling.artifact import ModelArtifact
from ..resources.models import ModelRegistryResource
from ..resources.source import SourceDatabaseResource
from ..resources.stores import StoreResource


class ModelGateConfig(Config):
    tolerance: float = Field(
        0.05, description="The candidate's MAP@K may be at most this fraction below the live champion's."
    )
    min_lift_over_popularity: float = Field(
        1.0, description="The candidate's MAP@K must exceed the popularity baseline's times this factor."
    )


def published_lists(context: AssetCheckExecutionContext) -> str:
    """Whose lists the run's `recommendations` hold ("popularity" or the model family), from the materialization's
    metadata: the gate never loads the lists themselves (millions of rows at scale)."""
    event = context.instance.get_latest_materialization_event(AssetKey("recommendations"))
    metadata = event.asset_materialization.metadata if event and event.asset_materialization else {}
    if "lists" in metadata:
        return str(metadata["lists"].value)
    if "published_popularity" in metadata:  # materialized before the "lists" entry existed
        return "popularity" if metadata["published_popularity"].value else str(metadata["model"].value)
    raise ValueError("model_gate: recommendations has no materialization to judge; materialize it first")


@asset_check(
    asset=recommendations,
    name="model_gate",
    blocking=True,
    additional_ins={
        "model_metrics": AssetIn(),
        "als_model": AssetIn(),
        "train_test_split": AssetIn(),
        "products": AssetIn(),
    },
    description="The lists must not be worse than the best we have: a model must beat popularity beyond noise and "
    "keep up with the live champion (MAP@K on the same hold-out); popularity lists are published when nothing is "
    "live; otherwise nothing is published.",
)
def model_gate(
    context: AssetCheckExecutionContext,
    config: ModelGateConfig,
    model_metrics: dict,
    als_model: ModelArtifact,
    train_test_split: TemporalSplit,
    products: pd.DataFrame,
    store: StoreResource,
    models: ModelRegistryResource,
    source: SourceDatabaseResource,
) -> AssetCheckResult:
    registry = models.registry()
    database = source.database()  # read only: the champion's order lines are looked up, nothing is written
    k = int(model_metrics["k"])
    # the champion is scored as model_metrics scored the candidate (outputs of older runs lack the setting)
    exclude_purchased = bool(model_metrics.get("exclude_purchased", True))
    published = published_lists(context)
    candidate_is_popularity = published == "popularity"
    popularity_map = float(model_metrics["popularity"]["map"])
    candidate_map = popularity_map if candidate_is_popularity else float(model_metrics["model"]["map"])
    champion = score_champion(
        store.store(),
        registry,
        als_model.version,
        candidate_map,
        train_test_split,
        products,
        k,
        exclude_purchased,
        popularity_map,
        candidate_is_popularity,
        orders_replaced_at=database.orders_replaced_at(),
        find_lines=database.read_order_lines,
    )
    champion_version, champion_map, note = champion.version, champion.map, champion.note
    verdict = judge_candidate(
        candidate_map,
        popularity_map,
        champion_map,
        config.tolerance,
        config.min_lift_over_popularity,
        k,
        note,
        candidate_is_popularity=candidate_is_popularity,
        champion_live=champion_version is not None,
        lead_is_real=bool(model_metrics.get("beats_popularity", True)),
    )
    log = context.log.info if verdict.passed else context.log.error
    log(f"model_gate: model {als_model.version} {verdict.message()}")
    return AssetCheckResult(
        passed=verdict.passed,
        severity=AssetCheckSeverity.ERROR,
        description=f"model {als_model.version} {verdict.message()}",
        metadata={
            "verdict": "accepted" if verdict.passed else "refused",
            f"candidate_map@{k}": verdict.candidate_map,
            f"popularity_map@{k}": verdict.popularity_map,
            f"champion_map@{k}": verdict.champion_map if verdict.champion_map is not None else float("nan"),
            "candidate_version": als_model.version,
            "champion_version": champion_version or "none",
            "champion_note": note,
            "champion_history": champion.history or "none",
            "tolerance": config.tolerance,
            "min_lift_over_popularity": config.min_lift_over_popularity,
            "candidate_model": als_model.evaluation.recommender.name,
            "candidate_lists": published,
            "offline_verdict": model_metrics.get("verdict", ""),
            "hold_out_cutoff": str(train_test_split.cutoff),
            "reasons": MetadataValue.md("\n".join(f"- {reason}" for reason in verdict.reasons)),
        },
    )
