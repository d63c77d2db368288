"""Model selection: fit every candidate on an inner training split, keep the best on a validation split.

The validation split is carved from the training part of the hold-out split (see split.validation_split),
so choosing a model never looks at the test period; the test hold-out then scores only the winner. The
popularity baseline is always a candidate and wins unless another candidate beats its validation MAP@K by
more than `min_improvement`: a pipeline on data without personal structure publishes popularity lists
rather than a worse model.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..data.split import MIN_EVALUABLE_CUSTOMERS, NOISE_BELOW_CUSTOMERS, ValidationSplit, validation_split
from ..faults import failpoint
from .candidates import TrainingConfig
from .metrics import METRICS, bootstrap_intervals, catalogue_coverage, per_user_metrics
from .models import recommend_all
from .training import (
    PreparedData,
    TrainedModel,
    drop_interactions,
    fit_outcomes,
    fit_prepared,
    holdout_relevance,
    prepare,
    trained,
)

POPULARITY = TrainingConfig(model="popularity")
METRIC_COLUMNS = ("map", "precision", "recall", "ndcg", "auc", "coverage")


@dataclass(frozen=True)
class SelectionSettings:
    """How candidates are compared.

    Parameters
    ----------
    strategy : str
        ``auto`` (default: `split.plan_holdout` picks the cut from the data), ``global_time`` (the last
        `validation_days` of the training data validate) or ``per_customer_recent`` (each customer's most
        recent `validation_fraction` of orders validate).
    validation_days : int
        Days validated by ``global_time`` (at most 20 % of the training history).
    validation_fraction : float
        Share of each customer's orders validated by ``per_customer_recent``.
    k : int
        Length of the lists scored (the K of MAP@K).
    exclude_purchased : bool
        Lists leave out products bought in the inner training data, which then cannot be hits either.
    max_validation_customers : int
        Customers scored at most (a seeded sample of those with validation purchases); bounds scoring time.
    min_improvement : float
        Relative validation-MAP margin a candidate needs over popularity to be chosen (0.0: strictly better).
    confidence : float
        A model is chosen over popularity only when the lower bound of this bootstrap interval of its paired
        MAP difference (model - popularity, over the same customers) is above 0: a lead within noise is no lead.
    min_evaluable_customers : int
        ``auto``: a global validation window must leave this many customers (see `split.plan_holdout`).
    noise_below_customers : int
        Fewer validation customers than this: the figures are flagged as noise (`SelectionResult.noise`).
    seed : int
        Seed of the customer sample and of the bootstrap.
    """

    strategy: str = "auto"
    validation_days: int = 14
    validation_fraction: float = 0.2
    k: int = 10
    exclude_purchased: bool = True
    max_validation_customers: int = 5_000
    min_improvement: float = 0.0
    confidence: float = 0.95
    min_evaluable_customers: int = MIN_EVALUABLE_CUSTOMERS
    noise_below_customers: int = NOISE_BELOW_CUSTOMERS
    seed: int = 0


@dataclass
class CandidateResult:
    """One candidate's validation scores and timings (`error` is set, metrics NaN, if it failed to fit)."""

    config: TrainingConfig
    metrics: dict[str, float]
    fit_seconds: float
    score_seconds: float
    error: str | None = None
    per_user_map: np.ndarray | None = None  # AP@K of each validation customer, aligned across candidates

    @property
    def label(self) -> str:
        return self.config.label

    @property
    def map(self) -> float:
        value = self.metrics.get("map", math.nan)
        return value if math.isfinite(value) else -math.inf


