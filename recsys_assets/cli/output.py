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
    k = summary["k"]
    print(f"\n    offline metrics on the temporal hold-out ({summary['model']['evaluated_users']} customers)")
    if "selected_model" in summary:
        print(f"    selected model (best on validation, see als_model metadata): {summary['selected_model']}")
    print(f"    {'metric':<14}{'model':>10}{'popularity':>12}")
    for metric in ("map", "precision", "recall", "ndcg", "coverage"):
        name = f"{metric}@{k}" if metric != "coverage" else "coverage"
        print(f"    {name:<14}{summary['model'][metric]:>10.4f}{summary['popularity'][metric]:>12.4f}")
