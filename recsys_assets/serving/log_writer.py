"""Appends served requests to the serving log from a background thread, so the request path only enqueues.

The request handler calls `record(...)` (one deque append of a tuple, about a microsecond) or `submit(entry)`; a
writer thread drains the queue in batches every `flush_seconds`, turns the tuples into serving log entries (ISO
timestamps included) and writes them through `core.serving_log.append_entries`. `close()` writes what is left.
When the queue is full (the disk cannot keep up) entries are dropped and counted rather than slowing requests
down; `stats()` reports written and dropped counts for /metrics. Synthetic traffic (a `traffic` other than
"shop": load tests, probes, the review page) goes to `<log_dir>/synthetic/`, which the monitors never read.
The log is a folder or any ServingLogLocation (in dev / prod: this process's append blobs in Azure Blob storage).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections import deque
from pathlib import Path

from ..core.stores.serving_log import SHOP_TRAFFIC, append_entries
from ..core.stores.serving_log_location import ServingLogLocation, as_location

logger = logging.getLogger(__name__)


class ServingLogWriter:
    def __init__(
        self,
        log_dir: str | Path | ServingLogLocation,
        flush_seconds: float = 0.5,
        batch_size: int = 100,
        max_pending: int = 200_000,
    ):
        self.log_dir = Path(log_dir) if isinstance(log_dir, str | Path) else None  # None: not a folder
        self.log = as_location(log_dir)
        self._synthetic = self.log.synthetic()
        self.flush_seconds = flush_seconds
        self.batch_size = batch_size
        self.max_pending = max_pending
        self._queue: deque = deque()  # append/popleft are thread-safe
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.synthetic_written = 0
        self.dropped = 0
        self.failed = 0
        self.last_error: str | None = None  # for the server's own use (tests, logs): never sent to clients
        self.failing = False  # the latest write attempt failed (cleared by the next one that succeeds)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="serving-log-writer", daemon=True)
            self._thread.start()

    def submit(self, entry: dict) -> None:
        """Queue one entry (dict with the serving log columns); never blocks."""
        self._put(entry)

    def record(
        self,
        customer_id: str,
        model_version: str,
        items: list[str],
        cold_start: bool,
        target: str,
        ts: float | None = None,
        store_version: str | None = None,
        group: str | None = None,
        source: str | None = None,
        traffic: str | None = None,
        list_name: str | None = None,
        query_product: str | None = None,
    ) -> None:
        """Queue one served request (the timestamp, `time.time()` by default, is formatted by the writer thread).

        `traffic` None or "shop" is a customer's request; any other value (e.g. "load-test") is logged apart.
        `list_name` None is the "for you" list (the field is then left out, as on lines written before lists had
        names); `query_product` is the product a related list was asked for.
        """
        self._put(
            (
                time.time() if ts is None else ts,
                customer_id,
                model_version,
                items,
                cold_start,
                target,
                store_version,
                group,
                source,
                traffic,
                list_name,
                query_product,
            )
        )

    def _put(self, item) -> None:
        if len(self._queue) >= self.max_pending:
            self.dropped += 1
        else:
            self._queue.append(item)

    def _drain(self) -> list[dict]:
        batch: list[dict] = []
        while len(batch) < self.batch_size:
            try:
                item = self._queue.popleft()
            except IndexError:
                break
            if isinstance(item, tuple):
                ts, customer_id, model_version, items, cold_start, target, store_version, group, source, traffic = item[
                    :10
                ]
                list_name, query_product = item[10:]
                item = {
                    "ts": dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(),
                    "customer_id": customer_id,
                    "model_version": model_version,
                    "items": items,
                    "cold_start": cold_start,
                    "target": target,
                    "store_version": store_version,
                    "group": group,
                    "source": source,
                    "traffic": traffic,
                    "list": list_name,
                    "query_product": query_product,
                }
            batch.append(item)
        return batch

    def flush(self) -> int:
        """Write every queued entry now; returns how many were written."""
        written = {True: 0, False: 0}  # synthetic or not
        while batch := self._drain():
            for synthetic in (False, True):
                part = [e for e in batch if (e.get("traffic") not in (None, SHOP_TRAFFIC)) is synthetic]
                folder = self._synthetic if synthetic else self.log
                if not part:
                    continue
                try:
                    written[synthetic] += append_entries(folder, part)
                    self.failing = False
                except Exception as error:  # keep serving; report through stats()
                    self.failed += len(part)
                    self.failing = True
                    self.last_error = f"{type(error).__name__}: {error}"
                    logger.exception("writing %d serving log entries to %s failed", len(part), folder.describe())
            # Small batches and an explicit yield: this thread shares the GIL with the event loop, and a long
            # stretch of formatting here would hold requests up to the interpreter's 5 ms switch interval.
            # sched_yield releases the GIL as time.sleep(0) does, without a clock: Python 3.11's time.sleep fails
            # (EINVAL) under libfaketime 0.9.10, which the topology test's APIs run with (topology/clock.py).
            os.sched_yield()
        self.written += written[False]
        self.synthetic_written += written[True]
        return written[False] + written[True]

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
        """The counters the API reports (no folder, no error text: those stay in the server log)."""
        return {
            "written": self.written,
            "synthetic_written": self.synthetic_written,
            "pending": len(self._queue),
            "dropped": self.dropped,
            "failed": self.failed,
            "failing": self.failing,
        }
