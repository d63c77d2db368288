"""Temporal split, model training and offline evaluation against the popularity baseline."""

import dataclasses
import datetime as dt
import re
import time

import pandas as pd
from dagster import (
    AssetExecutionContext,
    Config,
    DynamicOut,
    DynamicOutput,
    MetadataValue,
    OpExecutionContext,
    Output,
    asset,
    config_mapping,
    graph_asset,
    op,
)
from pydantic import Field

from ..core.data.split import (
    MIN_EVALUABLE_CUSTOMERS,
    NOISE_BELOW_CUSTOMERS,
    TemporalSplit,
    holdout_split,
    plan_holdout,
)
from ..core.modeling.artifact import ModelArtifact
from ..core.modeling.bought_together import RelatedSettings
from ..core.modeling.buy_again import (
    BUY_AGAIN_METRICS,
    RANKINGS,
    BuyAgainSettings,
    buy_again_markdown,
    evaluate_buy_again,
    holdout_as_of,
)
from ..core.modeling.candidates import GridSpec, candidate_grid
from ..core.modeling.models import ALSParams
from ..core.modeling.selection import (
    CandidateResult,
    SelectionResult,
    SelectionSettings,
    ValidationData,
    describe_result,
    finish_selection,
    prepare_validation,
    score_candidates,
    with_popularity,
)
from ..core.modeling.training import (
    TrainingConfig,
    data_fingerprint,
    evaluate,
    inactive_item_indices,
    model_version,
    train,
    train_each,
)
from ..core.modeling.verdict import judge_offline
from ..core.rules.rule_data import RuleTables
from ..settings import git_commit
from .dataclass_config import dataclass_config
from .related_products import related_figures
from .rule_costs import rule_cost_figures


class SplitConfig(Config):
    test_strategy: str = Field(
        "auto",
        description="auto (from the data, see the docs: Evaluation and noise), global_time (the last test_days) or "
        "per_customer_recent (each customer's most recent test_fraction of orders).",
    )
    test_days: int | None = Field(
        None,
        description="global_time: the last N days are the hold-out (at most 20 % of the history); "
        "auto without a value tries 14, 28, 56, 91, 182.",
    )
    test_fraction: float = Field(0.2, description="per_customer_recent: share of each customer's orders held out.")
    min_evaluable_customers: int = Field(
        MIN_EVALUABLE_CUSTOMERS, description="auto: a global window must leave this many evaluable customers."
    )


@asset(group_name="modeling", code_version="2")
def train_test_split(
    context: AssetExecutionContext, config: SplitConfig, interactions: pd.DataFrame
) -> Output[TemporalSplit]:
    """The hold-out: the global time cut, or each customer's most recent orders when the data is too sparse for
    it (`test_strategy: auto`); the plan and the counts behind it are in the metadata."""
    plan = plan_holdout(
        interactions, config.test_strategy, config.test_days, config.test_fraction, config.min_evaluable_customers
    )
    split = holdout_split(interactions, plan)
    context.log.info(f"train_test_split: {split.description}")
    return Output(
        split,
        metadata={
            "strategy": split.strategy,
            "holdout": split.description,
            "cutoff": str(split.cutoff),
            "test_days": split.test_days,
            "train_rows": len(split.train),
            "test_rows": len(split.test),
            "test_customers": int(split.test["customer_id"].nunique()),
            "evaluable_customers": split.evaluable_customers,
        },
    )


# One source of settings: each group below is derived from a core dataclass (fields, defaults, descriptions).
# The ALS weighting settings shared by the single ALS and the grid are set once, in `training`; `als.random_state`
# seeds the single ALS, every candidate and the validation sample.
_SHARED_WITH_GRID = ("bm25_k1", "bm25_b", "half_life_days")
ALSRunConfig = dataclass_config(ALSParams, "ALSRunConfig", __name__)
TrainingRunConfig = dataclass_config(TrainingConfig, "TrainingRunConfig", __name__, exclude=("model",))
GridRunConfig = dataclass_config(GridSpec, "GridRunConfig", __name__, exclude=(*_SHARED_WITH_GRID, "random_state"))
SelectionRunConfig = dataclass_config(SelectionSettings, "SelectionRunConfig", __name__, exclude=("seed",))


class ModelConfig(Config):
    select_model: bool = Field(True, description="Choose the model among the candidate grid on a validation split.")
    refit_on_all_data: bool = Field(True, description="Refit the serving model on train + hold-out.")
    als: ALSRunConfig = Field(
        default_factory=ALSRunConfig,
        description="The single ALS, fitted alone when select_model is false; random_state also seeds every "
        "candidate and the validation sample.",
    )
    training: TrainingRunConfig = Field(
        default_factory=TrainingRunConfig,
        description="Confidence weighting of the single ALS; bm25_k1, bm25_b and half_life_days apply to the grid too.",
    )
    grid: GridRunConfig = Field(
        default_factory=GridRunConfig, description="The candidate grid (popularity is always a candidate)."
    )
    selection: SelectionRunConfig = Field(
        default_factory=SelectionRunConfig, description="How candidates are compared on the validation split."
    )

    def training_config(self) -> TrainingConfig:
        """The single ALS (what trains when select_model is false)."""
        return self.training.to_core(als=self.als.to_core())

    def candidate_grid(self) -> list[TrainingConfig]:
        shared = {name: getattr(self.training, name) for name in _SHARED_WITH_GRID}
        return candidate_grid(self.grid.to_core(**shared, random_state=self.als.random_state))

    def selection_settings(self) -> SelectionSettings:
        return self.selection.to_core(seed=self.als.random_state)


@op(description="Carve the validation split from the training part and index it (once for every candidate).")
def validation_data(
    context: OpExecutionContext, config: ModelConfig, train_test_split: TemporalSplit
) -> ValidationData | None:
    if not config.select_model:
        return None
    validation = prepare_validation(train_test_split.train, config.selection_settings(), config.candidate_grid())
    context.log.info(
        f"model selection: {validation.inner_train_rows} rows to fit, {len(validation.customers)} customers to "
        f"validate ({validation.description})"
    )
    return validation


@op(
    out=DynamicOut(list),
    description="One step per model family of the grid (popularity always included), with the family's candidates.",
)
def candidate_specs(context: OpExecutionContext, config: ModelConfig):
    grid = with_popularity(config.candidate_grid()) if config.select_model else []
    families = {spec.model: [] for spec in grid}
    for number, spec in enumerate(grid, 1):
        families[spec.model].append((number, spec))
    context.log.info(f"model selection: {len(grid)} candidates in {len(families)} steps, one per family")
    for family, specs in families.items():
        yield DynamicOutput(specs, mapping_key=re.sub(r"[^A-Za-z0-9_]", "_", family))


@op(description="Fit one family's candidates side by side on the inner training data and score them on validation.")
def fit_candidates(
    context: OpExecutionContext,
    config: ModelConfig,
    validation_data: ValidationData,
    specs: list[tuple[int, TrainingConfig]],
) -> list[CandidateResult]:
    settings = config.selection_settings()
    total = len(with_popularity(config.candidate_grid()))
    numbers = {spec.label: number for number, spec in specs}

    def report(result: CandidateResult) -> None:
        context.log.info(f"candidate {numbers[result.label]} of {total}: {describe_result(result, settings)}")

    return score_candidates(validation_data, [spec for _, spec in specs], settings, report)


@op(description="Choose the candidate, refit it on the training part (scored) and on all data (serves).")
def select_and_refit(
    context: OpExecutionContext,
    config: ModelConfig,
    validation_data: ValidationData | None,
    results: list[list[CandidateResult]],
    train_test_split: TemporalSplit,
    interactions: pd.DataFrame,
) -> Output[ModelArtifact]:
    started, trained_at = time.perf_counter(), dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    selection = None
    training = config.training_config()
    if validation_data is not None:
        scored = [result for family in results for result in family]
        seconds = validation_data.seconds + sum(r.fit_seconds + r.score_seconds for r in scored if not r.error)
        selection = finish_selection(validation_data, scored, config.selection_settings(), seconds, context.log.info)
        training = selection.winner_config
    context.log.info(f"als_model: fitting {training.label} on {len(train_test_split.train)} training interactions")
    if config.refit_on_all_data:
        context.log.info(f"als_model: and on all {len(interactions)} interactions to serve, at the same time")
        evaluation, serving = train_each([(train_test_split.train, training), (interactions, training)])
    else:
        evaluation = serving = train(train_test_split.train, training)
    data_version = data_fingerprint(interactions)
    version = model_version(data_version, training)
    artifact = ModelArtifact(
        version=version,
        data_version=data_version,
        evaluation=evaluation,
        serving=serving,
        selection=selection,
        window_start=pd.Timestamp(interactions["order_ts"].min()),  # where a fold-in reads the history from
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
            # the refits of this step; each candidate's fit and scoring are in the candidate table
            "training_wall_seconds": round(time.perf_counter() - started, 3),
        },
    )


@config_mapping
def model_config(config: ModelConfig) -> dict:
    """`ops: {als_model: {config: {...}}}` as before: one ModelConfig for every step of the selection."""
    settings = {"config": config.model_dump()}
    return {name: settings for name in ("validation_data", "candidate_specs", "fit_candidates", "select_and_refit")}


