"""A retraining whose fits run in worker processes, cancelled through the Dagster API (what the UI's "Terminate"
button sends) or SIGKILLed, leaves no worker behind. A real webserver and daemon run it; the worker threshold is
lowered (RECSYS_PARALLEL_FIT_MIN_NNZ=1) so that the test's small data go to workers, and the ALS fits are made
long (many iterations) so that they are still running when the run is stopped."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from pathlib import Path

import psutil
import pytest

from recsys_assets.core.data.generator import GeneratorConfig
from tests.support import dagster_processes

pytestmark = pytest.mark.slow

LAUNCH_RUN = """
mutation($p: ExecutionParams!) {
  launchRun(executionParams: $p) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
TERMINATE = """
mutation($id: String!) {
  terminateRun(runId: $id) { __typename ... on TerminateRunFailure { message } ... on PythonError { message } }
}
"""
RUN_STATUS = "query($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"
RETRAIN = {"repositoryLocationName": "recsys", "repositoryName": "__repository__", "jobName": "retrain_job"}
# ALS fits that take minutes here: still fitting, side by side, when the run is stopped
SLOW_FITS = {"ops": {"als_model": {"config": {"select_model": False, "als": {"factors": 64, "iterations": 100_000}}}}}
DAYS = 20


def fit_workers(home: Path) -> list[psutil.Process]:
    """The fit worker processes of this test's deployment (RECSYS_HOME in their environment)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            worker = "recsys_assets.core.modeling.fit_worker" in (process.info["cmdline"] or [])
            if worker and process.environ().get("RECSYS_HOME") == str(home):
                found.append(process)
        except psutil.Error:
            continue
    return found


def running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_cancelled_or_killed_retraining_leaves_no_fit_worker(recsys_home, tmp_path, monkeypatch):
    from recsys_assets.cli.local_run import ingest_range, persistent_instance
    from recsys_assets.core.data.generator import generate
    from recsys_assets.resources import resources_for
    from tests.support.data import write_source

    end = dt.date.today() - dt.timedelta(days=1)
    first = (end - dt.timedelta(days=DAYS - 1)).isoformat()
    data = generate(GeneratorConfig(customers=600, products=500, days=DAYS, lines_per_day=400, seed=3, end_date=end))
    write_source(data)
    monkeypatch.setenv("RECSYS_PARTITIONS_START", first)  # the servers' code location: DAYS partitions
    monkeypatch.setenv("RECSYS_PARALLEL_FIT_MIN_NNZ", "1")
    ingest_range(persistent_instance(), resources_for("local"), first, end.isoformat())

    with dagster_processes.webserver(tmp_path) as url, dagster_processes.daemon(tmp_path):
        for stop in ("cancel", "sigkill"):  # the SIGKILLed run stays STARTED: it goes last (one retraining at a time)
            run_id = launch_slow_retraining(url)
            workers = dagster_processes.wait_for(
                lambda run_id=run_id: status(url, run_id) == "STARTED" and fit_workers(recsys_home),
                300,
                f"the fit worker of the run to {stop}",
                poll=0.5,
            )
            time.sleep(2)  # well into the fits
            assert all(running(w) for w in workers)
            try:
                if stop == "cancel":  # what the UI's Terminate button sends
                    terminated = dagster_processes.graphql(url, TERMINATE, {"id": run_id})["terminateRun"]
                    assert terminated["__typename"] == "TerminateRunSuccess", terminated
                else:  # the run's process: the in-process executor fits there and starts the workers
                    [parent] = {w.ppid() for w in workers}
                    os.kill(parent, signal.SIGKILL)
                deadline = time.monotonic() + 10
                while any(running(w) for w in workers) and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert not [w.pid for w in workers if running(w)], f"fit workers outlived the run ({stop})"
                if stop == "cancel":
                    ended = dagster_processes.wait_for(
                        lambda run_id=run_id: status(url, run_id) in ("CANCELED", "FAILURE") and status(url, run_id),
                        60,
                        "the cancelled run's end",
                    )
                    assert ended == "CANCELED"
            finally:
                for worker in workers:
                    if running(worker):
                        worker.kill()


def launch_slow_retraining(url: str) -> str:
    launched = dagster_processes.graphql(url, LAUNCH_RUN, {"p": {"selector": RETRAIN, "runConfigData": SLOW_FITS}})
    assert launched["launchRun"]["__typename"] == "LaunchRunSuccess", launched
    return launched["launchRun"]["run"]["runId"]


def status(url: str, run_id: str) -> str:
    return dagster_processes.graphql(url, RUN_STATUS, {"id": run_id})["runOrError"]["status"]
