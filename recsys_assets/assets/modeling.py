"""Temporal split, model training and offline evaluation against the popularity baseline."""

import datetime as dt
import time

import pandas as pd
from dagster import AssetExecutionContext, Config, MetadataValue, Output, asset
from pydantic import Field

from ..core.data.split import TemporalSplit, temporal_split
from ..core.modeling.artifact import ModelArtifact
from ..core.modeling.candidates import GridSpec, candidate_grid
from ..core.modeling.models import ALSParams
from ..core.modeling.selection import SelectionResult, SelectionSettings, select_model
from ..core.modeling.training import (
    TrainingConfig,
    data_fingerprint,
    evaluate,
    inactive_item_indices,
    model_version,
    train,
)
from ..settings import git_commit


class SplitConfig(Config):
    test_days: int = Field(14, description="The last N days are the hold-out (at most 20 % of the history).")


@asset(group_name="modeling", code_version="1")
def train_test_split(config: SplitConfig, interactions: pd.DataFrame) -> Output[TemporalSplit]:
    """Temporal hold-out: interactions before the cutoff train, the ones from the cutoff on test."""
    split = temporal_split(interactions, config.test_days)
    return Output(
        split,
        metadata={
            "cutoff": str(split.cutoff),
            "test_days": split.test_days,
            "train_rows": len(split.train),
            "test_rows": len(split.test),
            "test_customers": int(split.test["customer_id"].nunique()),
        },
    )


# one source of defaults: the core dataclasses (the Launchpad shows these values)
_ALS = ALSParams()
_TRAINING = TrainingConfig()
_GRID = GridSpec()
_SELECTION = SelectionSettings()


