"""The dev / prod deployments end to end: Dagster runs against the Cosmos DB emulator and Azurite."""

import itertools
import json
import os

import pandas as pd
import pytest
from azure.cosmos import CosmosClient
from azure.storage.blob import BlobServiceClient
from dagster import AssetSelection, DagsterInstance, RunsFilter, asset, materialize
from fastapi.testclient import TestClient

from recsys_assets.assets import ALL_ASSETS
from recsys_assets.assets.publishing import published_recommendations
from recsys_assets.cli.local_run import materialize_graph
from recsys_assets.cli.main import main
from recsys_assets.core.lifecycle.promotion import clean_document
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.core.stores.store import SIDE_LIST_COLUMNS
from recsys_assets.jobs import promote_job
from recsys_assets.resources import resources_for
from recsys_assets.resources.stores import CosmosStoreResource
from recsys_assets.serving.app import create_app
from recsys_assets.serving.serving_settings import ServingSettings
from recsys_assets.serving.stores import serving_stores
from recsys_assets.settings import DeploymentError
from recsys_assets.tags import TARGET_TAG, TRIGGER_TAG
from tests.support.fault_proxy import FaultProxy
from tests.support.fold_ins import ORDERS_KEY, check_order_paths

pytestmark = pytest.mark.slow

_names = itertools.count()


@pytest.fixture
def azure_env(monkeypatch, small_source, cosmos_emulator, azurite, mlflow_tracking_server):
    """RECSYS_DEPLOYMENT=dev pointed at the emulators and a real MLflow server, with fresh database, container and
    registered model names."""
    n = next(_names)
    names = {"dev": f"recsys-dev-{n}", "prod": f"recsys-prod-{n}", "blob": f"recsys-storage-{n}"}
    for key, value in {
        "RECSYS_DEPLOYMENT": "dev",
        "RECSYS_SOURCE_URL": small_source,
        "COSMOS_ENDPOINT": cosmos_emulator.endpoint,
        "COSMOS_KEY": cosmos_emulator.key,
        "COSMOS_DEV_DATABASE": names["dev"],
        "COSMOS_PROD_DATABASE": names["prod"],
        "AZURE_STORAGE_ACCOUNT_URL": azurite.account_url,
        "AZURE_STORAGE_KEY": azurite.key,
        "AZURE_STORAGE_CONTAINER": names["blob"],
        "MLFLOW_TRACKING_URI": mlflow_tracking_server.url,
        "RECSYS_MLFLOW_MODEL_NAME": f"recsys-dev-{os.getpid()}-{n}",
    }.items():
        monkeypatch.setenv(key, value)
    return names


def sdk_container(emulator, database: str):
    client = CosmosClient(emulator.endpoint, credential=emulator.key, enable_endpoint_discovery=False)
    return client.get_database_client(database).get_container_client("recommendations")


def sdk_pointer(emulator, database: str) -> dict:
    return sdk_container(emulator, database).read_item("pointer", partition_key="__meta__")


def metadata_of(result, name):
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == name]
    return {key: value.value for key, value in event.materialization.metadata.items()}


