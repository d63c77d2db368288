"""Alerts: the alert record and the metric thresholds that raise one (pure Python, no Dagster, no I/O).

The sensors in `recsys_assets/sensors/alerts.py` build alerts with these and hand them to
`core/stores/alert_sinks.py`, which records them and POSTs them to the webhook.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import pandas as pd

MAP_FLOOR_ENV = "RECSYS_ALERT_MAP_FLOOR"
DROPPED_SHARE_CEILING_ENV = "RECSYS_ALERT_DROPPED_SHARE_CEILING"
DEFAULT_MAP_FLOOR = 0.01
DEFAULT_DROPPED_SHARE_CEILING = 0.2


@dataclass(frozen=True)
class Alert:
    """One alert: what happened (`kind`), where (`source`: a job, asset or check), and the offending values."""

    kind: str  # run_failure | metric_threshold | freshness
    source: str
    message: str
    severity: str = "error"
    details: dict = field(default_factory=dict)
    ts: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Threshold:
    """A bound on one numeric metadata entry of one asset: `floor` (value must be >= it) or `ceiling` (<=)."""

    asset: str
    metric: str  # a metadata key, or a prefix ending in "@" that matches e.g. model_map@10 for any K
    floor: float | None = None
    ceiling: float | None = None

    def matches(self, key: str) -> bool:
        if key == self.metric:
            return True
        # "model_map@" matches model_map@10 (any K), not its interval bounds model_map@10_low / _high
        return self.metric.endswith("@") and key.startswith(self.metric) and key[len(self.metric) :].isdigit()


def _float_env(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError as error:
        raise ValueError(f"{name} must be a number, got {text!r}") from error


def thresholds_from_env() -> list[Threshold]:
    """The metric thresholds alerted on: MAP@K of the model (floor) and the dropped-row share (ceiling)."""
    return [
        Threshold("model_metrics", "model_map@", floor=_float_env(MAP_FLOOR_ENV, DEFAULT_MAP_FLOOR)),
        Threshold(
            "interactions",
            "dropped_share",
            ceiling=_float_env(DROPPED_SHARE_CEILING_ENV, DEFAULT_DROPPED_SHARE_CEILING),
        ),
    ]


def evaluate_thresholds(
    asset: str, metadata: Mapping[str, object], thresholds: list[Threshold], context: Mapping[str, object] = ()
) -> list[Alert]:
    """Alerts for every numeric metadata value of `asset` outside its threshold (none when all are inside)."""
    alerts = []
    for threshold in thresholds:
        if threshold.asset != asset:
            continue
        for key, value in metadata.items():
            if not threshold.matches(key) or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            value = float(value)
            if threshold.floor is not None and value < threshold.floor:
                bound, relation = threshold.floor, "below the floor"
            elif threshold.ceiling is not None and value > threshold.ceiling:
                bound, relation = threshold.ceiling, "above the ceiling"
            else:
                continue
            alerts.append(
                Alert(
                    kind="metric_threshold",
                    source=asset,
                    message=f"{asset}: {key} = {value:.6g} is {relation} {bound:g}",
                    details={"metric": key, "value": value, "threshold": bound, **dict(context)},
                )
            )
    return alerts


def future_lines_alert(future: pd.DataFrame, source: str) -> Alert:
    """The warning for order lines of `source` dated in the future (`future`: those lines)."""
    first, last = future["order_ts"].min(), future["order_ts"].max()
    orders = sorted(future["order_id"].astype(str).unique())
    return Alert(
        kind="future_dated_lines",
        source="raw_orders",
        severity="warning",
        message=(
            f"{len(future)} order line(s) in {source} are dated in the future ({first} to {last}), e.g. orders "
            f"{orders[:5]}: they belong to no partition and are not trained on; raw_orders_suite blocks the run "
            "when they exceed its tolerance. Fix their order_ts in the source."
        ),
        details={"lines": len(future), "first": str(first), "last": str(last), "orders": orders[:20]},
    )
