"""The monitors judge the model the store serves: a newer model that the gate refused is never the live model."""

import datetime as dt

import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance, materialize

from recsys_assets.assets import ALL_ASSETS
from recsys_assets.assets.monitoring import skew_report
from recsys_assets.checks import ALL_CHECKS
from recsys_assets.cli.local_run import materialize_graph
from recsys_assets.core.stores.serving_log import append_entries
from recsys_assets.core.stores.store import LocalRecommendationStore
from recsys_assets.instance.live_model import NoLiveModel, live_model
from recsys_assets.resources import resources_for
from recsys_assets.settings import local_store_path, serving_log_dir
from tests.support.data import metadata_of, write_source

pytestmark = pytest.mark.slow

WORSE_MODEL = {"ops": {"als_model": {"config": {"select_model": False, "als": {"factors": 1, "iterations": 1}}}}}


@pytest.fixture
def refused(recsys_home, small_data):
    """A champion published by a clean run, then a worse model trained, scored and refused by the gate."""
    write_source(small_data)
    with DagsterInstance.ephemeral() as instance:
        store = LocalRecommendationStore(local_store_path())
        with pytest.raises(NoLiveModel, match="nothing is published yet"):
            live_model(instance, store)
        materialize_graph(instance=instance)
        champion = store.versions()[0].metadata["model_version"]
        worse = materialize(
            [*ALL_ASSETS, *ALL_CHECKS],
            selection=AssetSelection.all() - AssetSelection.keys("raw_orders"),
            instance=instance,
            resources=resources_for("local"),
            run_config=WORSE_MODEL,
            raise_on_error=False,
        )
        assert not worse.success  # the model gate stopped the publication
        refused_version = metadata_of(worse, "als_model")["model_version"]
        yield instance, store, champion, refused_version


def test_monitors_judge_the_published_model_not_the_refused_one(refused):
    instance, store, champion, refused_version = refused
    latest = instance.get_latest_materialization_event(AssetKey("als_model")).asset_materialization
    assert latest.metadata["model_version"].value == refused_version != champion

    model = live_model(instance, store)
    assert model.version == champion
    assert model.store_version == store.live_version()

    customers = [f"C{i:06d}" for i in range(250)]
    start = dt.datetime(2026, 7, 1, 8)
    append_entries(
        serving_log_dir(),
        [
            {
                "ts": (start + dt.timedelta(seconds=i)).isoformat(),
                "customer_id": customer,
                "model_version": champion,
                "items": ["P000001"],
                "cold_start": False,
                "target": "local",
            }
            for i, customer in enumerate(customers)
        ],
    )
    result = materialize(ALL_ASSETS, selection=[skew_report], instance=instance, resources=resources_for("local"))
    assert metadata_of(result, "skew_report")["model_version"] == champion
    assert metadata_of(result, "skew_report")["master_data"] == "assets"  # the inputs, as the graph run left them
