"""Train a recommender on interactions, evaluate it against popularity, and produce top-K lists."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from .candidates import CandidateSpec, TrainingConfig, candidate_input, make_candidate
from .matrix import IdMap, binary, order_counts
from .metrics import METRICS, bootstrap_intervals, catalogue_coverage, per_user_metrics
from .models import (
    FitOutcome,
    PopularityRecommender,
    Recommender,
    fit_side_by_side,
    fit_timed,
    recommend_all,
)

__all__ = ["CandidateSpec", "PreparedData", "TrainedModel", "TrainingConfig", "prepare", "train"]


@dataclass
class TrainedModel:
    """A fitted candidate with everything needed to score it and to recommend with it."""

    recommender: Recommender
    popularity: PopularityRecommender
    users: IdMap
    items: IdMap
    purchased: sp.csr_matrix  # binary customer x product matrix of the training data (for filtering)
    config: TrainingConfig
    fit_seconds: float
    trained_until: pd.Timestamp
    n_interactions: int

    def describe(self) -> dict:
        return {"params": self.config.as_dict(), "fit_seconds": round(self.fit_seconds, 3)}


def data_fingerprint(interactions: pd.DataFrame) -> str:
    """A short, stable hash of the interactions' content (the data version of a model): SHA-256 of each column as
    an Arrow IPC stream (name, type and values; no pandas metadata), a column at a time so that only one column is
    ever copied; twice as fast as hashing each row."""
    digest = hashlib.sha256()
    for name in interactions.columns:
        column = pa.Table.from_pandas(interactions[[name]], preserve_index=False)
        column = column.replace_schema_metadata(None).combine_chunks()
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, column.schema) as writer:
            writer.write_table(column)
        digest.update(sink.getvalue())
    return digest.hexdigest()[:12]


def model_version(fingerprint: str, config: TrainingConfig) -> str:
    params_hash = hashlib.sha256(json.dumps(config.as_dict(), sort_keys=True).encode()).hexdigest()[:6]
    return f"{fingerprint}-{params_hash}"


@dataclass
class PreparedData:
    """Id maps and matrices of one interactions table, built once and shared by every candidate fitted on it.

    `interactions` may be dropped (`drop_interactions`) once the count matrices the candidates need are built: the
    matrices then travel to the candidates' steps without the table behind them."""

    interactions: pd.DataFrame | None
    users: IdMap
    items: IdMap
    purchased: sp.csr_matrix
    popularity: PopularityRecommender
    trained_until: pd.Timestamp
    popularity_seconds: float = 0.0
    n_interactions: int = 0
    _counts: dict = field(default_factory=dict, repr=False)

    def counts(self, half_life_days: float | None) -> sp.csr_matrix:
        """Distinct-order counts, decayed with `half_life_days` (cached per half-life)."""
        if half_life_days not in self._counts:
            if self.interactions is None:
                raise ValueError(
                    f"no order counts with half-life {half_life_days} were built before the interactions were "
                    f"dropped (built: {sorted(self._counts, key=str)})"
                )
            self._counts[half_life_days] = order_counts(
                self.interactions, self.users, self.items, self.trained_until, half_life_days
            )
        return self._counts[half_life_days]


def drop_interactions(data: PreparedData) -> None:
    """Forget the interactions table of `data` (its matrices and the counts built so far stay)."""
    data.interactions = None


def prepare(interactions: pd.DataFrame) -> PreparedData:
    """Index `interactions` and fit the popularity baseline on them."""
    if interactions.empty:
        raise ValueError("no interactions to train on")
    users = IdMap.from_values(interactions["customer_id"])
    items = IdMap.from_values(interactions["product_id"])
    purchased = binary(interactions, users, items)
    popularity = PopularityRecommender()
    popularity_seconds = fit_timed(popularity, purchased)
    return PreparedData(
        interactions=interactions,
        users=users,
        items=items,
        purchased=purchased,
        popularity=popularity,
        trained_until=interactions["order_ts"].max(),
        popularity_seconds=popularity_seconds,
        n_interactions=len(interactions),
    )


def fit_prepared(data: PreparedData, config: TrainingConfig) -> TrainedModel:
    """Fit the candidate `config` on prepared data (the popularity candidate reuses the fitted baseline)."""
    return fit_each([(data, config)])[0]