def test_dev_deployment_end_to_end_then_prod_schedule_and_promotion(
    azure_env, cosmos_emulator, azurite, instance, small_data, small_source, monkeypatch, capsys
):
    run = materialize_graph(instance=instance, deployment="dev")
    assert run.success
    published = run.downstream.output_for_node("published_recommendations")
    version = published["version"]
    assert published["target"] == "dev"
    assert metadata_of(run.downstream, "published_recommendations")["target"] == "dev"
    assert instance.get_run_by_id(run.downstream.run_id).tags[TARGET_TAG] == "dev"

    # read back through the bare SDK: the pointer names the version, every customer's document is there
    assert sdk_pointer(cosmos_emulator, azure_env["dev"])["live"] == version
    expected = run.downstream.output_for_node("recommendations")
    container = sdk_container(cosmos_emulator, azure_env["dev"])
    customer = expected["customer_id"].iloc[0]
    document = container.read_item(version, partition_key=customer)
    assert [item["product_id"] for item in document["items"]] == (
        expected.loc[expected["customer_id"] == customer, "product_id"].tolist()
    )
    assert document["model_version"] == expected["model_version"].iloc[0]
    mine = expected[expected["customer_id"] == customer]
    assert [item["reason"] for item in document["items"]] == mine["reason"].tolist()  # explanations stored
    assert [json.dumps(item["because"]) for item in document["items"]] == [
        json.dumps(json.loads(text)) for text in mine["because"]
    ]
    count = list(
        container.query_items(
            "SELECT VALUE COUNT(1) FROM c WHERE c.version = @v",
            parameters=[{"name": "@v", "value": version}],
            enable_cross_partition_query=True,
        )
    )
    info = sdk_pointer(cosmos_emulator, azure_env["dev"])["versions"][0]
    lists = info["metadata"]["lists"]
    als = metadata_of(run.downstream, "als_model")["winner_model"] == "als"  # similar needs ALS item factors
    assert set(lists) == ({"buy_again", "bought_together", "similar"} if als else {"buy_again", "bought_together"})
    # buy again rides in the customers' documents, a product's related lists share one document
    assert count == [info["documents"]] == [len(small_data.customers) + lists["bought_together"]]
    buyer = run.downstream.output_for_node("buy_again_lists")["key"].iloc[0]
    assert container.read_item(version, partition_key=buyer)["buy_again"]
    # nothing reached prod
    client = CosmosClient(cosmos_emulator.endpoint, credential=cosmos_emulator.key, enable_endpoint_discovery=False)
    assert azure_env["prod"] not in [database["id"] for database in client.list_databases()]

    # fresh lists on Cosmos DB: an order through each path reaches the dev lists, nothing reaches prod
    monkeypatch.setenv("RECSYS_API_KEY", "dev-serving-key-0123456789")
    monkeypatch.setenv("RECSYS_REVIEW_KEY", "dev-review-key-0123456789")
    monkeypatch.setenv("RECSYS_ORDERS_KEY", ORDERS_KEY)
    with TestClient(create_app(ServingSettings.from_env())) as api:
        serving, review = {"X-API-Key": "dev-serving-key-0123456789"}, {"X-API-Key": "dev-review-key-0123456789"}
        source, dev = SourceDatabase(small_source), resources_for("dev")
        check_order_paths(api, serving, review, expected, small_data, source, instance, dev, monkeypatch)
    assert serving_stores("dev")["prod"].live_version() is None  # the API reads prod too; nothing folded into it

    # Dagster's own storage went to Azurite, one blob per raw_orders partition of the single-run backfill
    service = BlobServiceClient(azurite.account_url, credential=azurite.key)
    blobs = [b.name for b in service.get_container_client(azure_env["blob"]).list_blobs()]
    assert "storage/als_model" in blobs
    assert sum(name.startswith("storage/raw_orders/") for name in blobs) == 60

    # the prod deployment: a hand-launched run still publishes to dev, a scheduled one to prod
    prod = resources_for("prod")
    manual = materialize(
        ALL_ASSETS,
        selection=AssetSelection.keys("published_recommendations"),
        resources=prod,
        instance=instance,
        tags={TRIGGER_TAG: "manual"},
    )
    assert metadata_of(manual, "published_recommendations")["target"] == "dev"
    scheduled = materialize(
        ALL_ASSETS,
        selection=AssetSelection.keys("published_recommendations"),
        resources=prod,
        instance=instance,
        tags={TRIGGER_TAG: "schedule"},
    )
    assert metadata_of(scheduled, "published_recommendations")["target"] == "prod"
    assert instance.get_run_by_id(scheduled.run_id).tags[TARGET_TAG] == "prod"
    assert sdk_pointer(cosmos_emulator, azure_env["prod"])["live"] == version

    # promote (`recsys promote` runs promote_job): a newer dev version becomes live in prod, documents unchanged
    dev_store = prod["store"].process_config_and_initialize().store_for("dev")  # EnvVars resolved
    newer = expected.assign(score=expected["score"] * 0.5)
    side = dev_store.read_side_lists(version)  # the side lists are promoted with their version
    dev_store.publish("v-newer", newer, {"model_version": "m-newer"}, keep_versions=3, side_lists=side)
    monkeypatch.setenv("RECSYS_DEPLOYMENT", "prod")
    assert main(["promote", "v-newer"]) == 0, capsys.readouterr()
    assert "promoted v-newer to cosmos store" in capsys.readouterr().out
    [promoted] = DagsterInstance.get().get_runs(filters=RunsFilter(job_name="promote_job"))
    assert promoted.tags[TARGET_TAG] == "prod" and promoted.tags[TRIGGER_TAG] == "manual"
    copied = [clean_document(d) for d in sdk_container(cosmos_emulator, azure_env["prod"]).query_items(
        "SELECT * FROM c WHERE c.version = 'v-newer'", enable_cross_partition_query=True)]  # fmt: skip
    originals = [clean_document(d) for d in dev_store.read_documents("v-newer")]
    key = lambda d: (d["customer_id"], d["id"])  # noqa: E731
    assert sorted(copied, key=key) == sorted(originals, key=key)
    assert len(copied) == len(small_data.customers) + side.loc[side["list"] != "buy_again", "key"].nunique()
    pointer = sdk_pointer(cosmos_emulator, azure_env["prod"])
    assert pointer["live"] == "v-newer" and [v["version"] for v in pointer["versions"]] == ["v-newer", version]
    assert pointer["versions"][0]["metadata"]["promoted_from"].startswith("cosmos store")
    prod_served = serving_stores("prod")["prod"].get(customer)
    assert prod_served["score"].tolist() == pytest.approx(newer.loc[newer["customer_id"] == customer, "score"].tolist())

    missing = promote_job.execute_in_process(
        run_config={"ops": {"promote_recommendations": {"config": {"version": "no-such-version"}}}},
        resources={"store": prod["store"]},
        instance=instance,
        raise_on_error=False,
    )
    assert not missing.success
    assert "version 'no-such-version' cannot be promoted" in str(
        missing.failure_data_for_node("promote_recommendations")
    )


