"""One line per finished step while `recsys materialize` runs: a ten-minute run is never silent.

The runs execute in this process; a background thread follows their events in the Dagster instance (the same
events the UI shows) and prints each step as it ends, with its elapsed time and the rows it wrote.
"""

from __future__ import annotations

import contextlib
import threading
import time

from dagster import DagsterEventType, DagsterInstance

FOLLOWED = {
    DagsterEventType.STEP_START,
    DagsterEventType.STEP_SUCCESS,
    DagsterEventType.STEP_FAILURE,
    DagsterEventType.ASSET_MATERIALIZATION,
    DagsterEventType.ASSET_CHECK_EVALUATION,
}


class StepProgress(threading.Thread):
    """Prints `step  seconds  rows` for every step of the runs started in `instance` after it starts."""

    def __init__(self, instance: DagsterInstance, poll_seconds: float = 0.5, write=print):
        super().__init__(name="recsys-progress", daemon=True)
        self.instance, self.poll_seconds, self.write = instance, poll_seconds, write
        self.started = time.time()
        self.stopped = threading.Event()
        self._cursors: dict[str, str | None] = {}
        self._step_started: dict[str, float] = {}
        self._rows: dict[str, int] = {}

    def run(self) -> None:
        while not self.stopped.wait(self.poll_seconds):
            self.poll()
        self.poll()

    def poll(self) -> None:
        with contextlib.suppress(Exception):  # progress is a courtesy: it must never fail the run
            for run in self.instance.get_runs(limit=5):
                record = self.instance.get_run_record_by_id(run.run_id)
                if record and record.create_timestamp.timestamp() >= self.started - 1:
                    self._follow(run.run_id)

    def _follow(self, run_id: str) -> None:
        connection = self.instance.get_records_for_run(run_id, cursor=self._cursors.get(run_id), of_type=FOLLOWED)
        self._cursors[run_id] = connection.cursor
        for record in connection.records:
            entry = record.event_log_entry
            event = entry.dagster_event
            step = event.step_key or ""
            if event.event_type == DagsterEventType.STEP_START:
                self._step_started[step] = entry.timestamp
            elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                rows = event.event_specific_data.materialization.metadata.get("rows")
                if rows is not None:  # a backfill's partitions all carry the run's row count
                    self._rows[step] = max(self._rows.get(step, 0), int(rows.value))
            elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
                evaluation = event.event_specific_data
                if not evaluation.passed:
                    how = "FAILED" if evaluation.severity.value == "ERROR" else "warns"
                    asset = evaluation.asset_key.to_user_string()
                    self.write(
                        f"    check {evaluation.check_name} on {asset} {how}: {evaluation.description or ''}"[:300]
                    )
            elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
                seconds = entry.timestamp - self._step_started.get(step, entry.timestamp)
                rows = f"{self._rows[step]:>10,} rows" if step in self._rows else ""
                outcome = "" if event.event_type == DagsterEventType.STEP_SUCCESS else "  FAILED"
                self.write(f"    {step:<50} {seconds:7.1f} s {rows}{outcome}")  # 50: the longest candidate step

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


@contextlib.contextmanager
def step_progress(instance: DagsterInstance):
    """Report the steps of the runs started inside the block."""
    progress = StepProgress(instance)
    progress.start()
    try:
        yield progress
    finally:
        progress.stop()