@graph_asset(group_name="modeling", config=model_config, code_version="3")
def als_model(train_test_split: TemporalSplit, interactions: pd.DataFrame) -> ModelArtifact:
    """The selected model: every candidate (ALS grid, item-kNN, BPR, popularity) is fitted on the training part
    minus a validation split and scored on it, one step per family (`fit_candidates[<family>]`: an executor with
    several processes or pods runs the families side by side, and a family's candidates fit side by side on the
    step's cores); the best is refitted on the training part (scored by model_metrics on the hold-out) and on all
    data (serves). Popularity wins unless a model beats it beyond noise."""
    validation = validation_data(train_test_split)
    results = candidate_specs().map(lambda specs: fit_candidates(validation, specs))
    return select_and_refit(validation, results.collect(), train_test_split, interactions)


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
        "selection_noise": selection.noise or "none",
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
    confidence: float = Field(0.95, description="Level of the bootstrap intervals over customers.")
    noise_below_customers: int = Field(
        NOISE_BELOW_CUSTOMERS, description="Fewer hold-out customers than this: the figures are flagged as noise."
    )
    buy_again_min_gaps: int = Field(
        BuyAgainSettings.min_gaps, description="Buy again: repeat gaps a product needs for its own reorder interval."
    )
    buy_again_prior_gaps: float = Field(
        BuyAgainSettings.prior_gaps,
        description="Buy again: weight (in gaps) of the product's interval against the customer's own rhythm.",
    )
    buy_again_tolerance: float = Field(
        BuyAgainSettings.tolerance,
        description="Buy again: log-scale width of the due window (larger: closer to most-bought first).",
    )
    bought_together_prior_orders: float = Field(
        RelatedSettings.prior_orders,
        description="Bought together: strength, in expected co-orders, of the prior that shrinks a pair's lift "
        "towards 1 (larger: a rare pair needs more co-orders to rank high).",
    )
    bought_together_max_queries_per_order: int = Field(
        RelatedSettings.max_queries_per_order,
        description="Bought together: queries a hold-out order gives at most (a seeded sample of its products).",
    )
    bought_together_noise_below_orders: int = Field(
        RelatedSettings.noise_below_orders,
        description="Bought together: fewer evaluable hold-out orders than this: the figures are noise, no choice.",
    )
    similar_fit_als: bool = Field(
        True,
        description="Similar: when the selected model is not an ALS, fit the default ALS on the training part for "
        "its item factors (false: similar is then not evaluated).",
    )


METRIC_NAMES = ("map", "precision", "recall", "ndcg", "auc")


