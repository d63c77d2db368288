"""Online metrics: what customers bought after they were served a list (pure pandas; no Dagster, no Evidently).

Inputs: serving-log entries of one day (`recsys_assets.core.stores.serving_log`: ts, customer_id, model_version,
store_version, group, source, items) and purchase lines (`features.purchase_lines`: order_ts, customer_id,
product_id, quantity, unit_price).

Definitions (docs: explanation/monitoring.md):
- exposure: a customer served lists of one (model_version, store_version, source, group) on the day; its time
  is the first such serving, its items the union of the items served then, K their number. Repeated requests of
  the same customer on the same day are one exposure, so a customer who reloads a page is not counted twice;
- attribution: the purchase lines of the customer in (first serving, first serving + `attribution_days`];
- hit: the customer bought at least one served item in that window; hit rate = hits / exposures;
- precision@K: served items bought / K, averaged over exposures;
- line share / revenue share: order lines (revenue = quantity x unit price) of exposed customers in their window
  whose product was served, over all their lines in it;
- arms: `group` model (every source: model lists and popularity fallbacks of cold starts) against group control
  (the popularity list). Comparing arms, not sources, keeps the comparison randomised: cold starts are in both.
- lift: relative difference of the arms' hit rates, with a confidence interval from the log risk ratio (delta
  method; with no hit in an arm, 0.5 is added to every cell of the 2 x 2 table for the interval only); the
  difference of hit rates with a Wald interval. Exposures are treated as independent: a customer exposed on
  several days of a pooled period counts several times, which makes the interval somewhat narrow;
- verdict: from the interval of the lift, never from its point estimate alone. `better` when the whole interval
  lies above `min_lift`, `not_better` (the alert) when the whole interval lies at or below it, `inconclusive`
  while the interval contains it (with `min_lift` 0: while the data cannot tell the arms apart), and
  `insufficient_data` below `min_exposures`. With model and control equal, `not_better` comes up in about
  (1 - confidence) / 2 of the periods (2.5 % at 95 %), not in half of them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

KEY = ["model_version", "store_version", "source", "group"]
ARMS = ("model", "control")
COUNT_FIELDS = ("exposures", "hits", "precision_sum", "lines", "recommended_lines", "revenue", "recommended_revenue")


@dataclass(frozen=True)
class OnlineSettings:
    """How purchases are attributed and when the model counts as no better than control.

    Parameters
    ----------
    attribution_days : int
        Orders up to this many days after a serving are attributed to it.
    confidence : float
        Level of the confidence intervals.
    min_exposures : int
        Exposures each arm needs in the period before a verdict (fewer: "insufficient_data", no alert).
    min_lift : float
        The threshold of the verdict: "not_better" (and the alert) when the whole confidence interval of the
        relative lift over control lies at or below it, "better" when it lies above, "inconclusive" in between
        (0.0: the model must have a higher hit rate than control; -0.05: alert only when it is surely more than
        5 % worse).
    """

    attribution_days: int = 14
    confidence: float = 0.95
    min_exposures: int = 200
    min_lift: float = 0.0

    def __post_init__(self) -> None:
        if self.attribution_days < 1:
            raise ValueError(f"attribution_days must be at least 1, got {self.attribution_days}")
        if not 0.5 < self.confidence < 1.0:
            raise ValueError(f"confidence must lie in (0.5, 1), got {self.confidence}")


def exposures(log: pd.DataFrame) -> pd.DataFrame:
    """One row per customer and KEY: first serving time `ts`, the union of served `items` (a frozenset), `k`."""
    if log.empty:
        return pd.DataFrame(columns=["customer_id", *KEY, "ts", "items", "k"])
    frame = log.assign(customer_id=log["customer_id"].astype(str))
    for column in KEY:
        frame[column] = frame[column].astype(str)
    grouped = frame.groupby(["customer_id", *KEY], sort=True, dropna=False)
    result = grouped.agg(ts=("ts", "min"), items=("items", lambda lists: frozenset(p for x in lists for p in x)))
    result = result.reset_index()
    result["k"] = result["items"].map(len)
    return result


def attribute(exposed: pd.DataFrame, lines: pd.DataFrame, attribution_days: int) -> pd.DataFrame:
    """`exposed` with the attributed purchases: hit, hits (served items bought), lines, revenue and their
    recommended parts, and `orders_seen` (lines in the window at all)."""
    out = exposed.reset_index(drop=True).copy()
    out["exposure"] = np.arange(len(out))
    zeros = {"hits": 0, "lines": 0, "recommended_lines": 0, "revenue": 0.0, "recommended_revenue": 0.0}
    if out.empty or lines.empty:
        for column, value in zeros.items():
            out[column] = value
    else:
        bought = lines[["customer_id", "product_id", "order_ts", "quantity", "unit_price"]].copy()
        bought["customer_id"] = bought["customer_id"].astype(str)
        bought["product_id"] = bought["product_id"].astype(str)
        joined = out[["exposure", "customer_id", "ts"]].merge(bought, on="customer_id")
        window = pd.Timedelta(days=attribution_days)
        joined = joined[(joined["order_ts"] > joined["ts"]) & (joined["order_ts"] <= joined["ts"] + window)]
        served = out[["exposure", "items"]].explode("items").dropna().rename(columns={"items": "product_id"})
        served["served"] = True
        joined = joined.merge(served, on=["exposure", "product_id"], how="left")
        joined["served"] = joined["served"].eq(True)
        joined["revenue"] = joined["quantity"] * joined["unit_price"]
        recommended = joined[joined["served"]]
        per = pd.DataFrame(
            {
                "hits": recommended.groupby("exposure")["product_id"].nunique(),
                "lines": joined.groupby("exposure").size(),
                "recommended_lines": recommended.groupby("exposure").size(),
                "revenue": joined.groupby("exposure")["revenue"].sum(),
                "recommended_revenue": recommended.groupby("exposure")["revenue"].sum(),
            }
        )
        out = out.merge(per, left_on="exposure", right_index=True, how="left")
        for column, value in zeros.items():
            out[column] = out[column].fillna(value).astype(type(value))
    out["hit"] = out["hits"] > 0
    out["precision"] = np.where(out["k"] > 0, out["hits"] / out["k"].clip(lower=1), 0.0)
    return out.drop(columns="exposure")


def _totals(frame: pd.DataFrame) -> dict:
    return {
        "exposures": int(len(frame)),
        "hits": int(frame["hit"].sum()),
        "precision_sum": float(frame["precision"].sum()),
        "lines": int(frame["lines"].sum()),
        "recommended_lines": int(frame["recommended_lines"].sum()),
        "revenue": float(frame["revenue"].sum()),
        "recommended_revenue": float(frame["recommended_revenue"].sum()),
    }


def rates(counts: dict) -> dict:
    """Hit rate, precision@K, line share and revenue share from additive counts (None where undefined)."""

    def ratio(a: float, b: float) -> float | None:
        return a / b if b else None

    return {
        "hit_rate": ratio(counts["hits"], counts["exposures"]),
        "precision_at_k": ratio(counts["precision_sum"], counts["exposures"]),
        "line_share": ratio(counts["recommended_lines"], counts["lines"]),
        "revenue_share": ratio(counts["recommended_revenue"], counts["revenue"]),
    }


def summarise(attributed: pd.DataFrame) -> list[dict]:
    """One row per KEY: customers, counts and rates (the per-version, per-source table)."""
    rows = []
    if attributed.empty:
        return rows
    for key, frame in attributed.groupby(KEY, sort=True):
        counts = _totals(frame)
        rows.append({**dict(zip(KEY, key, strict=True)), "customers": int(frame["customer_id"].nunique()),
                     "mean_k": float(frame["k"].mean()), **counts, **rates(counts)})  # fmt: skip
    return rows


def arm_counts(attributed: pd.DataFrame) -> dict[str, dict]:
    """Additive counts per arm (group model / control), so days can be pooled by adding them."""
    empty = {field: 0 for field in COUNT_FIELDS}
    if attributed.empty:
        return {arm: dict(empty) for arm in ARMS}
    return {arm: _totals(attributed[attributed["group"] == arm]) for arm in ARMS}


def pool(counts: list[dict[str, dict]]) -> dict[str, dict]:
    """The sum of several days' arm counts."""
    return {arm: {f: sum(c.get(arm, {}).get(f, 0) for c in counts) for f in COUNT_FIELDS} for arm in ARMS}