@dataclass
class SelectionResult:
    """Every candidate's validation metrics, the winner and why it won."""

    candidates: list[CandidateResult]
    winner: str
    reason: str
    settings: SelectionSettings
    validation: str  # how the validation split was cut
    inner_train_rows: int
    validation_rows: int
    validation_customers: int  # customers scored
    seconds: float = 0.0
    noise: str = ""  # not empty: too few validation customers, the figures carry little information

    @property
    def winner_result(self) -> CandidateResult:
        return next(result for result in self.candidates if result.label == self.winner)

    @property
    def winner_config(self) -> TrainingConfig:
        return self.winner_result.config

    @property
    def winner_is_popularity(self) -> bool:
        return self.winner_config.model == "popularity"

    def records(self) -> list[dict]:
        """One flat dict per candidate (label, family, params, metrics, seconds, error)."""
        return [
            {
                "candidate": result.label,
                "model": result.config.model,
                "params": params_text(result.config),
                **{metric: result.metrics.get(metric, math.nan) for metric in METRIC_COLUMNS},
                "fit_seconds": result.fit_seconds,
                "score_seconds": result.score_seconds,
                "winner": result.label == self.winner,
                "error": result.error or "",
            }
            for result in self.candidates
        ]

    def to_markdown(self) -> str:
        """The candidate table, best validation MAP first, the winner in bold."""
        k = self.settings.k
        header = (
            f"| candidate | params | MAP@{k} | precision@{k} | recall@{k} | NDCG@{k} | AUC@{k} | coverage | fit s | "
            "score s |\n|---|---|---|---|---|---|---|---|---|---|"
        )
        rows = []
        for record in sorted(self.records(), key=lambda r: -r["map"] if math.isfinite(r["map"]) else math.inf):
            name = f"**{record['candidate']}** (winner)" if record["winner"] else record["candidate"]
            if record["error"]:
                name += f" — failed: {record['error']}"
            values = " | ".join(f"{record[metric]:.4f}" for metric in METRIC_COLUMNS)
            rows.append(
                f"| {name} | `{record['params']}` | {values} | {record['fit_seconds']:.2f} | "
                f"{record['score_seconds']:.2f} |"
            )
        return "\n".join([header, *rows])


def params_text(config: TrainingConfig) -> str:
    """The candidate's settings as compact JSON, without the family name."""
    params = {key: value for key, value in config.as_dict().items() if key != "model"}
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


def with_popularity(candidates: Sequence[TrainingConfig]) -> list[TrainingConfig]:
    """The grid with popularity first (it cannot be left out) and duplicates removed, order kept."""
    seen: dict[str, TrainingConfig] = {POPULARITY.label: POPULARITY}
    for config in candidates:
        seen.setdefault(config.label, config)
    return list(seen.values())


def choose(
    results: Sequence[CandidateResult], min_improvement: float, confidence: float = 0.95, seed: int = 0
) -> tuple[str, str]:
    """The winner's label and the reason: best validation MAP; ties go to the simpler family, then grid order.

    Popularity wins unless the best other candidate's MAP exceeds popularity's by more than `min_improvement`
    (relative) and, where per-customer scores are known, the lower bound of the `confidence` bootstrap interval
    of the paired difference (candidate - popularity, over the same customers) is above zero.
    """
    popularity = next(result for result in results if result.config.model == "popularity")
    others = [
        (index, result)
        for index, result in enumerate(results)
        if result.config.model != "popularity" and result.error is None
    ]
    if not others:
        return popularity.label, "popularity is the only candidate that fitted"
    _, best = min(others, key=lambda pair: (-round(pair[1].map, 12), pair[1].config.complexity, pair[0]))
    threshold = popularity.map * (1.0 + min_improvement)
    if not (best.map > threshold and best.map > popularity.map):
        return popularity.label, (
            f"popularity wins: the best other candidate {best.label} reaches validation MAP {best.map:.4f}, "
            f"popularity {popularity.map:.4f} (needs more than {threshold:.4f})"
        )
    lift = best.map / popularity.map if popularity.map > 0 else math.inf
    if best.per_user_map is None or popularity.per_user_map is None:
        return best.label, f"{best.label} has the best validation MAP ({best.map:.4f}, {lift:.2f}x popularity)"
    lead = bootstrap_intervals({"lead": best.per_user_map - popularity.per_user_map}, confidence, seed=seed)["lead"]
    interval = f"{confidence:.0%} interval of the paired lead {lead.low:+.4f} to {lead.high:+.4f}"
    customers = len(best.per_user_map)
    if lead.low > 0:
        return best.label, (
            f"{best.label} has the best validation MAP ({best.map:.4f}, {lift:.2f}x popularity; "
            f"{interval} over {customers} customers)"
        )
    return popularity.label, (
        f"popularity wins: {best.label}'s lead (validation MAP {best.map:.4f} vs {popularity.map:.4f}) is within "
        f"noise ({interval} over {customers} customers)"
    )


