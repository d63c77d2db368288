"""Markdown renderings of a validation report for the Dagster UI (failed expectations and offending rows)."""

from __future__ import annotations

from .gx_runner import ValidationReport


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")[:120]


def failures_markdown(report: ValidationReport) -> str:
    """One row per failed expectation: expectation, column(s), observed value, unexpected share, tolerance."""
    if report.success:
        return f"All {report.evaluated} expectations of `{report.suite}` passed."
    lines = ["| expectation | column(s) | observed | unexpected | tolerated | note |", "|---|---|---|---|---|---|"]
    for failure in report.failures:
        unexpected = (
            f"{failure.unexpected_count} ({failure.unexpected_percent:.2f} %)"
            if failure.unexpected_count is not None and failure.unexpected_percent is not None
            else "-"
        )
        tolerated = f"{100 * (1 - failure.mostly):.2f} %" if failure.mostly is not None else "0 %"
        observed = failure.error or failure.observed
        lines.append(
            f"| {failure.expectation} | {_cell(failure.target)} | {_cell(observed)} | {unexpected} | {tolerated} "
            f"| {_cell(failure.notes)} |"
        )
    return "\n".join(lines)


def offending_rows_markdown(report: ValidationReport, limit: int = 10) -> str:
    """A few offending rows over all failed expectations, each tagged with the expectation that flagged it."""
    rows = [
        {"expectation": f"{failure.expectation}({failure.target})", **row}
        for failure in report.failures
        for row in failure.sample
    ][:limit]
    if not rows:
        return "(no row-level sample: the failed expectations concern the table or its columns)"
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines.extend("| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |" for row in rows)
    return "\n".join(lines)