def test_publish_run_fails_clearly_when_the_store_goes_away_and_a_rerun_completes(cosmos_emulator, instance):
    lists = pd.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in range(80) for _ in range(3)],
            "rank": [1, 2, 3] * 80,
            "product_id": [f"P{i % 17}" for i in range(240)],
            "score": [1.0 / (1 + i % 3) for i in range(240)],
            "source": "als",
            "model_version": "m-fault",
        }
    )
    state = {"lists": lists.assign(model_version="m-old")}

    @asset(name="recommendations")
    def recommendations_stub() -> pd.DataFrame:
        return state["lists"]

    side = pd.DataFrame(columns=SIDE_LIST_COLUMNS)  # the "for you" lists are what this test is about

    @asset(name="buy_again_lists")
    def buy_again_stub() -> pd.DataFrame:
        return side

    @asset(name="related_lists")
    def related_stub() -> pd.DataFrame:
        return side

    stubs = [recommendations_stub, buy_again_stub, related_stub]

    with FaultProxy(cosmos_emulator.port) as proxy:
        store = CosmosStoreResource(
            endpoint=proxy.endpoint, key=cosmos_emulator.key, dev_database=f"fault-{next(_names)}", concurrency=4
        )
        assert materialize([*stubs, published_recommendations], resources={"store": store}).success
        old = store.store_for("dev").live_version()
        state["lists"] = lists
        proxy.cut_after(writes=30)
        failed = materialize(
            [*stubs, published_recommendations],
            resources={"store": store},
            instance=instance,
            raise_on_error=False,
        )
        assert not failed.success
        error = str(failed.failure_data_for_node("published_recommendations"))
        assert "publishing version m-fault-" in error and "the live version is still the previous one" in error
        assert store.dev_database in error
        direct = CosmosStoreResource(
            endpoint=cosmos_emulator.endpoint, key=cosmos_emulator.key, dev_database=store.dev_database
        )
        assert direct.store_for("dev").live_version() == old
        proxy.restore()
        rerun = materialize([*stubs, published_recommendations], resources={"store": store})
        assert rerun.success
        new = rerun.output_for_node("published_recommendations")["version"]
    assert new.startswith("m-fault-") and direct.store_for("dev").live_version() == new
    assert len(direct.store_for("dev").read_version(new)) == 240


def test_dev_deployment_names_missing_environment(monkeypatch):
    for name in ("RECSYS_SOURCE_URL", "COSMOS_ENDPOINT", "COSMOS_KEY", "AZURE_STORAGE_ACCOUNT_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(
        DeploymentError, match="RECSYS_SOURCE_URL, COSMOS_ENDPOINT, COSMOS_KEY, AZURE_STORAGE_ACCOUNT_URL"
    ):
        resources_for("dev")
    for name in ("RECSYS_SOURCE_URL", "COSMOS_ENDPOINT", "COSMOS_KEY", "AZURE_STORAGE_ACCOUNT_URL"):
        monkeypatch.setenv(name, "https://set.example.com")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(DeploymentError, match="needs the environment variable MLFLOW_TRACKING_URI"):
        resources_for("dev")  # no model registry: no gate, no publish (the API still serves, see test_api)


def test_code_location_loads_in_the_prod_deployment(recsys_home):
    """`dagster dev` / the UI load the prod deployment from the environment alone (values not resolved yet)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "RECSYS_DEPLOYMENT": "prod",
        "RECSYS_SOURCE_URL": "sqlite:///unused.db",
        "COSMOS_ENDPOINT": "https://account.documents.azure.com:443/",
        "COSMOS_KEY": "a2V5",
        "AZURE_STORAGE_ACCOUNT_URL": "https://account.blob.core.windows.net",
        "MLFLOW_TRACKING_URI": "https://mlflow.example.com",  # not contacted to load the code location
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", str(root / "workspace.yaml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "a2V5" not in result.stdout + result.stderr
