"""Another system starts the whole pipeline over HTTP: a real `dagster-webserver` on a loopback port,
`recsys trigger` launching runs through its GraphQL API, then the Dagster instance and the store checked."""

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from recsys_assets.cli import main
from recsys_assets.tags import TRIGGER_TAG

ROOT = Path(__file__).resolve().parents[1]
READY_QUERY = "{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { name location { name } } } } }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _default_signals():  # a background shell may have left SIGINT/SIGTERM ignored
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the webserver's process group (its code server and run workers), SIGKILL after 15 s."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):  # run workers left behind in the group
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def webserver(recsys_home, tmp_path):
    dagster_home = Path(os.environ["DAGSTER_HOME"])
    # no daemon in this test: the webserver launches runs itself instead of queueing them for the daemon
    (dagster_home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n"
        "run_coordinator:\n  module: dagster.core.run_coordinator\n  class: DefaultRunCoordinator\n"
    )
    port = free_port()
    log = (tmp_path / "webserver.log").open("w")
    command = [
        str(Path(sys.executable).parent / "dagster-webserver"),
        *("-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_default_signals
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"dagster-webserver exited {process.returncode}: {(tmp_path / 'webserver.log').read_text()}"
                )
            try:
                body = httpx.post(f"{url}/graphql", json={"query": READY_QUERY}, timeout=5).json()
                if body["data"]["repositoriesOrError"].get("nodes"):
                    break
            except (httpx.HTTPError, KeyError, ValueError, TypeError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dagster-webserver not ready: {(tmp_path / 'webserver.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        stop(process)
        log.close()


@pytest.fixture
def tiny_source(recsys_home):
    from recsys_assets.core.generator import GeneratorConfig, generate
    from tests.conftest import write_source

    write_source(
        generate(
            GeneratorConfig(
                customers=400, products=400, days=20, lines_per_day=300, seed=11, end_date=dt.date(2026, 6, 30)
            )
        )
    )


def test_trigger_the_whole_pipeline_over_graphql(tiny_source, webserver, recsys_home, capsys):
    from dagster import AssetKey, DagsterInstance

    from recsys_assets.core.store import LocalRecommendationStore

    # an unknown code location is refused with the server's answer, nothing is launched
    assert main(["trigger", "--url", webserver, "--job", "retrain_job", "--location", "nowhere"]) == 1
    assert "launching retrain_job in nowhere failed" in capsys.readouterr().err

    code = main(
        ["trigger", "--url", webserver, "--start", "2026-06-11", "--end", "2026-06-30", "--wait", "--timeout", "150"]
        + ["--tag", "caller=erp", "--in-process"]
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
    assert model_version in table and "factors=32" in table and "@10" in table
    [model] = instance.fetch_materializations(AssetKey("als_model"), limit=10).records
    meta = model.asset_materialization.metadata
    assert {"git_commit", "data_version", "params", "trained_at", "training_wall_seconds"} <= set(meta)
