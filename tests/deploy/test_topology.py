"""The production topology, run here: the daily cycle and two faults through the dev deployment's separate processes.

recsys_assets/topology starts every piece the Helm chart deploys as its own process with its own empty, read-only
home (so any local write of state fails loudly): PostgreSQL (Dagster's instance and the order source), the Cosmos DB
emulator, Azurite, an MLflow server, the Evidently UI, the gRPC code server (a fresh process per run), the webserver,
the daemon and two serving APIs. The test drives them only through their public entry points (GraphQL on the
webserver, HTTP on the APIs; the source database as the ERP writes it), as a data team meets them:

ingest -> retrain (the retrain_after_ingest sensor) -> model gate -> publish, twice, the second gate scored against
the first's champion -> both APIs serve and log -> the skew monitor and an online_metrics run count both APIs'
traffic -> drifted orders arrive -> the drift sensor starts a retraining. Then: one API killed (SIGKILL) while the
other serves, no completed request missing from the serving log; a run killed in the middle of publishing (a fail
point in the code server's environment), the live version still the previous complete one, and a re-run publishes.

The two APIs run with their wall clock a day behind (Topology.api_clock_offset_days, libfaketime): the daily
partitions end with yesterday, and so their servings land in yesterday's serving log, which online_metrics measures.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import signal
import time

import httpx
import pandas as pd
import psutil
import pytest
from azure.storage.blob import BlobServiceClient

from recsys_assets.core.data.generator import GeneratorConfig, generate
from recsys_assets.core.stores.serving_log_location import BlobLog
from recsys_assets.resources.serving_log_storage import BLOB_PREFIX
from recsys_assets.tags import RANGE_END_TAG, RANGE_START_TAG
from recsys_assets.topology.processes import remove_homes, tail
from recsys_assets.topology.stack import LOCATION, Topology, graphql, temporary_base
from tests.support.dagster_processes import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.emulator, pytest.mark.postgres]

END = dt.date.today() - dt.timedelta(days=1)  # the newest partition: yesterday
DRIFT_DAYS = 4
DRIFT_START = END - dt.timedelta(days=DRIFT_DAYS - 1)
# the smallest shop on which every step and check runs; 1 600 lines a day so that the drift days hold the drift
# monitor's minimum of new orders (1 000), the history thinned to a sixth of its orders (about 270 lines a day)
SHOP = GeneratorConfig(
    customers=400,
    products=300,
    days=28,
    lines_per_day=1600,
    seed=3,
    end_date=END,
    drift_start=DRIFT_START,
    drift_kind="category_surge",
)
HISTORY_SHARE = 6
ENV = {
    "RECSYS_RETRAIN_SENSOR_INTERVAL": "3",
    "RECSYS_MONITOR_SENSOR_INTERVAL": "5",
    "RECSYS_DAILY_INGEST_CRON": "0 0 1 1 *",  # no schedule tick during the test
    "RECSYS_DAILY_ONLINE_CRON": "0 0 1 1 *",
    "RECSYS_FRESHNESS_SENSOR_INTERVAL": "86400",  # its check runs would be run workers too (fault 2 looks for one)
}
REPOSITORY = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__"}
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
SENSOR_RUN = {"recsys/trigger": "sensor"}
# the retrainings launched by hand for the fault: one fit instead of the model selection's grid
ONE_FIT = {"ops": {"als_model": {"config": {"select_model": False}}}}

RUNS = """
query($filter: RunsFilter!) {
  runsOrError(filter: $filter) { ... on Runs { results { runId status tags { key value } } } }
}"""
RUN_EVENTS = """
query($id: ID!) {
  logsForRun(runId: $id) { ... on EventConnection { events { __typename ... on MessageEvent { message stepKey } } } }
}"""
LAUNCH_RUN = """
mutation($p: ExecutionParams!) {
  launchRun(executionParams: $p) { __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } }
}"""
GATE = """
query {
  assetCheckExecutions(assetKey: {path: ["recommendations"]}, checkName: "model_gate", limit: 10) {
    runId status
    evaluation { success metadataEntries { label ... on TextMetadataEntry { text } } }
  }
}"""
MATERIALIZATION = """
query($key: AssetKeyInput!) {
  assetOrError(assetKey: $key) {
    ... on Asset { assetMaterializations(limit: 1) { runId metadataEntries { label
      ... on IntMetadataEntry { intValue } ... on TextMetadataEntry { text } ... on FloatMetadataEntry { floatValue }
    } } }
  }
}"""
SENSOR = """
query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor { id } } }"""
STOP_SENSOR = """
mutation($id: String!) { stopSensor(id: $id) { __typename } }"""


def shop_orders() -> tuple[object, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The generated shop, its thinned history (before the drift), the drifted days' orders, and the orders the
    thinning left out of the day before the drift (late order lines, for a new data version)."""
    data = generate(SHOP)
    day = pd.to_datetime(data.orders["order_ts"]).dt.date
    kept = pd.util.hash_pandas_object(data.orders["order_id"], index=False) % HISTORY_SHARE == 0
    history = data.orders[(day < DRIFT_START) & kept]
    late = data.orders[(day == DRIFT_START - dt.timedelta(days=1)) & ~kept]
    drifted = data.orders[day >= DRIFT_START]
    return data, history.reset_index(drop=True), drifted.reset_index(drop=True), late.reset_index(drop=True)


