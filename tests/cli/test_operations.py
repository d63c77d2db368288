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
    assert "no als_model materialization" in capsys.readouterr().out


def test_trigger_against_no_server_fails_clearly(recsys_home, capsys):
    from recsys_assets.cli.main import main

    assert main(["trigger", "--url", "http://127.0.0.1:9", "--job", "retrain_job"]) == 1
    assert "cannot reach the Dagster webserver at http://127.0.0.1:9" in capsys.readouterr().err
