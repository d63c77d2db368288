"""What the `recsys` commands print: step headers, the offline metrics table, quiet Dagster logs."""

from __future__ import annotations

import time

# run config that keeps Dagster's console logger to warnings, so the CLI's own lines stay readable
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def step(message: str) -> float:
    """Print a step header and return its start time (time.perf_counter)."""
    print(f"==> {message}", flush=True)
    return time.perf_counter()


def print_metrics(summary: dict) -> None:
    """The hold-out metrics of the model and of popularity with their bootstrap intervals, and what they allow."""
    k = summary["k"]
    intervals = summary.get("intervals", {})
    level = f"{summary.get('confidence', 0.95):.0%}"
    print(f"\n    offline metrics on the hold-out: {summary['model']['evaluated_users']} customers evaluated")
    if summary.get("holdout"):
        print(f"    hold-out: {summary['holdout']}")
    if "selected_model" in summary:
        print(f"    selected model (best on validation, see als_model metadata): {summary['selected_model']}")
    print(f"    {'metric':<14}{'model':>10}{f'({level} interval)':>20}{'popularity':>12}{f'({level} interval)':>20}")
    for metric in ("map", "precision", "recall", "ndcg", "auc", "coverage"):
        name = f"{metric}@{k}" if metric != "coverage" else "coverage"
        row = f"    {name:<14}"
        for side, width in (("model", 10), ("popularity", 12)):
            bounds = intervals.get(f"{side}_{metric}")
            span = f"({bounds['low']:.4f}-{bounds['high']:.4f})" if bounds else ""
            row += f"{summary[side].get(metric, float('nan')):>{width}.4f}{span:>20}"
        print(row)
    if summary.get("verdict"):
        print(f"    => {summary['verdict']}")
    if summary.get("noise"):
        print(f"    !! {summary['noise']}")
    if summary.get("buy_again"):
        print_buy_again(summary["buy_again"])
    if summary.get("related"):
        print_related(summary["related"])


def print_rankings(figures: dict, intervals: dict, names, metrics, k: int, level: str, width: int) -> None:
    """A header and one line per ranking of `names`: each metric of `metrics` with its interval."""
    print(f"    {'ranking':<16}" + "".join(f"{f'{m}@{k}':>{width}}{f'({level} interval)':>20}" for m in metrics))
    for name in names:
        row = f"    {name:<16}"
        for metric in metrics:
            bounds = intervals[f"{name}_{metric}"]
            span = f"({bounds['low']:.4f}-{bounds['high']:.4f})"
            row += f"{figures[name][metric]:>{width}.4f}{span:>20}"
        print(row)


def print_buy_again(results: dict) -> None:
    """The buy-again ranking next to its two baselines on the hold-out's repeat purchases, with intervals."""
    k, intervals = results["k"], results["intervals"]
    level = f"{results.get('confidence', 0.95):.0%}"
    print(
        f"\n    buy again (published with the chosen ranking), on repeat purchases: {results['evaluable_customers']} "
        f"customers bought a product again in the hold-out"
    )
    names = ("buy_again", "top_frequency", "popular_bought")
    print_rankings(results["rankings"], intervals, names, ("map", "recall"), k, level, width=10)
    print(f"    => {results['reason']}")
    if results.get("noise"):
        print(f"    !! {results['noise']}")


def print_related(results: dict) -> None:
    """Bought together and similar next to the popular baseline on the hold-out's orders, with intervals."""
    k, intervals = results["k"], results["intervals"]
    level = f"{results.get('confidence', 0.95):.0%}"
    print(
        f"\n    bought together / similar (published per product), on hold-out orders: "
        f"{results['evaluable_orders']} of {results['holdout_orders']} orders hold 2+ known products "
        f"({results['queries']} queries: one product given, the order's others to find)"
    )
    names = [name for name in ("bought_together", "similar", "popular_related") if name in results["scorers"]]
    print_rankings(results["scorers"], intervals, names, ("map", "recall", "hit_rate"), k, level, width=12)
    if "similar" not in results["scorers"] and results.get("similar_factors"):
        print(f"    similar not evaluated: {results['similar_factors']}")
    print(f"    => {results['reason']}")
    if results.get("noise"):
        print(f"    !! {results['noise']}")


def _percent(value) -> str:
    return "-" if value is None else f"{value:.2%}"


def format_online(figures: list[dict]) -> str:
    """The online figures per model version: days, exposures, hit rate and precision@K, lift over control."""
    header = ("model version", "days", "exposures", "hit rate", "precision@K", "control hit rate", "lift [95% CI]")
    rows = []
    for f in figures:
        interval = f" [{f['lift_low']:+.1%}, {f['lift_high']:+.1%}]" if f["lift_low"] is not None else ""
        lift = "-" if f["lift"] is None else f"{f['lift']:+.1%}{interval}"
        rows.append(
            (f["model_version"], f"{f['first_day']}..{f['last_day']}", f["exposures"], _percent(f["hit_rate"]),
             _percent(f["precision_at_k"]), _percent(f["control_hit_rate"]), f"{lift} {f['verdict']}")
        )  # fmt: skip
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "    " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )
