"""A check's outcome, and where its verdict goes: the Evidently workspace (project `recsys`,
monitoring/workspace.py: the report snapshot and the figures the dashboard plots), the report files (HTML + JSON),
then the asset metadata and value.

A workspace that cannot be written (a remote `evidently ui` that is down) costs the snapshot, not the verdict: the
error is in the metadata and the log. In dev / prod without a remote `evidently ui` no snapshot is written at all
(a workspace folder on a run pod would be read by nobody): the metadata and the log say so.

The reports' link: locally the file; in dev / prod (reports in Blob storage) the serving API's review page
`<RECSYS_API_URL>/#report=<check>/<stamp>`, which opens `/reports/<check>/<stamp>.html` with the review key, or the
blob's URL (for people with access to the storage account) when RECSYS_API_URL is unset.
"""

import datetime as dt
import json
import logging
from dataclasses import dataclass, field

from dagster import MetadataValue

from monitoring.drift import DriftResult
from monitoring.reports import ReportFiles, write_report

from ..instance.live_model import LiveModel
from ..resources.monitoring import MonitoringResource

logger = logging.getLogger(__name__)


@dataclass
class CheckOutcome:
    """What one check evaluated and found; `skipped` says why there is no verdict (too little data)."""

    check: str
    model: LiveModel | None
    evaluated: list[str] = field(default_factory=list)
    result: DriftResult | None = None
    files: ReportFiles | None = None
    skipped: str | None = None
    workspace: dict = field(default_factory=dict)  # the Evidently snapshot ids and URL, or the error
    inputs: dict = field(default_factory=dict)  # where the inputs came from (master data, partitions read)

    @property
    def drifted(self) -> bool:
        return bool(self.result is not None and self.result.drifted)

    def reason(self, label: str) -> str:
        """Run tag value, e.g. 'drift: main_category, item_popularity' (bounded length)."""
        features = ", ".join(self.result.drifted_features) if self.result else ""
        return f"{label}: {features}"[:250]


def record(outcome: CheckOutcome, monitoring: MonitoringResource, result: DriftResult, snapshot) -> CheckOutcome:
    """The verdict into the Evidently workspace, then into the report files (their JSON names the snapshot)."""
    metadata = {"model_version": outcome.model.version if outcome.model else None, "drifted": result.drifted}
    if outcome.model is not None:
        metadata["store_version"] = outcome.model.store_version
    outcome.workspace = add_to_workspace(monitoring, outcome.check, check_figures(result), metadata, snapshot)
    result.extra["evidently"] = outcome.workspace
    outcome.result = result
    outcome.files = write_report(monitoring.reports_location(), outcome.check, result.as_dict(), snapshot)
    return outcome


def report_link(files: ReportFiles) -> str:
    """What the asset metadata links: the API's report route when the report is in Blob storage and the API's
    address is known (RECSYS_API_URL), else the file's or the blob's URL."""
    from ..settings import api_url

    # only for reports in Blob storage: a local report keeps its file link. The review page opens it with the
    # review key (a plain link cannot send one)
    if api_url() and not files.url().startswith("file:"):
        return f"{api_url()}/#report={files.name.removesuffix('.html')}"
    return files.url()


def add_to_workspace(
    monitoring: MonitoringResource,
    check: str,
    figures: dict,
    metadata: dict,
    snapshot=None,
    timestamp: dt.datetime | None = None,
) -> dict:
    """Add a check run to the Evidently workspace; returns its ids and UI link, or {"error": ...}."""
    from monitoring.workspace import add_check_run, snapshot_url

    _, _, ui_url = monitoring.workspace_settings()
    refused = monitoring.local_workspace_refused()
    if refused:
        logger.warning("%s: %s", check, refused)
        return {"skipped": refused}
    try:
        ids = add_check_run(monitoring.workspace(), check, figures, metadata, snapshot, timestamp)
    except Exception as error:  # the verdict stands without its snapshot
        logger.warning("adding the %s run to the Evidently workspace failed: %s", check, error)
        return {"error": f"{type(error).__name__}: {error}"[:500]}
    shown = ids["report_id"] or ids["figures_id"]
    return {**ids, "url": snapshot_url(ui_url, ids["project_id"], shown)}


def check_figures(result: DriftResult) -> dict:
    """What the dashboard plots of a check: the drifted share, every feature's score, numeric extras."""
    extras = {k: v for k, v in result.extra.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    return {"drifted_share": result.drifted_share, **{f"score_{f.feature}": f.score for f in result.features}, **extras}


def outcome_metadata(outcome: CheckOutcome) -> dict:
    """Asset metadata: links to the HTML report, a markdown summary, the share of drifted features."""
    if outcome.result is None:
        return {
            "drifted": False,
            "evaluated": MetadataValue.json(outcome.evaluated),
            "summary": MetadataValue.md(f"{outcome.check}: no verdict — {outcome.skipped}"),
        }
    result = outcome.result
    return {
        "drifted": result.drifted,
        "verdict": result.verdict,
        "drifted_features": MetadataValue.json(result.drifted_features),
        "drifted_share": float(round(result.drifted_share, 4)),
        "model_version": outcome.model.version if outcome.model else "none",
        "evaluated": MetadataValue.json(outcome.evaluated),
        **outcome.inputs,
        "reference_rows": result.reference_rows,
        "current_rows": result.current_rows,
        "report": MetadataValue.path(str(outcome.files.html)),
        "report_url": MetadataValue.url(report_link(outcome.files)),
        "summary_json": MetadataValue.path(str(outcome.files.json)),
        **workspace_metadata(outcome.workspace),
        "summary": MetadataValue.md(result.markdown()),
        **{f"score_{f.feature}": float(round(f.score, 6)) for f in result.features},
        # per-list figures (monitoring/lists.py) the skew check adds
        **{k: v for k, v in result.extra.items() if k.startswith("list_") and isinstance(v, int | float)},
    }


def workspace_metadata(workspace: dict) -> dict:
    """Links to the run's snapshot in the Evidently UI (or why there is none)."""
    if "url" in workspace:
        return {
            "evidently_snapshot": MetadataValue.url(workspace["url"]),
            "evidently_snapshot_id": workspace["url"].rsplit("/", 1)[-1],
        }
    if "skipped" in workspace:
        return {"evidently_snapshot_skipped": workspace["skipped"]}
    return {"evidently_error": workspace["error"]} if "error" in workspace else {}


def outcome_summary(outcome: CheckOutcome) -> dict:
    """The asset value: the JSON summary (or why there is none)."""
    if outcome.result is None:
        return {"check": outcome.check, "drifted": False, "skipped": outcome.skipped, "evaluated": outcome.evaluated}
    return json.loads(json.dumps({**outcome.result.as_dict(), "report_html": str(outcome.files.html)}, default=str))
