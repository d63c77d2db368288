"""The markdown table of side rankings (buy again, bought together) shown in model_metrics' metadata."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def rankings_table(
    figures: Mapping[str, Mapping[str, float]],
    intervals: Mapping[str, Mapping[str, float]],
    metrics: Sequence[str],
    k: int,
    baseline: str,
    choice: str,
) -> list[str]:
    """One row per ranking: each metric with its interval (`intervals["<ranking>_<metric>"]`), the interval of its
    MAP@k lead over `baseline` (`intervals["lead_<ranking>_map"]`, "—" where there is none), the choice in bold."""
    header = f"| ranking | {' | '.join(f'{m}@{k}' for m in metrics)} | MAP@{k} lead over {baseline} |"
    rows = [header, "|---" * (len(metrics) + 2) + "|"]
    for name, values in figures.items():
        cells = [
            f"{values[m]:.4f} ({intervals[f'{name}_{m}']['low']:.4f}–{intervals[f'{name}_{m}']['high']:.4f})"
            for m in metrics
        ]
        lead = intervals.get(f"lead_{name}_map")
        lead_text = f"{lead['low']:+.4f} to {lead['high']:+.4f}" if lead else "—"
        title = f"**{name}** (chosen)" if name == choice else name
        rows.append(f"| {title} | " + " | ".join(cells) + f" | {lead_text} |")
    return rows