@asset(group_name="modeling", code_version="4")
def model_metrics(
    context: AssetExecutionContext,
    config: MetricsConfig,
    als_model: ModelArtifact,
    train_test_split: TemporalSplit,
    products: pd.DataFrame,
    customers: pd.DataFrame,
    business_rules: RuleTables,
) -> Output[dict]:
    """MAP@K, precision@K, recall@K, NDCG@K, AUC@K and coverage on the hold-out: the selected model vs popularity,
    each with its customer count and a bootstrap interval over customers, and whether the model's lead is real."""
    model = als_model.evaluation
    k = config.k
    results = evaluate(
        model,
        train_test_split.test,
        k,
        config.exclude_purchased,
        inactive_item_indices(model, products),
        confidence=config.confidence,
    )
    verdict = judge_offline(results, k, config.noise_below_customers, model.config.model == "popularity")
    intervals = results["intervals"]
    flat = {}
    for side in ("model", "popularity"):
        for metric in METRIC_NAMES:
            flat[f"{side}_{metric}@{k}"] = results[side][metric]
            flat[f"{side}_{metric}@{k}_low"] = intervals[f"{side}_{metric}"]["low"]
            flat[f"{side}_{metric}@{k}_high"] = intervals[f"{side}_{metric}"]["high"]
        flat[f"{side}_coverage@{k}"] = results[side]["coverage"]
        flat[f"{side}_evaluated_users"] = results[side]["evaluated_users"]
    baseline_map = results["popularity"]["map"]
    lift = results["model"]["map"] / baseline_map if baseline_map > 0 else 0.0
    level = f"{config.confidence:.0%}"
    rows = "\n".join(
        f"| {metric}@{k} | {results['model'][metric]:.4f} ({intervals[f'model_{metric}']['low']:.4f}–"
        f"{intervals[f'model_{metric}']['high']:.4f}) | {results['popularity'][metric]:.4f} "
        f"({intervals[f'popularity_{metric}']['low']:.4f}–{intervals[f'popularity_{metric}']['high']:.4f}) | "
        f"{intervals[f'lead_{metric}']['low']:+.4f} to {intervals[f'lead_{metric}']['high']:+.4f} |"
        for metric in METRIC_NAMES
    )
    table = (
        f"Hold-out: {train_test_split.description}. {results['model']['evaluated_users']} customers evaluated; "
        f"{level} bootstrap intervals over customers in brackets.\n\n"
        f"| metric | model | popularity | paired lead ({level}) |\n|---|---|---|---|\n{rows}\n\n"
        f"**{verdict.reason}**" + (f"\n\n**{verdict.noise}**" if verdict.noise else "")
    )
    (context.log.warning if verdict.noise else context.log.info)(
        f"model_metrics: {verdict.reason}" + (f"; {verdict.noise}" if verdict.noise else "")
    )
    buy_again, buy_again_metadata = buy_again_figures(context, config, train_test_split)
    related, related_metadata = related_figures(context, config, model, train_test_split)
    rules, rules_metadata = rule_cost_figures(
        context, model, train_test_split, products, customers, business_rules, k, config.exclude_purchased,
        config.confidence,
    )  # fmt: skip
    summary = {
        "k": k,
        "model_version": als_model.version,
        "selected_model": model.config.label,
        "model": results["model"],
        "popularity": results["popularity"],
        "intervals": intervals,
        "confidence": config.confidence,
        "exclude_purchased": config.exclude_purchased,  # the model gate scores the champion the same way
        "holdout": train_test_split.description,
        "beats_popularity": verdict.beats_popularity,
        "publish_popularity": verdict.publish_popularity,
        "verdict": verdict.reason,
        "noise": verdict.noise,
        "buy_again": buy_again,
        "related": related,
        "rules": rules,
    }
    return Output(
        summary,
        metadata={
            **{key: float(value) for key, value in flat.items()},
            f"lead_map@{k}_low": float(intervals["lead_map"]["low"]),
            f"lead_map@{k}_high": float(intervals["lead_map"]["high"]),
            "map_lift_over_popularity": float(round(lift, 4)),
            "evaluated_customers": int(results["model"]["evaluated_users"]),
            "beats_popularity": MetadataValue.bool(verdict.beats_popularity),
            "figures_are_noise": MetadataValue.bool(bool(verdict.noise)),
            "verdict": verdict.reason,
            "model_version": als_model.version,
            "selected_model": model.config.label,
            "summary": MetadataValue.md(table),
            **buy_again_metadata,
            **related_metadata,
            **rules_metadata,
        },
    )


def buy_again_figures(context: AssetExecutionContext, config: MetricsConfig, split: TemporalSplit) -> tuple[dict, dict]:
    """The buy-again ranking and its two baselines on the hold-out's repeat purchases (evaluated, not published):
    the results and their metadata (keys prefixed with the ranking's name, `buy_again_` for the choice)."""
    started = time.perf_counter()
    settings = BuyAgainSettings(config.buy_again_min_gaps, config.buy_again_prior_gaps, config.buy_again_tolerance)
    results = evaluate_buy_again(
        split.train,
        split.test,
        holdout_as_of(split),
        config.k,
        settings,
        config.confidence,
        config.noise_below_customers,
    )
    seconds = time.perf_counter() - started
    results["seconds"] = seconds
    results["settings"] = dataclasses.asdict(settings)  # the buy_again_lists asset ranks with the same settings
    k, intervals = config.k, results["intervals"]
    metadata: dict = {}
    for name in RANKINGS:
        for metric in BUY_AGAIN_METRICS:
            key = f"{name}_{metric}@{k}"
            metadata[key] = float(results["rankings"][name][metric])
            metadata[f"{key}_low"] = float(intervals[f"{name}_{metric}"]["low"])
            metadata[f"{key}_high"] = float(intervals[f"{name}_{metric}"]["high"])
    for name in ("buy_again", "popular_bought"):
        metadata[f"{name}_lead_map@{k}_low"] = float(intervals[f"lead_{name}_map"]["low"])
        metadata[f"{name}_lead_map@{k}_high"] = float(intervals[f"lead_{name}_map"]["high"])
    (context.log.warning if results["noise"] else context.log.info)(
        f"model_metrics: buy again: {results['reason']} in {seconds:.2f}s"
        + (f"; {results['noise']}" if results["noise"] else "")
    )
    return results, {
        **metadata,
        "buy_again_choice": results["choice"],
        "buy_again_reason": results["reason"],
        "buy_again_evaluable_customers": int(results["evaluable_customers"]),
        "buy_again_repeat_purchases": int(results["repeat_purchases"]),
        "buy_again_figures_are_noise": MetadataValue.bool(bool(results["noise"])),
        "buy_again_seconds": float(round(seconds, 3)),
        "buy_again_summary": MetadataValue.md(buy_again_markdown(results)),
    }
