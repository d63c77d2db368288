"""Temporal split, model training and offline evaluation against the popularity baseline."""

import datetime as dt
import time

import pandas as pd
from dagster import AssetExecutionContext, Config, MetadataValue, Output, asset
from pydantic import Field

from ..core.models import ALSParams
from ..core.split import TemporalSplit, temporal_split
from ..core.training import (
    ModelArtifact,
    TrainingConfig,
    data_fingerprint,
    evaluate,
    inactive_item_indices,
    model_version,
    train,
)
from ..versioning import git_commit


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


class ModelConfig(Config):
    factors: int = Field(32, description="Latent factors of ALS.")
    regularization: float = Field(1.0, description="L2 regularisation of ALS.")
    iterations: int = Field(15, description="ALS iterations.")
    weighting: str = Field("log", description="Confidence weighting: bm25, log or linear.")
    alpha: float = Field(1.0, description="Scale of the confidence values.")
    bm25_k1: float = 100.0
    bm25_b: float = 0.8
    half_life_days: float | None = Field(None, description="Age decay of orders; None for no decay.")
    random_state: int = 42
    refit_on_all_data: bool = Field(True, description="Refit the serving model on train + hold-out.")

    def training_config(self) -> TrainingConfig:
        return TrainingConfig(
            weighting=self.weighting,
            alpha=self.alpha,
            bm25_k1=self.bm25_k1,
            bm25_b=self.bm25_b,
            half_life_days=self.half_life_days,
            als=ALSParams(self.factors, self.regularization, self.iterations, self.random_state),
        )


@asset(group_name="modeling", code_version="1")
def als_model(
    context: AssetExecutionContext, config: ModelConfig, train_test_split: TemporalSplit, interactions: pd.DataFrame
) -> Output[ModelArtifact]:
    """implicit ALS fitted on the training part (scored by model_metrics) and refitted on all data to serve."""
    started, trained_at = time.perf_counter(), dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    training = config.training_config()
    context.log.info(f"als_model: fitting on {len(train_test_split.train)} training interactions")
    evaluation = train(train_test_split.train, training)
    serving = evaluation
    if config.refit_on_all_data:
        context.log.info(f"als_model: refitting on all {len(interactions)} interactions to serve")
        serving = train(interactions, training)
    data_version = data_fingerprint(interactions)
    version = model_version(data_version, training)
    artifact = ModelArtifact(version=version, data_version=data_version, evaluation=evaluation, serving=serving)
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
            "trained_at": trained_at,
            "training_wall_seconds": round(time.perf_counter() - started, 3),
        },
    )


class MetricsConfig(Config):
    k: int = Field(10, description="Length of the lists scored (the K of MAP@K).")
    exclude_purchased: bool = Field(True, description="Score lists without already-bought products.")


@asset(group_name="modeling", code_version="1")
def model_metrics(
    config: MetricsConfig, als_model: ModelArtifact, train_test_split: TemporalSplit, products: pd.DataFrame
) -> Output[dict]:
    """MAP@K, precision@K, recall@K, NDCG@K and catalogue coverage of the model and the popularity baseline."""
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
        "model": results["model"],
        "popularity": results["popularity"],
    }
    return Output(
        summary,
        metadata={
            **{key: float(value) for key, value in flat.items()},
            "map_lift_over_popularity": float(round(lift, 4)) if lift != float("inf") else 0.0,
            "model_version": als_model.version,
            "summary": MetadataValue.md(f"| metric@{k} | model | popularity |\n|---|---|---|\n{rows}"),
        },
    )