def score(
    model: TrainedModel, relevant, customers: np.ndarray, k: int, exclude_purchased: bool
) -> tuple[dict[str, float], np.ndarray, float]:
    """Validation metrics of `model` on `customers` (rows of `relevant`, each with a relevant product), the
    AP@K of each of them, and the seconds it took."""
    started = time.perf_counter()
    ids, _ = recommend_all(model.recommender, model.purchased, customers, k, exclude_purchased)
    values = per_user_metrics(ids, relevant[customers], k)
    metrics = {name: float(values[name].mean()) for name in METRICS}
    metrics["evaluated_users"] = len(values["users"])
    metrics["coverage"] = catalogue_coverage(ids, len(model.items))
    return metrics, values["map"], time.perf_counter() - started


@dataclass
class ValidationData:
    """What every candidate is fitted and scored on: the inner training data (indexed once, shared), the
    validation purchases and the customers scored. Built once per selection; each candidate can then be fitted
    on its own (in its own step or process) with `score_candidates`."""

    data: PreparedData
    relevant: sp.csr_matrix
    customers: np.ndarray
    description: str
    inner_train_rows: int
    validation_rows: int
    seconds: float


def prepare_validation(
    train: pd.DataFrame, settings: SelectionSettings, candidates: Sequence[TrainingConfig] = ()
) -> ValidationData:
    """Carve the validation split from the training part and index it, with the order-count matrix of every
    half-life the `candidates` use built once here (each candidate's step would otherwise rebuild it).

    Raises ValueError when the validation split holds no purchase the candidates could find (for example a
    history too short to carve a validation window from).
    """
    started = time.perf_counter()
    split: ValidationSplit = validation_split(
        train,
        settings.strategy,
        settings.validation_days,
        settings.validation_fraction,
        settings.min_evaluable_customers,
    )
    if split.train.empty or split.validation.empty:
        raise ValueError(
            f"model selection: the {settings.strategy} validation split of {len(train)} training rows leaves "
            f"{len(split.train)} rows to fit and {len(split.validation)} to validate; both must be non-empty"
        )
    data = prepare(split.train)
    for config in candidates:
        if config.model != "popularity":
            data.counts(config.half_life_days)
    if any(config.model != "popularity" for config in candidates):
        # every candidate's matrix is built: the candidates' steps load the matrices, not the table behind them
        drop_interactions(data)
    relevant = holdout_relevance(fit_prepared(data, POPULARITY), split.validation, settings.exclude_purchased)
    customers = np.flatnonzero(np.diff(relevant.indptr) > 0)
    if len(customers) == 0:
        raise ValueError(
            f"model selection: no customer of the inner training split ({len(split.train)} rows) buys a new "
            f"known product in the validation split ({split.description}); lengthen the history or the window"
        )
    if len(customers) > settings.max_validation_customers:
        rng = np.random.default_rng(settings.seed)
        customers = np.sort(rng.choice(customers, settings.max_validation_customers, replace=False))
    return ValidationData(
        data,
        relevant,
        customers,
        split.description,
        len(split.train),
        len(split.validation),
        time.perf_counter() - started,
    )