class ModelConfig(Config):
    # the single ALS, fitted alone when select_model is false
    factors: int = Field(_ALS.factors, description="Latent factors of ALS (select_model: false).")
    regularization: float = Field(_ALS.regularization, description="L2 regularisation of ALS (select_model: false).")
    iterations: int = Field(_ALS.iterations, description="ALS iterations (select_model: false).")
    weighting: str = Field(
        _TRAINING.weighting, description="Confidence weighting: bm25, log or linear (select_model: false)."
    )
    alpha: float = Field(_TRAINING.alpha, description="Scale of the ALS confidence values.")
    bm25_k1: float = _TRAINING.bm25_k1
    bm25_b: float = _TRAINING.bm25_b
    half_life_days: float | None = Field(
        _TRAINING.half_life_days, description="Age decay of orders; None for no decay."
    )
    random_state: int = _ALS.random_state
    refit_on_all_data: bool = Field(True, description="Refit the serving model on train + hold-out.")
    # model selection (issue 7): the grid, and how candidates are compared
    select_model: bool = Field(True, description="Choose the model among the candidate grid on a validation split.")
    als_factors: list[int] = Field(list(_GRID.als_factors), description="ALS grid: latent factors.")
    als_regularization: list[float] = Field(list(_GRID.als_regularization), description="ALS grid: L2 regularisation.")
    als_iterations: list[int] = Field(list(_GRID.als_iterations), description="ALS grid: iterations.")
    als_weighting: list[str] = Field(
        list(_GRID.als_weighting), description="ALS grid: confidence weighting (bm25, or alpha-scaled log / linear)."
    )
    als_alpha: list[float] = Field(list(_GRID.als_alpha), description="ALS grid: confidence scale alpha.")
    knn_similarities: list[str] = Field(list(_GRID.knn_similarities), description="Item-kNN grid: cosine and/or bm25.")
    knn_neighbours: list[int] = Field(
        list(_GRID.knn_neighbours), description="Item-kNN grid: neighbours per product (K)."
    )
    bpr_factors: list[int] = Field(list(_GRID.bpr_factors), description="BPR grid: latent factors (empty: no BPR).")
    bpr_learning_rate: float = Field(_GRID.bpr_learning_rate, description="BPR SGD learning rate.")
    bpr_regularization: float = Field(_GRID.bpr_regularization, description="BPR L2 regularisation.")
    bpr_iterations: int = Field(_GRID.bpr_iterations, description="BPR epochs.")
    validation_strategy: str = Field(
        _SELECTION.strategy,
        description="global_time (last validation_days) or per_customer_recent (validation_fraction).",
    )
    validation_days: int = Field(
        _SELECTION.validation_days, description="Days of the training data that validate (global_time)."
    )
    validation_fraction: float = Field(
        _SELECTION.validation_fraction, description="Share of each customer's orders that validate."
    )
    selection_k: int = Field(_SELECTION.k, description="K of the validation MAP@K that picks the model.")
    exclude_purchased: bool = Field(
        _SELECTION.exclude_purchased, description="Validation lists leave out already-bought products."
    )
    max_validation_customers: int = Field(
        _SELECTION.max_validation_customers, description="Customers scored on validation (seeded sample)."
    )
    min_improvement: float = Field(
        _SELECTION.min_improvement,
        description="Relative validation-MAP margin over popularity a model needs to be chosen.",
    )

    def training_config(self) -> TrainingConfig:
        """The single ALS (what trains when select_model is false)."""
        return TrainingConfig(
            weighting=self.weighting,
            alpha=self.alpha,
            bm25_k1=self.bm25_k1,
            bm25_b=self.bm25_b,
            half_life_days=self.half_life_days,
            als=ALSParams(self.factors, self.regularization, self.iterations, self.random_state),
        )

    def candidate_grid(self) -> list[TrainingConfig]:
        return candidate_grid(
            GridSpec(
                als_factors=tuple(self.als_factors),
                als_regularization=tuple(self.als_regularization),
                als_iterations=tuple(self.als_iterations),
                als_weighting=tuple(self.als_weighting),
                als_alpha=tuple(self.als_alpha),
                knn_similarities=tuple(self.knn_similarities),
                knn_neighbours=tuple(self.knn_neighbours),
                bpr_factors=tuple(self.bpr_factors),
                bpr_learning_rate=self.bpr_learning_rate,
                bpr_regularization=self.bpr_regularization,
                bpr_iterations=self.bpr_iterations,
                bm25_k1=self.bm25_k1,
                bm25_b=self.bm25_b,
                half_life_days=self.half_life_days,
                random_state=self.random_state,
            )
        )

    def selection_settings(self) -> SelectionSettings:
        return SelectionSettings(
            strategy=self.validation_strategy,
            validation_days=self.validation_days,
            validation_fraction=self.validation_fraction,
            k=self.selection_k,
            exclude_purchased=self.exclude_purchased,
            max_validation_customers=self.max_validation_customers,
            min_improvement=self.min_improvement,
            seed=self.random_state,
        )


@asset(group_name="modeling", code_version="2")
def als_model(
    context: AssetExecutionContext, config: ModelConfig, train_test_split: TemporalSplit, interactions: pd.DataFrame
) -> Output[ModelArtifact]:
    """The selected model: every candidate (ALS grid, item-kNN, BPR, popularity) is fitted on the training part
    minus a validation split and scored on it; the best is refitted on the training part (scored by
    model_metrics on the hold-out) and on all data (serves). Popularity wins unless a model beats it."""
    started, trained_at = time.perf_counter(), dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    selection = None
    training = config.training_config()
    if config.select_model:
        selection = select_model(
            train_test_split.train, config.candidate_grid(), config.selection_settings(), log=context.log.info
        )
        training = selection.winner_config
    context.log.info(f"als_model: fitting {training.label} on {len(train_test_split.train)} training interactions")
    evaluation = train(train_test_split.train, training)
    serving = evaluation
    if config.refit_on_all_data:
        context.log.info(f"als_model: refitting on all {len(interactions)} interactions to serve")
        serving = train(interactions, training)
    data_version = data_fingerprint(interactions)
    version = model_version(data_version, training)
    artifact = ModelArtifact(
        version=version, data_version=data_version, evaluation=evaluation, serving=serving, selection=selection
    )
    return Output(
        artifact,
        metadata={
            "model_version": version,
            "data_version": data_version,
            "git_commit": git_commit(),
            "params": MetadataValue.json(training.as_dict()),
            "fit_seconds": round(evaluation.fit_seconds, 3),
            "serving_fit_seconds": round(serving.fit_seconds, 3),
            "customers": len(serving.users),
            "products": len(serving.items),
            "nonzeros": int(serving.purchased.nnz),
            "trained_until": str(serving.trained_until),
            **selection_metadata(selection, training),
            "trained_at": trained_at,
            "training_wall_seconds": round(time.perf_counter() - started, 3),
        },
    )


