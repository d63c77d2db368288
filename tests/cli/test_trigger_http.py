"""Another system starts the whole pipeline over HTTP: a real `dagster-webserver` on a loopback port,
`recsys trigger` launching runs through its GraphQL API, then the Dagster instance and the store checked."""

import datetime as dt
import os
import re
from pathlib import Path

import pytest

from recsys_assets.cli.main import main
from recsys_assets.tags import TRIGGER_TAG
from tests.support import dagster_processes

pytestmark = pytest.mark.slow


@pytest.fixture
def webserver(recsys_home, tmp_path):
    # no daemon in this test: the webserver launches runs itself instead of queueing them for the daemon
    (Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n"
        "run_coordinator:\n  module: dagster.core.run_coordinator\n  class: DefaultRunCoordinator\n"
    )
    with dagster_processes.webserver(tmp_path) as url:
        yield url


@pytest.fixture
def tiny_source(recsys_home):
    from recsys_assets.core.data.generator import GeneratorConfig, generate
    from tests.support.data import write_source

    write_source(
        generate(
            GeneratorConfig(
                customers=400, products=400, days=20, lines_per_day=300, seed=11, end_date=dt.date(2026, 6, 30)
            )
        )
    )


def test_trigger_the_whole_pipeline_over_graphql(tiny_source, webserver, recsys_home, capsys):
    from dagster import AssetKey, DagsterInstance

    from recsys_assets.core.stores.store import LocalRecommendationStore

    # an unknown code location is refused with the server's answer, nothing is launched
    assert main(["trigger", "--url", webserver, "--job", "retrain_job", "--location", "nowhere"]) == 1
    assert "launching retrain_job in nowhere failed" in capsys.readouterr().err

    code = main(
        ["trigger", "--url", webserver, "--start", "2026-06-11", "--end", "2026-06-30", "--wait", "--timeout", "150"]
        + ["--tag", "caller=erp"]
    )
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0, out + captured.err
    assert "launched ingest_job" in out and "launched retrain_job" in out and "retrain_job: SUCCESS" in out

    instance = DagsterInstance.get()
    runs = {run.job_name: run for run in instance.get_runs()}
    assert set(runs) == {"ingest_job", "retrain_job"}
    assert all(run.is_success for run in runs.values())
    ingest = runs["ingest_job"]
    assert ingest.tags[TRIGGER_TAG] == "manual" and ingest.tags["caller"] == "erp"
    assert ingest.tags["dagster/asset_partition_range_start"] == "2026-06-11"
    raw = instance.fetch_materializations(AssetKey("raw_orders"), limit=100).records
    assert len(raw) == 20 and {r.run_id for r in raw} == {ingest.run_id}  # one run for the 20 days

    [published] = instance.fetch_materializations(AssetKey("published_recommendations"), limit=10).records
    assert published.run_id == runs["retrain_job"].run_id
    version = published.asset_materialization.metadata["version"].value
    assert LocalRecommendationStore(recsys_home / "store.sqlite").live_version() == version

    # the registry lists the model with its lineage and metrics
    assert main(["models"]) == 0
    table = capsys.readouterr().out
    model_version = published.asset_materialization.metadata["model_version"].value
    assert model_version in table and "model=" in table and "@10" in table
    # registered in MLflow by the run's process; the live version names it: the champion of the next gate
    assert re.search(rf"^ +{re.escape(model_version)} +v1 +[0-9a-f]{{32}} +- +local$", table, re.M), table
    [model] = instance.fetch_materializations(AssetKey("als_model"), limit=10).records
    meta = model.asset_materialization.metadata
    assert {"git_commit", "data_version", "params", "trained_at", "training_wall_seconds"} <= set(meta)
