"""recsys models and recsys trigger without a server; the partition tags the trigger sends."""

import pytest

from recsys_assets.cli.graphql_client import partition_tags

PARAMS = {"weighting": "log", "alpha": 1.0, "als": {"factors": 32, "regularization": 1.0, "iterations": 15}}


def test_partition_tags():
    assert partition_tags("2026-06-01") == {"dagster/partition": "2026-06-01"}
    assert partition_tags(None, "2026-06-01", "2026-06-30") == {
        "dagster/asset_partition_range_start": "2026-06-01",
        "dagster/asset_partition_range_end": "2026-06-30",
    }
    assert partition_tags() == {}
    with pytest.raises(ValueError, match="needs both start and end"):
        partition_tags(None, "2026-06-01")
    with pytest.raises(ValueError, match="either a partition or a range"):
        partition_tags("2026-06-01", "2026-06-01", "2026-06-02")


def test_models_command_on_an_empty_instance(recsys_home, capsys):
    from recsys_assets.cli.main import main

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "no als_model materialization" in out
    assert "registered in MLflow model 'recsys-local' at sqlite:///" in out and "no registered model version yet" in out
    assert "open the MLflow UI: make mlflow-ui (mlflow ui --backend-store-uri sqlite:///" in out


def test_models_command_lists_the_registered_versions_from_mlflow_and_the_live_one(recsys_home, capsys):
    import json

    from recsys_assets.cli.main import main
    from recsys_assets.core.modeling.artifact import ModelArtifact
    from recsys_assets.core.stores.store import LocalRecommendationStore
    from recsys_assets.resources import resources_for
    from recsys_assets.settings import local_store_path
    from tests.support.serving import lists_for, tiny_data

    registry = resources_for("local")["models"].registry()
    for version in ("m-old", "m-live"):
        registry.save(ModelArtifact(version, "d", None, None))
    LocalRecommendationStore(local_store_path()).publish("V1", lists_for(tiny_data()), {"model_version": "m-live"}, 3)
    assert main(["models", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["registry"]
    assert [(r["version"], r["mlflow_version"]) for r in shown["registered"]] == [("m-live", "2"), ("m-old", "1")]
    assert shown["live"] == {"local": "m-live"} and all(len(r["run_id"]) == 32 for r in shown["registered"])
    assert main(["models"]) == 0
    [row] = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip().startswith("m-live")]
    assert row[1] == "v2" and row[2] == shown["registered"][0]["run_id"] and row[-1] == "local"


def test_trigger_against_no_server_fails_clearly(recsys_home, capsys):
    from recsys_assets.cli.main import main

    assert main(["trigger", "--url", "http://127.0.0.1:9", "--job", "retrain_job"]) == 1
    assert "cannot reach the Dagster webserver at http://127.0.0.1:9" in capsys.readouterr().err
