"""Start the pipeline from another system through the Dagster webserver's GraphQL API (`recsys trigger`).

Dagster's own `DagsterGraphQLClient` does the GraphQL; any HTTP client can send the same two operations
(docs/how-to/operate.md shows curl): `launchRun(executionParams: {selector: {repositoryLocationName, repositoryName,
jobName}, runConfigData, executionMetadata: {tags}})` and `runOrError(runId) { ... on Run { status } }`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..tags import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG

DEFAULT_LOCATION = "recsys"  # location_name in workspace.yaml
DEFAULT_REPOSITORY = "__repository__"  # the repository Dagster builds from a Definitions object
TERMINAL_STATUSES = {"SUCCESS", "FAILURE", "CANCELED"}


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
    """Launch and watch runs of the `recsys` code location through a Dagster webserver at `url`.

    A thin wrapper of `dagster_graphql.DagsterGraphQLClient` (Dagster's own client: the GraphQL documents, the
    error types and their parsing are Dagster's): it takes a URL, adds the partition tags and a wait loop, and
    turns every failure into a `TriggerError` that names the webserver and the job.
    """

    def __init__(
        self, url: str, location: str = DEFAULT_LOCATION, repository: str = DEFAULT_REPOSITORY, timeout: int = 30
    ):
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TriggerError(f"--url must be http(s)://host[:port][/prefix], got {url!r}")
        self.url = url.rstrip("/")
        self.location = location
        self.repository = repository
        self._settings = {
            "hostname": parts.hostname,
            "port_number": parts.port,
            "use_https": parts.scheme == "https",
            "path_prefix": parts.path.rstrip("/"),
            "timeout": timeout,
        }
        self._client = None

    def _dagster(self):
        """Dagster's client, created on first use (it reads the server's GraphQL schema when it connects)."""
        if self._client is None:
            from dagster_graphql import DagsterGraphQLClient

            self._client = self._call("connect", lambda: DagsterGraphQLClient(**self._settings))
        return self._client

    def _call(self, what: str, request):
        try:
            return request()
        except Exception as error:  # DagsterGraphQLClientError, transport and connection errors alike
            raise TriggerError(f"{what} failed: {self._explain(error)}") from error

    def _explain(self, error: Exception) -> str:
        cause = error
        while cause is not None:
            if type(cause).__name__ in ("ConnectionError", "ConnectTimeout", "ReadTimeout", "TransportServerError"):
                return f"cannot reach the Dagster webserver at {self.url}: {type(cause).__name__}"
            cause = cause.__cause__ or cause.__context__
        args = [str(arg) for arg in getattr(error, "args", ()) if arg]
        detail = ": ".join(args) if args else type(error).__name__
        return f"{detail.splitlines()[0][:500]} (Dagster webserver {self.url})"

    def launch(self, job: str, tags: Mapping[str, str] | None = None, run_config: dict | None = None) -> LaunchedRun:
        client = self._dagster()
        run_id = self._call(
            f"launching {job} in {self.location}",
            lambda: client.submit_job_execution(
                job,
                repository_location_name=self.location,
                repository_name=self.repository,
                run_config=run_config or {},
                tags={key: str(value) for key, value in (tags or {}).items()},
            ),
        )
        return LaunchedRun(run_id, job, self.status(run_id))

    def status(self, run_id: str) -> str:
        client = self._dagster()
        return self._call(f"reading the status of run {run_id}", lambda: client.get_run_status(run_id)).value

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
        self._client = None