@dataclass(frozen=True)
class Lift:
    """Model arm against control arm on the hit rate."""

    model_exposures: int
    control_exposures: int
    model_hit_rate: float | None
    control_hit_rate: float | None
    difference: float | None
    difference_low: float | None
    difference_high: float | None
    relative_lift: float | None
    relative_low: float | None
    relative_high: float | None
    confidence: float
    verdict: str  # better | not_better | inconclusive | insufficient_data
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def compare_arms(counts: dict[str, dict], settings: OnlineSettings | None = None) -> Lift:
    """Lift of the model arm over the control arm with confidence intervals, and the verdict (see module doc)."""
    settings = settings or OnlineSettings()
    model, control = counts["model"], counts["control"]
    n_m, h_m, n_c, h_c = model["exposures"], model["hits"], control["exposures"], control["hits"]
    z = NormalDist().inv_cdf(0.5 + settings.confidence / 2)
    p_m = h_m / n_m if n_m else None
    p_c = h_c / n_c if n_c else None
    difference = low = high = relative = rel_low = rel_high = None
    if p_m is not None and p_c is not None:
        difference = p_m - p_c
        se = math.sqrt(p_m * (1 - p_m) / n_m + p_c * (1 - p_c) / n_c)
        low, high = difference - z * se, difference + z * se
        if h_c > 0:
            relative = p_m / p_c - 1
        # no hit in an arm: the log risk ratio is infinite; 0.5 more in each cell of the table keeps it finite
        # (Haldane-Anscombe) for the interval, the point estimate stays what was observed
        add = 0.5 if h_m == 0 or h_c == 0 else 0.0
        a_m, t_m, a_c, t_c = h_m + add, n_m + 2 * add, h_c + add, n_c + 2 * add
        se_log = math.sqrt(max(0.0, 1 / a_m - 1 / t_m + 1 / a_c - 1 / t_c))
        log_ratio = math.log((a_m / t_m) / (a_c / t_c))
        rel_low, rel_high = math.exp(log_ratio - z * se_log) - 1, math.exp(log_ratio + z * se_log) - 1
    if min(n_m, n_c) < max(settings.min_exposures, 1):
        verdict = "insufficient_data"
        reason = f"{n_m} model and {n_c} control exposures; a verdict needs {settings.min_exposures} in each arm"
    else:
        threshold = f"{settings.min_lift:+.1%}"
        if rel_low > settings.min_lift:
            verdict, why = "better", f"the whole interval lies above {threshold}"
        elif rel_high <= settings.min_lift:
            verdict, why = "not_better", f"the whole interval lies at or below {threshold}"
        else:
            verdict, why = "inconclusive", f"the interval contains {threshold}: no verdict until more exposures"
        lift = "undefined (control had no hit)" if relative is None else f"{relative:+.1%}"
        reason = (
            f"hit rate {p_m:.2%} (model, {n_m} exposures) vs {p_c:.2%} (control, {n_c}): lift {lift} "
            f"({settings.confidence:.0%} CI {rel_low:+.1%} to {rel_high:+.1%}); {why}"
        )
    return Lift(n_m, n_c, p_m, p_c, difference, low, high, relative, rel_low, rel_high, settings.confidence,
                verdict, reason)  # fmt: skip