class Dagster:
    """The webserver's GraphQL API: what the UI sends."""

    def __init__(self, url: str):
        self.url = url

    def __call__(self, query: str, variables: dict | None = None) -> dict:
        return graphql(self.url, query, variables, timeout=60)

    def ingest(self, first: dt.date, last: dt.date) -> None:
        """ingest_job over the days first..last as one run (what the daily schedule, or a single-run backfill,
        starts), waited for."""
        tags = {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}
        run_id = self.launch("ingest_job", tags)
        run = self.wait_run("ingest_job", run_id, 120, f"the ingestion of {first}..{last}")
        assert run["status"] == "SUCCESS", self.failures(run_id)

    def wait_run(self, job: str, run_id: str, timeout: float, what: str) -> dict:
        def finished():
            [run] = [r for r in self.runs(job, {}) if r["runId"] == run_id]
            return run if run["status"] in FINISHED else None

        return wait_for(finished, timeout, what)

    def runs(self, job: str, tags: dict[str, str]) -> list[dict]:
        """Runs of `job` with these tags, newest first, each with its tags as a dict."""
        selector = {"pipelineName": job, "tags": [{"key": k, "value": v} for k, v in tags.items()]}
        runs = self(RUNS, {"filter": selector})["runsOrError"]["results"]
        return [{**run, "tags": {t["key"]: t["value"] for t in run["tags"]}} for run in runs]

    def finished_run(self, job: str, seen: set[str], timeout: float, what: str, tags: dict | None = None) -> dict:
        """The first run of `job` (with `tags`) not in `seen`, once it has finished."""

        def finished():
            new = [run for run in self.runs(job, tags or {}) if run["runId"] not in seen]
            return new[-1] if new and new[-1]["status"] in FINISHED else None

        run = wait_for(finished, timeout, what)
        seen.add(run["runId"])
        return run

    def failures(self, run_id: str) -> list[str]:
        events = self(RUN_EVENTS, {"id": run_id})["logsForRun"]["events"]
        return [f"{e.get('stepKey')}: {e.get('message')}" for e in events if "Failure" in e["__typename"]]

    def gate(self, run_id: str) -> dict:
        [execution] = [e for e in self(GATE)["assetCheckExecutions"] if e["runId"] == run_id]
        metadata = {m["label"]: m.get("text") for m in execution["evaluation"]["metadataEntries"]}
        return {"status": execution["status"], "success": execution["evaluation"]["success"], **metadata}

    def materialization(self, asset: str) -> dict:
        """The newest materialization's run and metadata ({} when there is none yet)."""
        records = self(MATERIALIZATION, {"key": {"path": [asset]}})["assetOrError"].get("assetMaterializations")
        if not records:
            return {}
        [record] = records
        values = {m["label"]: m.get("intValue", m.get("text", m.get("floatValue"))) for m in record["metadataEntries"]}
        return {"run_id": record["runId"], **values}

    def stop_sensor(self, name: str) -> None:
        sensor = self(SENSOR, {"s": {**REPOSITORY, "sensorName": name}})["sensorOrError"]
        assert self(STOP_SENSOR, {"id": sensor["id"]})["stopSensor"]["__typename"] == "StopSensorMutationResult"

    def launch(self, job: str, tags: dict | None = None, config: dict | None = None) -> str:
        metadata = {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        params = {"selector": {**REPOSITORY, "jobName": job}, "runConfigData": config or {}}
        params["executionMetadata"] = metadata
        launched = self(LAUNCH_RUN, {"p": params})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        return launched["run"]["runId"]


def live_version(api_url: str) -> str | None:
    return httpx.get(f"{api_url}/health", timeout=10).json()["targets"]["dev"]["live_version"]


def serve(api_url: str, key: str, customers: list[str]) -> list[dict]:
    """One request per customer; every answer must be a 200 with a list."""
    answers = []
    with httpx.Client(base_url=api_url, headers={"X-API-Key": key}, timeout=10) as client:
        for customer in customers:
            response = client.get(f"/recommendations/{customer}", params={"k": 5})
            assert response.status_code == 200, response.text
            answers.append(response.json())
    return answers


def logged_entries(topology: Topology) -> list[dict]:
    """Every entry of the serving log's day parts, read from the append blobs as the monitors list them, each with
    the writer (`<host>-<pid>`: one per API process) of its blob."""
    stores = topology.stores
    service = BlobServiceClient(stores.azurite.account_url, credential=stores.azurite.key)
    log = BlobLog(service.get_container_client("recsys-dev"), BLOB_PREFIX)
    entries = []
    for day, part in log.parts():
        writer = part.rsplit("/", 1)[1].rsplit("-", 1)[0]
        lines = log.read_text(part).splitlines()
        entries += [{**json.loads(line), "writer": writer, "day": day.isoformat()} for line in lines if line]
    return entries


def written(api_url: str, review_key: str) -> int:
    metrics = httpx.get(f"{api_url}/metrics", headers={"X-API-Key": review_key}, timeout=10).json()
    return metrics["serving_log"]["written"] if not metrics["serving_log"]["pending"] else -1


def test_daily_cycle_and_faults_in_the_production_topology(postgres):
    started = time.monotonic()

    def phase(name: str) -> None:  # where the minutes go (printed with -s)
        print(f"topology test: {name} at {time.monotonic() - started:.0f} s", flush=True)

    data, history, drifted, late = shop_orders()
    first = pd.to_datetime(history["order_ts"]).min().date()
    base = temporary_base()
    topology = Topology(base, extra_env=ENV, api_clock_offset_days=1)  # servings stamped END: see above
    try:
        with topology.running(dataclasses.replace(data, orders=history), postgres):
            dagster, apis = Dagster(topology.services["webserver"].url), ["api-1", "api-2"]
            urls = {name: topology.services[name].url for name in apis}
            seen: set[str] = set()

            phase("up")
            # cycle 1: the history up to two days before the drift; retrain_after_ingest retrains, nothing to beat
            dagster.ingest(first, DRIFT_START - dt.timedelta(days=2))
            one = dagster.finished_run("retrain_job", seen, 240, "the first retraining", SENSOR_RUN)
            assert one["status"] == "SUCCESS", dagster.failures(one["runId"])
            published = dagster.materialization("published_recommendations")
            assert published["run_id"] == one["runId"] and published["target"] == "dev"
            v1 = published["version"]
            assert dagster.gate(one["runId"])["champion_version"] == "none"

            phase("cycle 1 published")
            # cycle 2: the next day; the gate of a new run process scores against the first run's champion
            dagster.ingest(DRIFT_START - dt.timedelta(days=1), DRIFT_START - dt.timedelta(days=1))
            two = dagster.finished_run("retrain_job", seen, 240, "the second retraining", SENSOR_RUN)
            assert two["status"] == "SUCCESS", dagster.failures(two["runId"])
            gate = dagster.gate(two["runId"])
            assert gate["success"] and gate["champion_version"] != "none", gate
            v2 = dagster.materialization("published_recommendations")["version"]
            assert v2 != v1
            for url in urls.values():  # each API process picks the new version up from Cosmos DB
                wait_for(lambda url=url: live_version(url) == v2, 30, f"{url} to serve {v2}")

            phase("cycle 2 published")
            # both API processes serve and log; the skew monitor (in the daemon) counts both processes' traffic
            # the shop's customers with the most orders in the history (known to the model: no cold-start skew, so
            # the skew sensor has no retraining of its own to queue before the drift's)
            customers = history["customer_id"].astype(str).value_counts().index.tolist()
            served = {name: serve(urls[name], topology.api_key, customers[i::2][:150]) for i, name in enumerate(apis)}
            assert all(answer["store_version"] == v2 for answers in served.values() for answer in answers)
            for name in apis:
                wait_for(lambda name=name: written(urls[name], topology.review_key) >= 150, 30, f"{name}'s log")
            entries = logged_entries(topology)
            writers = {entry["writer"] for entry in entries}
            assert len(writers) == 2 and len(entries) == 300, (writers, len(entries))
            assert {entry["day"] for entry in entries} == {END.isoformat()}  # the APIs' clock: a day behind

            def skew_counted():
                report = dagster.materialization("skew_report")
                return report if report.get("current_rows") == 300 else None

            skew = wait_for(skew_counted, 90, "the skew report over both APIs' servings")
            assert skew["reference_rows"] > 0

            phase("skew counted")
            # online_metrics of the serving day (yesterday's partition), as the daily schedule or a person launches it
            online = dagster.launch("online_job", {"dagster/partition": END.isoformat()})
            run = dagster.wait_run("online_job", online, 120, "online_metrics of both APIs' servings")
            assert run["status"] == "SUCCESS", dagster.failures(online)
            metrics = dagster.materialization("online_metrics")
            assert metrics["run_id"] == online and metrics["servings"] == 300, metrics

            phase("online metrics counted")
            # drift: the ERP loads drifted days into the source; they are ingested; the drift sensor retrains
            for sensor in ("retrain_after_ingest", "skew_sensor"):  # so the retraining below is the drift sensor's
                dagster.stop_sensor(sensor)
            topology.append_orders(drifted)
            dagster.ingest(DRIFT_START, END)
            retrain = dagster.finished_run(
                "retrain_job", seen, 240, "the drift sensor's retraining", {"dagster/sensor_name": "drift_sensor"}
            )
            assert "drift" in retrain["tags"]["recsys/reason"]
            assert retrain["status"] == "SUCCESS", dagster.failures(retrain["runId"])
            live = dagster.materialization("published_recommendations")["version"]
            for url in urls.values():
                wait_for(lambda url=url: live_version(url) == live, 30, f"{url} to serve {live}")

            phase("drift retrained")
            # fault 1: one API process killed (SIGKILL) while the other serves; no logged request is lost
            before = len(logged_entries(topology))
            extra = serve(urls["api-1"], topology.api_key, customers[:60])
            wait_for(lambda: written(urls["api-1"], topology.review_key) >= 210, 30, "api-1's log")
            topology.kill("api-1", signal.SIGKILL)
            assert serve(urls["api-2"], topology.api_key, customers[60:100])
            wait_for(lambda: written(urls["api-2"], topology.review_key) >= 190, 30, "api-2's log")
            assert len(logged_entries(topology)) == before + len(extra) + 40

            phase("API killed")
            # fault 2: a run killed in the middle of publishing (the 100th Cosmos DB document). Late order lines of
            # an ingested day arrive first (new data: the retraining has new lists to publish)
            topology.append_orders(late)
            dagster.ingest(DRIFT_START - dt.timedelta(days=1), DRIFT_START - dt.timedelta(days=1))
            topology.restart_code_server({"RECSYS_FAILPOINT": "cosmos.document:100"})
            killed = dagster.launch("retrain_job", config=ONE_FIT)
            code_server = topology.services["code-server"].process.pid
            wait_for(lambda: run_workers(code_server), 60, "the run's worker process", poll=0.2)
            wait_for(lambda: not run_workers(code_server), 240, "the run's worker to be killed", poll=0.2)
            # the code server sees its run process die and fails the run (in AKS: run monitoring of the K8s Job)
            run = dagster.wait_run("retrain_job", killed, 60, "the killed run to be failed")
            assert run["status"] == "FAILURE", run
            events = dagster(RUN_EVENTS, {"id": killed})["logsForRun"]["events"]
            assert any(e.get("stepKey") == "published_recommendations" for e in events)
            crash = f"Run execution process for {killed} was terminated by signal 9 (SIGKILL)"
            assert any(crash in (e.get("message") or "") for e in events), [e.get("message") for e in events[-5:]]
            assert live_version(urls["api-2"]) == live  # the previous complete version is still served
            assert {a["store_version"] for a in serve(urls["api-2"], topology.api_key, customers[:20])} == {live}
            # the operator re-runs the retraining once the fault is gone (here: the fail point)
            topology.restart_code_server()
            again = dagster.launch("retrain_job", config=ONE_FIT)
            rerun = dagster.wait_run("retrain_job", again, 240, "the re-run")
            assert rerun["status"] == "SUCCESS", dagster.failures(again)
            newest = dagster.materialization("published_recommendations")["version"]
            assert newest != live
            wait_for(lambda: live_version(urls["api-2"]) == newest, 30, "api-2 to serve the re-run's version")
    except BaseException:
        for log in sorted((base / "logs").glob("*.log")):  # each process's own output, for the post-mortem
            print(f"==== {log.name}\n{tail(log, 4000)}")
        raise
    finally:
        remove_homes(base)
    print(f"topology test: {time.monotonic() - started:.0f} s")


def run_workers(code_server: int) -> list[int]:
    """PIDs of the run workers under the code server: the processes its gRPC server spawns, one per run
    (multiprocessing's spawn; the resource tracker aside)."""
    found = []
    for child in psutil.Process(code_server).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            command = " ".join(child.cmdline())
            if "spawn_main" in command and "resource_tracker" not in command:
                found.append(child.pid)
    return found