def fit_outcomes(jobs: Sequence[tuple[PreparedData, TrainingConfig]], min_nnz: int | None = None) -> list[FitOutcome]:
    """For each (prepared data, config): the fitted recommender and its fit seconds, or the exception that stopped
    it (popularity reuses the fitted baseline); the fits side by side on a machine with several cores
    (`fit_side_by_side`: each worker is handed the matrix it fits on; the id maps stay here). Fits from `min_nnz`
    non-zeros go to workers (default: the `RECSYS_PARALLEL_FIT_MIN_NNZ` setting); a worker over the fit timeout
    (`RECSYS_FIT_TIMEOUT_SECONDS`) is stopped and its outcome is the error saying so."""
    outcomes: list[FitOutcome | None] = []
    tasks = []
    for data, config in jobs:
        if config.model == "popularity":
            outcomes.append((data.popularity, data.popularity_seconds))
            continue
        try:
            matrix = candidate_input(config, data.counts(config.half_life_days), data.purchased)
            tasks.append((make_candidate(config), matrix))
            outcomes.append(None)  # filled by the fits below
        except Exception as error:  # one broken candidate must not stop the others
            outcomes.append(error)
    fitted = iter(fit_side_by_side(tasks, min_nnz))
    return [next(fitted) if outcome is None else outcome for outcome in outcomes]


def fit_each(jobs: Sequence[tuple[PreparedData, TrainingConfig]], min_nnz: int | None = None) -> list[TrainedModel]:
    """`fit_prepared` for each (prepared data, config), the fits side by side (`fit_outcomes`); the first failure
    is raised."""
    models = []
    for (data, config), outcome in zip(jobs, fit_outcomes(jobs, min_nnz), strict=True):
        if isinstance(outcome, Exception):
            raise outcome
        models.append(trained(data, config, *outcome))
    return models


def train_each(jobs: list[tuple[pd.DataFrame, TrainingConfig]], min_nnz: int | None = None) -> list[TrainedModel]:
    """`train` for each (interactions, config), the fits side by side (`fit_each`)."""
    return fit_each([(prepare(interactions), config) for interactions, config in jobs], min_nnz)


def trained(data: PreparedData, config: TrainingConfig, recommender: Recommender, seconds: float) -> TrainedModel:
    """`recommender` (fitted on `data` in `seconds`) with the id maps and matrices it scores and recommends with."""
    return TrainedModel(
        recommender=recommender,
        popularity=data.popularity,
        users=data.users,
        items=data.items,
        purchased=data.purchased,
        config=config,
        fit_seconds=seconds,
        trained_until=data.trained_until,
        n_interactions=data.n_interactions,
    )


def as_popularity(model: TrainedModel) -> TrainedModel:
    """The same fitted data with its popularity baseline as the recommender (what to serve when the model showed
    no lead over popularity)."""
    return dataclasses.replace(
        model, recommender=model.popularity, config=TrainingConfig(model="popularity"), fit_seconds=0.0
    )


def train(interactions: pd.DataFrame, config: TrainingConfig) -> TrainedModel:
    """Fit the candidate `config` (ALS by default) and the popularity baseline on `interactions`."""
    return fit_prepared(prepare(interactions), config)


def holdout_relevance(model: TrainedModel, test: pd.DataFrame, exclude_purchased: bool) -> sp.csr_matrix:
    """What each training customer bought in the hold-out, among products the model knows.

    With `exclude_purchased`, products the customer already bought in training are not counted: the lists
    leave them out too, so they cannot be hits.
    """
    relevant = binary(test, model.users, model.items)
    if exclude_purchased:
        relevant = relevant - relevant.multiply(model.purchased)
        relevant.eliminate_zeros()
    return relevant.tocsr()