def score_candidates(
    validation: ValidationData,
    configs: Sequence[TrainingConfig],
    settings: SelectionSettings,
    log: Callable[[CandidateResult], None] | None = None,
) -> list[CandidateResult]:
    """Fit each of `configs` on the inner training data, side by side on a machine with several cores
    (`fit_outcomes`), and score it on the validation customers; `log` is called with each result as it is scored.
    A candidate that fails is returned with its error (one broken candidate must not stop the others); popularity
    never fails."""
    data = validation.data
    outcomes = fit_outcomes([(data, config) for config in configs])
    results = []
    for config, outcome in zip(configs, outcomes, strict=True):
        try:
            if isinstance(outcome, Exception):
                raise outcome
            model = trained(data, config, *outcome)
            metrics, per_user, seconds = score(
                model, validation.relevant, validation.customers, settings.k, settings.exclude_purchased
            )
            failpoint("selection.candidate")
            result = CandidateResult(config, metrics, model.fit_seconds, seconds, per_user_map=per_user)
        except Exception as error:
            if config.model == "popularity":
                raise
            result = CandidateResult(config, {}, math.nan, math.nan, error=f"{type(error).__name__}: {error}")
        if log is not None:
            log(result)
        results.append(result)
    return results


def describe_result(result: CandidateResult, settings: SelectionSettings) -> str:
    if result.error:
        return f"{result.label}: failed ({result.error})"
    return (
        f"{result.label}: MAP@{settings.k} {result.metrics['map']:.4f} (fit {result.fit_seconds:.2f} s, "
        f"{result.metrics.get('evaluated_users', 0)} customers scored)"
    )


def finish_selection(
    validation: ValidationData,
    results: Sequence[CandidateResult],
    settings: SelectionSettings,
    seconds: float,
    log: Callable[[str], None] | None = None,
) -> SelectionResult:
    """Choose among the scored candidates (see `choose`) and say when the validation figures are noise."""
    log = log or (lambda message: None)
    order = {config.label: i for i, config in enumerate(with_popularity([r.config for r in results]))}
    results = sorted(results, key=lambda r: order[r.label])  # grid order, whatever order the steps finished in
    winner, reason = choose(results, settings.min_improvement, settings.confidence, settings.seed)
    noise = ""
    customers = len(validation.customers)
    if customers < settings.noise_below_customers:
        noise = (
            f"only {customers} validation customers (fewer than {settings.noise_below_customers}): "
            "the validation figures carry little information"
        )
        log(f"model selection: {noise}")
    log(f"model selection: {reason}")
    return SelectionResult(
        candidates=list(results),
        winner=winner,
        reason=reason,
        settings=settings,
        validation=validation.description,
        inner_train_rows=validation.inner_train_rows,
        validation_rows=validation.validation_rows,
        validation_customers=customers,
        seconds=seconds,
        noise=noise,
    )


def select_model(
    train: pd.DataFrame,
    candidates: Sequence[TrainingConfig],
    settings: SelectionSettings,
    log: Callable[[str], None] | None = None,
) -> SelectionResult:
    """Fit every candidate (popularity always included) on the inner training split, score it on validation, and
    choose, in this process (the `als_model` asset runs the same three parts as separate steps)."""
    log = log or (lambda message: None)
    started = time.perf_counter()
    grid = with_popularity(candidates)
    validation = prepare_validation(train, settings, grid)
    log(
        f"model selection: {len(grid)} candidates, {validation.inner_train_rows} rows to fit, "
        f"{len(validation.customers)} customers to validate ({validation.description})"
    )
    numbers = {config.label: number for number, config in enumerate(grid, 1)}

    def report(result: CandidateResult) -> None:
        log(f"  candidate {numbers[result.label]} of {len(grid)}, {describe_result(result, settings)}")

    results = score_candidates(validation, grid, settings, report)
    return finish_selection(validation, results, settings, time.perf_counter() - started, log)
