"""Dagster's own storage on Azure Blob (dagster-azure) against Azurite."""

import shutil

from azure.storage.blob import BlobServiceClient
from dagster import DagsterInstance, job, op

from tests.support.emulators import ROOT

ROOT_DEPLOY_YAML = ROOT / "deploy" / "dagster.yaml"


@op
def shout(context) -> int:
    print("hello from a step whose output goes to Azure Blob")
    context.log.info("logged")
    return 1


@job
def tiny_job():
    shout()


def test_compute_logs_reach_blob_storage(tmp_path, monkeypatch, azurite, postgres):
    """The instance settings of deploy/dagster.yaml load as-is (runs and events in PostgreSQL); the compute-log
    manager's uploads run against Azurite.

    AzureBlobComputeLogManager builds `https://<account>.blob.core.windows.net` itself and cannot be pointed at
    an emulator, so after loading it the test swaps its container client for one on Azurite (same account,
    same container name): everything it then writes and reads goes over the real Blob API.
    """
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", azurite.account)
    monkeypatch.setenv("AZURE_STORAGE_LOGS_CONTAINER", "compute-logs")
    monkeypatch.setenv("AZURE_STORAGE_KEY", azurite.key)
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", postgres.create_database("deploy", driver="postgresql+psycopg2"))
    shutil.copy(ROOT_DEPLOY_YAML, tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        manager = instance.compute_log_manager
        assert type(manager).__name__ == "AzureBlobComputeLogManager"
        assert manager._container_client.url == "https://devstoreaccount1.blob.core.windows.net/compute-logs"
        service = BlobServiceClient(azurite.account_url, credential=azurite.key)
        service.create_container("compute-logs")
        manager._container_client = service.get_container_client("compute-logs")
        result = tiny_job.execute_in_process(instance=instance)
        assert result.success
    blobs = {b.name: b for b in service.get_container_client("compute-logs").list_blobs()}
    outs = [name for name in blobs if name.startswith("compute-logs/") and name.endswith(".out")]
    assert outs, sorted(blobs)
    text = b"".join(service.get_container_client("compute-logs").download_blob(n).readall() for n in outs)
    assert b"hello from a step whose output goes to Azure Blob" in text
