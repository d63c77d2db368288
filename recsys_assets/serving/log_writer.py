"""Appends served requests to the serving log from a background thread, so the request path only enqueues.

The request handler calls `submit(entry)` (a non-blocking queue put); a writer thread drains the queue in batches
every `flush_seconds` (or as soon as `batch_size` entries wait) through `core.serving_log.append_entries`. `close()`
writes what is left. When the queue is full (the disk cannot keep up) entries are dropped and counted rather than
slowing requests down; `stats()` reports written and dropped counts for /health.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

from ..core.serving_log import append_entries

logger = logging.getLogger(__name__)


class ServingLogWriter:
    def __init__(
        self, log_dir: str | Path, flush_seconds: float = 0.5, batch_size: int = 2_000, max_pending: int = 200_000
    ):
        self.log_dir = Path(log_dir)
        self.flush_seconds = flush_seconds
        self.batch_size = batch_size
        self._queue: queue.Queue[dict] = queue.Queue(maxsize=max_pending)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.dropped = 0
        self.failed = 0
        self.last_error: str | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="serving-log-writer", daemon=True)
            self._thread.start()

    def submit(self, entry: dict) -> None:
        """Queue one entry (dict with the serving log columns); never blocks."""
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            self.dropped += 1

    def _drain(self) -> list[dict]:
        batch: list[dict] = []
        while len(batch) < self.batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def flush(self) -> int:
        """Write every queued entry now; returns how many were written."""
        total = 0
        while batch := self._drain():
            try:
                total += append_entries(self.log_dir, batch)
            except Exception as error:  # keep serving; report through stats()
                self.failed += len(batch)
                self.last_error = f"{type(error).__name__}: {error}"
                logger.exception("writing %d serving log entries to %s failed", len(batch), self.log_dir)
        self.written += total
        return total

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()
        self.flush()

    def close(self) -> None:
        """Stop the writer thread after writing everything queued."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.flush()

    def stats(self) -> dict:
        return {
            "dir": str(self.log_dir),
            "written": self.written,
            "pending": self._queue.qsize(),
            "dropped": self.dropped,
            "failed": self.failed,
            "last_error": self.last_error,
        }
