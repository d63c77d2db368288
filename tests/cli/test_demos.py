"""`recsys demo-drift` end to end: train before the drift, ingest drifted days, the sensor fires, retraining runs;
the drift report is a snapshot of the Evidently workspace that `evidently ui` (the `make monitor-ui` service) lists
over its HTTP API, with the dashboard that plots it. (`make demo`, the README's first command, runs in
tests/cli/test_readme.py with the checks of its output.)"""

import json
from pathlib import Path

import httpx
import pytest
from dagster import AssetKey, DagsterInstance, RunsFilter

from monitoring.workspace import PROJECT_NAME
from recsys_assets.cli.main import main
from recsys_assets.resources.monitoring import MonitoringResource
from recsys_assets.tags import REASON_TAG, TRIGGER_TAG
from recsys_assets.watch.results import add_to_workspace
from tests.support.evidently_ui import evidently_ui

pytestmark = pytest.mark.slow


def test_demo_drift_fires_and_retrains(recsys_home, capsys, monkeypatch, tmp_path):
    args = ["--customers", "800", "--products", "600", "--days", "40", "--lines-per-day", "500"]
    code = main(["demo-drift", *args, "--end-date", "2026-06-30", "--drift-kind", "price_shift"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "drifted features:      unit_price" in out
    report = Path(out.split("drift report (HTML):")[1].split()[0])
    assert report.exists() and report.with_suffix(".json").exists()
    assert "list overlap" in out  # prediction drift between the published versions before and after retraining
    assert "sensor re-evaluated after retraining: no raw_orders partition after" in out

    instance = DagsterInstance.get()
    [run] = instance.get_runs(filters=RunsFilter(tags={TRIGGER_TAG: "sensor"}))
    assert run.tags[REASON_TAG] == "drift: unit_price"
    assert run.tags["recsys/report"] == str(report)
    event = instance.get_latest_materialization_event(AssetKey("drift_report"))
    assert event.asset_materialization.metadata["drifted"].value is True

    # the Evidently workspace holds the drift report; `evidently ui` on it lists it and plots its figures
    snapshot_id = event.asset_materialization.metadata["evidently_snapshot_id"].value
    assert event.asset_materialization.metadata["evidently_snapshot"].value.endswith(snapshot_id)
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    with evidently_ui(recsys_home / "evidently", tmp_path / "evidently-ui.log") as ui:
        [project] = [p for p in httpx.get(f"{ui}/api/projects").json() if p["name"] == PROJECT_NAME]
        snapshots = {s["id"]: s for s in httpx.get(f"{ui}/api/projects/{project['id']}/snapshots").json()}
        assert snapshots[snapshot_id]["name"].startswith("data_drift report ")
        figures = [s for s in snapshots.values() if s["tags"] == ["data_drift", "figures"]]
        assert figures and figures[0]["metadata"]["drifted"] == "True"
        tabs = [t["title"] for t in httpx.get(f"{ui}/api/v2/dashboards/{project['id']}").json()["tabs"]]
        assert tabs == ["Data drift", "Serving skew", "Prediction drift", "Online"]
        series_filter = {"tags": ["data_drift", "figures"], "metadata": {}, "metric": "evidently:metric_v2:MeanValue",
                         "metric_labels": {"column": "score_unit_price"}}  # fmt: skip
        plotted = httpx.post(
            f"{ui}/api/v2/snapshots/{project['id']}/data_series_batch", json={"series_filter": [series_filter]}
        ).json()
        features = json.loads(report.with_suffix(".json").read_text())["features"]
        unit_price = next(f for f in features if f["feature"] == "unit_price")
        assert plotted["series"][0]["values"][0] == pytest.approx(unit_price["score"])

        # dev / prod: the same run added to a remote workspace, the `evidently ui` service itself
        remote = MonitoringResource(evidently_url=ui)
        added = add_to_workspace(remote, "online_metrics", {"hit_rate_model": 0.25}, {"day": "2026-06-30"})
        assert added["url"] == f"{ui}/projects/{project['id']}/reports/{added['figures_id']}"
        listed = httpx.get(f"{ui}/api/projects/{project['id']}/snapshots").json()
        assert added["figures_id"] in {s["id"] for s in listed}