def markdown(rows: list[dict], day_lift: Lift, period_lift: Lift, period: str) -> str:
    """The asset's summary: the per-version table, then the lift of the day and of the period."""

    def pct(value) -> str:
        return "–" if value is None else f"{value:.2%}"

    lines = [
        "| model version | store version | source | exposures | hit rate | precision@K | line share | revenue share |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['model_version']} | {r['store_version']} | {r['source']} | {r['exposures']} | {pct(r['hit_rate'])} | "
        f"{pct(r['precision_at_k'])} | {pct(r['line_share'])} | {pct(r['revenue_share'])} |"
        for r in rows
    ] or ["| (no serving this day) | | | | | | | |"]
    for label, lift in (("this day", day_lift), (period, period_lift)):
        lines.append(f"\n**Model vs control, {label}:** {lift.verdict} — {lift.reason}")
    return "\n".join(lines)


def per_model_version(days: list[dict], settings: OnlineSettings | None = None) -> list[dict]:
    """Online figures per model version, pooled over days (each: the `by_version` rows and `arm_counts` of one
    online_metrics partition). A day counts for a model version when that version alone served the model arm;
    its control arm is that day's control group. Newest version first (by its last day)."""
    pooled: dict[str, dict] = {}
    for day in sorted(days, key=lambda d: d["day"]):
        versions = {row["model_version"] for row in day["by_version"] if row["group"] == "model"}
        if len(versions) != 1:
            continue
        entry = pooled.setdefault(versions.pop(), {"days": [], "counts": []})
        entry["days"].append(day["day"])
        entry["counts"].append(day["arm_counts"])
    figures = []
    for version, entry in pooled.items():
        counts = pool(entry["counts"])
        lift = compare_arms(counts, settings)
        figures.append(
            {"model_version": version, "first_day": entry["days"][0], "last_day": entry["days"][-1],
             "days": len(entry["days"]), "exposures": counts["model"]["exposures"],
             **rates(counts["model"]), "control_hit_rate": lift.control_hit_rate, "lift": lift.relative_lift,
             "lift_low": lift.relative_low, "lift_high": lift.relative_high, "verdict": lift.verdict}
        )  # fmt: skip
    return sorted(figures, key=lambda f: f["last_day"], reverse=True)