def evaluate(
    model: TrainedModel,
    test: pd.DataFrame,
    k: int,
    exclude_purchased: bool,
    filter_items: np.ndarray | None = None,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict:
    """Ranking metrics of the model and of the popularity baseline on the same hold-out and customers.

    Returns {"model": {...}, "popularity": {...}, "intervals": {...}}: each side's MAP, precision, recall, NDCG
    and AUC at K, `evaluated_users` and catalogue `coverage`; `intervals` holds the `confidence` bootstrap
    interval over customers of every metric of both sides (`model_map`, `popularity_map`, ...) and of the paired
    lead (`lead_map` = model - popularity on the same customers): a lead whose interval includes 0 is noise.
    """
    relevant = holdout_relevance(model, test, exclude_purchased)
    evaluated = np.flatnonzero(np.diff(relevant.indptr) > 0)
    relevant_rows = relevant[evaluated]
    results: dict = {}
    per_user: dict[str, dict[str, np.ndarray]] = {}
    for name, recommender in (("model", model.recommender), ("popularity", model.popularity)):
        ids, _ = recommend_all(recommender, model.purchased, evaluated, k, exclude_purchased, filter_items)
        values = per_user_metrics(ids, relevant_rows, k)
        metrics = {metric: float(values[metric].mean()) if len(evaluated) else 0.0 for metric in METRICS}
        metrics["evaluated_users"] = len(evaluated)
        metrics["coverage"] = catalogue_coverage(ids, len(model.items))
        results[name] = metrics
        per_user[name] = values
    samples = {}
    for metric in METRICS:
        samples[f"model_{metric}"] = per_user["model"][metric]
        samples[f"popularity_{metric}"] = per_user["popularity"][metric]
        samples[f"lead_{metric}"] = per_user["model"][metric] - per_user["popularity"][metric]
    intervals = bootstrap_intervals(samples, confidence, seed=seed)
    results["intervals"] = {name: interval.as_dict() for name, interval in intervals.items()}
    results["confidence"] = confidence
    return results


def inactive_item_indices(model: TrainedModel, products: pd.DataFrame) -> np.ndarray:
    """Indices of the model's products that the catalogue marks inactive (never recommend them)."""
    inactive = products.loc[~products["active"].astype(bool), "product_id"]
    indices = model.items.index_of(inactive)
    return np.sort(indices[indices >= 0])


def recommend_for_customers(
    model: TrainedModel,
    customer_ids: pd.Series,
    k: int,
    exclude_purchased: bool,
    filter_items: np.ndarray | None = None,
) -> pd.DataFrame:
    """Top-`k` lists for every customer: the model for known customers, popularity for cold starts.

    Returns one row per customer x rank with columns customer_id, rank, product_id, score, source.
    """
    customers = pd.Series(pd.unique(customer_ids.astype(str)))
    user_index = model.users.index_of(customers)
    known = user_index >= 0
    ids = np.full((len(customers), k), -1, dtype=np.int64)
    scores = np.full((len(customers), k), np.nan, dtype=np.float32)
    ids[known], scores[known] = recommend_all(
        model.recommender, model.purchased, user_index[known], k, exclude_purchased, filter_items
    )
    if (~known).any():
        cold_ids, cold_scores = recommend_all(
            model.popularity, model.purchased, np.zeros(1, dtype=np.int64), k, False, filter_items
        )
        ids[~known] = cold_ids[0]
        scores[~known] = cold_scores[0]
    filled = ids.ravel() >= 0
    row_customer = np.repeat(np.arange(len(customers)), k)[filled]
    items = ids.ravel()[filled]
    # Arrow-backed text taken by index (no Python string per row): millions of rows pickle and load ~10x faster
    # than Python strings, in a fraction of the memory
    sources = pa.array([model.recommender.name, "popularity_fallback"], type=pa.large_string())
    return pd.DataFrame(
        {
            "customer_id": _texts(pa.array(customers.to_numpy(), type=pa.large_string()).take(row_customer)),
            "rank": np.tile(np.arange(1, k + 1), len(customers))[filled],
            "product_id": _texts(pa.array(model.items.ids.to_numpy(dtype=object), type=pa.large_string()).take(items)),
            "score": scores.ravel()[filled].astype(np.float64),  # float64: GX checks its range vectorised
            "source": _texts(sources.take(np.repeat((~known).astype(np.int64), k)[filled])),
        }
    )


def _texts(values: pa.Array) -> pd.arrays.ArrowStringArray:
    return pd.arrays.ArrowStringArray(values)
