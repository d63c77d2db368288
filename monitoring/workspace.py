"""The Evidently workspace the data team opens with `make monitor-ui`: project `recsys`, its snapshots and dashboard.

Every check run adds two snapshots to the project:
- the Evidently report itself (named `<check> report <time>`): the full drift detail to open;
- its figures (`<check> figures`, tags [check, "figures"]): one `MeanValue` per figure (drift share, the score of
  every feature, skew shares, list overlap, online hit rates and lift) over a one-row dataset, so the dashboard
  can plot any of them over time, whatever check produced it.
The snapshot's timestamp is the moment the figures describe (the online metrics: their serving day).

Where the workspace lives (`open_workspace`): a folder (default `RECSYS_HOME/evidently`; any fsspec path the
installed filesystems understand), or a remote `evidently ui` service (`url`: dev / prod, where run containers
keep no files; the service keeps its own workspace, e.g. on an Azure Files share).
"""

from __future__ import annotations

import datetime as dt
import os

import pandas as pd

PROJECT_NAME = "recsys"
PROJECT_DESCRIPTION = "recsys monitoring: data drift, serving skew, prediction drift, online metrics (Dagster)"
# the checks whose figures the dashboard plots, with the figures of each (feature scores are "score_<feature>")
DASHBOARD = {
    "Data drift": (
        "data_drift",
        ["drifted_share"]
        + [
            f"score_{f}"
            for f in (
                "basket_size",
                "quantity",
                "unit_price",
                "item_popularity",
                "customer_activity",
                "main_category",
                "customer_segment",
                "new_customer",
            )
        ],
    ),
    "Serving skew": (
        "serving_skew",
        ["score_cold_start_share", "score_inactive_item_share", "score_customer_activity", "score_customer_segment"],
    ),
    "Prediction drift": ("prediction_drift", ["list_overlap", "score_category", "score_item_popularity"]),
    "Online": (
        "online_metrics",
        [
            "hit_rate_model",
            "hit_rate_control",
            "precision_at_k_model",
            "precision_at_k_control",
            "revenue_share_model",
            "revenue_share_control",
            "period_lift",
            "period_lift_low",
            "period_lift_high",
        ],
    ),  # fmt: skip
}


def _quiet() -> None:
    os.environ.setdefault("DO_NOT_TRACK", "1")  # Evidently's usage telemetry: never from a pipeline run


def open_workspace(folder: str | None = None, url: str | None = None, secret: str | None = None):
    """A remote workspace when `url` is given (the `evidently ui` service), else the folder workspace."""
    _quiet()
    if url:
        from evidently.ui.workspace import RemoteWorkspace

        return RemoteWorkspace(url.rstrip("/"), secret=secret)
    if not folder:
        raise ValueError("an Evidently workspace needs a folder or the URL of an `evidently ui` service")
    from evidently.ui.workspace import Workspace

    return Workspace.create(folder)


def dashboard_model():
    """Tabs of line plots: each figure of each check over time (see DASHBOARD)."""
    from evidently.sdk.models import DashboardModel, DashboardTabModel, PanelMetric
    from evidently.sdk.panels import line_plot_panel

    tabs, panels = [], []
    for title, (check, figures) in DASHBOARD.items():
        tab_panels = [
            line_plot_panel(
                figure.replace("_", " "),
                [
                    PanelMetric(
                        metric="MeanValue", legend=figure, tags=[check, "figures"], metric_labels={"column": figure}
                    )
                ],  # fmt: skip
                size="half",
            )
            for figure in figures
        ]
        panels += tab_panels
        tabs.append(DashboardTabModel(title=title, panels=[p.id for p in tab_panels]))
    return DashboardModel(tabs=tabs, panels=panels)


def recsys_project(workspace):
    """Project `recsys` (created with its dashboard on first use; a project without a dashboard gets it)."""
    found = [p for p in workspace.search_project(PROJECT_NAME) if p.name == PROJECT_NAME]
    project = found[0] if found else workspace.create_project(PROJECT_NAME, description=PROJECT_DESCRIPTION)
    if not workspace.get_dashboard(project.id).panels:
        workspace.save_dashboard(project.id, dashboard_model())
    return project


def figures_snapshot(figures: dict[str, float], tags: list[str], metadata: dict, timestamp: dt.datetime):
    """A snapshot with one `MeanValue` per figure, computed over a one-row dataset of the figures."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import MeanValue

    values = {name: float(value) for name, value in figures.items() if value is not None and value == value}
    frame = pd.DataFrame({name: [value] for name, value in values.items()})
    dataset = Dataset.from_pandas(frame, data_definition=DataDefinition(numerical_columns=list(values)))
    report = Report([MeanValue(column=name) for name in values])
    return report.run(current_data=dataset, tags=tags, metadata=_text(metadata), timestamp=timestamp)


def _text(metadata: dict) -> dict[str, str]:
    return {str(k): str(v) for k, v in metadata.items() if v is not None}


def add_check_run(
    workspace,
    check: str,
    figures: dict[str, float],
    metadata: dict,
    report=None,
    timestamp: dt.datetime | None = None,
) -> dict:
    """Add the check's Evidently `report` snapshot (if any) and its figures to project `recsys`.

    Returns {"project_id", "report_id" (or None), "figures_id"}.
    """
    project = recsys_project(workspace)
    timestamp = timestamp or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    stamp = timestamp.strftime("%Y-%m-%d %H:%M")
    report_id = None
    if report is not None:
        report_id = str(workspace.add_run(project.id, report, name=f"{check} report {stamp}").id)
    snapshot = figures_snapshot(figures, [check, "figures"], metadata, timestamp)
    figures_id = str(workspace.add_run(project.id, snapshot, name=f"{check} figures {stamp}").id)
    return {"project_id": str(project.id), "report_id": report_id, "figures_id": figures_id}


def snapshot_url(ui_url: str, project_id: str, snapshot_id: str) -> str:
    """The page of a snapshot in the Evidently UI."""
    return f"{ui_url.rstrip('/')}/projects/{project_id}/reports/{snapshot_id}"


def latest_runs(workspace, limit: int = 20) -> list[dict]:
    """The newest `limit` snapshots of project `recsys`: id, name, tags, metadata, timestamp (newest first)."""
    found = [p for p in workspace.search_project(PROJECT_NAME) if p.name == PROJECT_NAME]
    if not found:
        return []
    project = found[0]
    runs = []
    for snapshot_id in workspace.list_runs(project.id):
        model = workspace.get_run(project.id, snapshot_id)
        if model is not None:
            runs.append({"project_id": str(project.id), "id": str(snapshot_id), "name": model.name,
                         "tags": list(model.tags), "metadata": dict(model.metadata),
                         "timestamp": model.timestamp.isoformat()})  # fmt: skip
    return sorted(runs, key=lambda r: r["timestamp"], reverse=True)[:limit]
