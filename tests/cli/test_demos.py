"""`recsys demo` and `recsys demo-drift` end to end (demo-drift: train before the drift, ingest drifted days, the
sensor fires, retraining runs)."""

from pathlib import Path

from dagster import AssetKey, DagsterInstance, RunsFilter

from recsys_assets.cli.main import main
from recsys_assets.tags import REASON_TAG, TRIGGER_TAG


def test_demo_drift_fires_and_retrains(recsys_home, capsys):
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


def test_demo_materializes_the_graph_and_prints_the_metrics_with_their_intervals(recsys_home, capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "customers evaluated" in out and "(95% interval)" in out and "=> " in out
    assert f"recommendation store: {recsys_home / 'store.sqlite'}" in out
