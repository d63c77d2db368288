"""Thresholds of the drift and skew checks (defaults chosen to be sound at the sample sizes used)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class DriftThresholds:
    """How a feature is tested and when a dataset counts as drifted.

    Parameters
    ----------
    numerical_method, numerical_threshold : str, float
        Evidently stattest for numeric features and its threshold. The default, the Wasserstein distance
        normed by the reference standard deviation, is a *distance*: it does not shrink to "significant" as
        samples grow (p-value tests such as KS flag any tiny difference at 100 000 rows), and its sampling
        error at the default sample size is far below the threshold.
    categorical_method, categorical_threshold : str, float
        Stattest for categorical features; Jensen-Shannon distance (0 = same shares, 1 = disjoint).
    min_drifted_features : int
        The dataset is drifted when at least this many features drifted.
    sample_size : int
        Rows per side given to Evidently at most (uniform sample with `seed`); see `monitoring.drift`.
    seed : int
        Seed of that sample: the same data gives the same verdict.
    """

    numerical_method: str = "wasserstein"
    numerical_threshold: float = 0.1
    categorical_method: str = "jensenshannon"
    categorical_threshold: float = 0.1
    min_drifted_features: int = 1
    sample_size: int = 100_000
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SkewThresholds:
    """Limits of the training/serving skew check.

    Parameters
    ----------
    max_cold_start_share : float
        Largest acceptable share of requests for customers the model was not trained on.
    max_inactive_item_share : float
        Largest acceptable share of served items that are no longer active (or unknown) in the catalogue.
    drift : DriftThresholds
        Tests comparing who asks (activity, segment) with whom the model was trained on.
    """

    max_cold_start_share: float = 0.2
    max_inactive_item_share: float = 0.01
    drift: DriftThresholds = DriftThresholds()

    def as_dict(self) -> dict:
        return asdict(self)