def selection_metadata(selection: SelectionResult | None, chosen: TrainingConfig) -> dict:
    """The winner (name, family, params, validation MAP) and the candidate table, for the asset's metadata."""
    metadata = {
        "winner": chosen.label,
        "winner_model": chosen.model,
        "winner_params": MetadataValue.json(chosen.as_dict()),
        "winner_is_popularity": MetadataValue.bool(chosen.model == "popularity"),
    }
    if selection is None:
        return {**metadata, "selection": "off: the configured ALS was fitted without comparing candidates"}
    winner = selection.winner_result
    k = selection.settings.k
    return {
        **metadata,
        f"winner_validation_map@{k}": float(winner.metrics["map"]),
        f"popularity_validation_map@{k}": float(
            next(r for r in selection.candidates if r.config.model == "popularity").metrics["map"]
        ),
        "selection_reason": selection.reason,
        "validation_split": f"{selection.settings.strategy}: {selection.validation}",
        "validation_customers": selection.validation_customers,
        "candidates": len(selection.candidates),
        "failed_candidates": sum(r.error is not None for r in selection.candidates),
        "selection_seconds": round(selection.seconds, 3),
        "candidate_table": MetadataValue.md(selection.to_markdown()),
    }


class MetricsConfig(Config):
    k: int = Field(10, description="Length of the lists scored (the K of MAP@K).")
    exclude_purchased: bool = Field(True, description="Score lists without already-bought products.")


@asset(group_name="modeling", code_version="1")
def model_metrics(
    config: MetricsConfig, als_model: ModelArtifact, train_test_split: TemporalSplit, products: pd.DataFrame
) -> Output[dict]:
    """MAP@K, precision@K, recall@K, NDCG@K and coverage on the test hold-out: the selected model vs popularity."""
    model = als_model.evaluation
    results = evaluate(
        model, train_test_split.test, config.k, config.exclude_purchased, inactive_item_indices(model, products)
    )
    k = config.k
    flat = {
        f"{name}_{metric}@{k}" if metric != "evaluated_users" else f"{name}_{metric}": value
        for name, values in results.items()
        for metric, value in values.items()
    }
    baseline_map = results["popularity"]["map"]
    lift = results["model"]["map"] / baseline_map if baseline_map > 0 else float("inf")
    rows = "\n".join(
        f"| {metric} | {results['model'][metric]:.4f} | {results['popularity'][metric]:.4f} |"
        for metric in ("map", "precision", "recall", "ndcg", "coverage")
    )
    summary = {
        "k": k,
        "model_version": als_model.version,
        "selected_model": model.config.label,
        "model": results["model"],
        "popularity": results["popularity"],
    }
    return Output(
        summary,
        metadata={
            **{key: float(value) for key, value in flat.items()},
            "map_lift_over_popularity": float(round(lift, 4)) if lift != float("inf") else 0.0,
            "model_version": als_model.version,
            "selected_model": model.config.label,
            "summary": MetadataValue.md(f"| metric@{k} | model | popularity |\n|---|---|---|\n{rows}"),
        },
    )
