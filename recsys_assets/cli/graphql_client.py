"""Start the pipeline from another system through the Dagster webserver's GraphQL API (`recsys trigger`).

A thin client over two GraphQL operations that any HTTP client can send (see the README for curl):
`launchRun(executionParams: {selector: {repositoryLocationName, repositoryName, jobName}, runConfigData,
executionMetadata: {tags}})` and `runOrError(runId) { ... on Run { status } }`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from ..tags import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG

DEFAULT_LOCATION = "recsys"  # location_name in workspace.yaml
DEFAULT_REPOSITORY = "__repository__"  # the repository Dagster builds from a Definitions object
TERMINAL_STATUSES = {"SUCCESS", "FAILURE", "CANCELED"}

LAUNCH_RUN = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on Error { message }
  }
}
"""

RUN_STATUS = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId status jobName tags { key value } }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
"""


class TriggerError(RuntimeError):
    """The webserver refused or failed the request; the message names the job, run and the server's answer."""


@dataclass(frozen=True)
class LaunchedRun:
    run_id: str
    job: str
    status: str


def partition_tags(partition: str | None = None, start: str | None = None, end: str | None = None) -> dict:
    """Tags that select one partition, or a range of partitions as one run (a single-run backfill)."""
    if partition and (start or end):
        raise ValueError("give either a partition or a range (start and end), not both")
    if partition:
        return {PARTITION_TAG: partition}
    if start or end:
        if not (start and end):
            raise ValueError("a partition range needs both start and end")
        return {RANGE_START_TAG: start, RANGE_END_TAG: end}
    return {}


class DagsterTriggerClient:
    """Launch and watch runs of the `recsys` code location through a Dagster webserver at `url`."""

    def __init__(
        self,
        url: str,
        location: str = DEFAULT_LOCATION,
        repository: str = DEFAULT_REPOSITORY,
        timeout: float = 30.0,
        http: httpx.Client | None = None,
    ):
        self.endpoint = url.rstrip("/") + "/graphql"
        self.location = location
        self.repository = repository
        self.http = http or httpx.Client(timeout=timeout)

    def _graphql(self, query: str, variables: dict) -> dict:
        try:
            response = self.http.post(self.endpoint, json={"query": query, "variables": variables})
        except httpx.HTTPError as error:
            raise TriggerError(f"cannot reach the Dagster webserver at {self.endpoint}: {error}") from error
        if response.status_code != 200:
            raise TriggerError(f"{self.endpoint} answered HTTP {response.status_code}: {response.text[:500]}")
        body = response.json()
        if body.get("errors"):
            raise TriggerError(f"{self.endpoint} GraphQL errors: {[e.get('message') for e in body['errors']]}")
        return body["data"]

    def launch(self, job: str, tags: Mapping[str, str] | None = None, run_config: dict | None = None) -> LaunchedRun:
        params = {
            "selector": {
                "repositoryLocationName": self.location,
                "repositoryName": self.repository,
                "jobName": job,
            },
            "runConfigData": run_config or {},
            "executionMetadata": {"tags": [{"key": k, "value": str(v)} for k, v in (tags or {}).items()]},
        }
        result = self._graphql(LAUNCH_RUN, {"executionParams": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            detail = result.get("message") or result.get("errors") or result
            raise TriggerError(f"launching {job} in {self.location} failed ({result['__typename']}): {detail}")
        run = result["run"]
        return LaunchedRun(run["runId"], job, run["status"])

    def status(self, run_id: str) -> str:
        result = self._graphql(RUN_STATUS, {"runId": run_id})["runOrError"]
        if result["__typename"] != "Run":
            raise TriggerError(f"run {run_id}: {result['__typename']}: {result.get('message')}")
        return result["status"]

    def wait(
        self,
        run_id: str,
        timeout: float = 3600.0,
        poll_seconds: float = 1.0,
        on_status: Callable[[str], None] | None = None,
    ) -> str:
        """Poll until the run is SUCCESS, FAILURE or CANCELED; TriggerError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            status = self.status(run_id)
            if status != last and on_status:
                on_status(status)
            last = status
            if status in TERMINAL_STATUSES:
                return status
            if time.monotonic() > deadline:
                raise TriggerError(f"run {run_id} still {status} after {timeout:.0f}s")
            time.sleep(poll_seconds)

    def close(self) -> None:
        self.http.close()
