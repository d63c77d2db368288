"""`POST /events/orders`: order lines recorded in the source database and folded into the live lists at once.

The lines are the truth: they are written to the source first (one transaction, after the contract checks of
core/lifecycle/order_fold_in.py), then the customers are folded into the live version of the deployment's served
target. A fold-in that fails leaves the lines recorded: the source sensor folds them at its next tick, the nightly
run at the latest. Fold-ins run one at a time per process (they share the basis of the live version, read once).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from ..core.lifecycle.order_fold_in import (
    FoldInBasis,
    NoFoldIn,
    checked_order_lines,
    fold_customers,
    fold_in_status,
    load_basis,
    read_masters,
)
from ..core.stores.fold_in_log import append_fold_in

logger = logging.getLogger(__name__)


@dataclass
class FoldInCounters:
    """What /metrics says of the fold-ins of this process."""

    requests: int = 0
    lines_recorded: int = 0
    customers_refreshed: int = 0
    failures: int = 0
    last_fold_seconds: float | None = None
    last_error: str | None = None
    pending_since: float | None = None  # the oldest recorded line not folded in yet (a fold-in failed)

    def as_dict(self, now: float) -> dict:
        return {
            "requests": self.requests,
            "lines_recorded": self.lines_recorded,
            "customers_refreshed": self.customers_refreshed,
            "failures": self.failures,
            "last_fold_seconds": self.last_fold_seconds,
            "oldest_pending_seconds": round(now - self.pending_since, 1) if self.pending_since else 0.0,
            "last_error": self.last_error,
        }


@dataclass
class OrderIntake:
    """Records posted order lines and folds their customers into `store` (the deployment's served target)."""

    target: str
    store: object
    source: object
    registry: object
    serving_log: object | None = None  # the serving log's location (or folder): fold-ins are logged next to it
    counters: FoldInCounters = field(default_factory=FoldInCounters)
    _basis: FoldInBasis | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, lines: list[dict]) -> dict:
        """Check and write `lines`, then fold their customers in; OrderLinesRefused (nothing written) for bad lines."""
        started = time.perf_counter()
        with self._lock:
            self.counters.requests += 1
            masters = read_masters(self.source)  # read once: the check and the fold both need them
            frame = checked_order_lines(lines, self.source, masters=masters)
            self.source.write("orders", frame, replace=False)
            self.counters.lines_recorded += len(frame)
            customers = sorted(set(frame["customer_id"].astype(str)))
            answer = {"recorded_lines": len(frame), "customers": customers, "target": self.target}
            try:
                report = fold_customers(self._live_basis(), self.store, self.source, customers, masters=masters)
            except Exception as error:  # the lines are recorded: the sensor or the nightly run folds them
                self.counters.failures += 1
                self.counters.last_error = f"{type(error).__name__}: {error}"
                self.counters.pending_since = self.counters.pending_since or time.time()
                self._basis = None
                logger.warning("fold-in of %d customer(s) failed, left to the sensor: %s", len(customers), error)
                return answer | {"folded": False, "reason": str(error)}
            if self.serving_log is not None:
                append_fold_in(self.serving_log, report.log_entry("api", self.target))
            self.counters.customers_refreshed += report.customers
            self.counters.pending_since = None
            self.counters.last_fold_seconds = round(time.perf_counter() - started, 3)
            return answer | {
                "folded": True,
                "store_version": report.store_version,
                "seconds": round(time.perf_counter() - started, 3),
            }

    def prepare_in_background(self) -> threading.Thread:
        """Read the live version's basis (its model, the window's history) in a thread of its own, so the next
        order folds at once; a failure is left for that order to report."""

        def prepare() -> None:
            try:
                with self._lock:
                    self._live_basis()
            except Exception as error:  # the order that needs the basis reports it (and counts it)
                logger.info("fold-in basis not read ahead: %s", error)

        thread = threading.Thread(target=prepare, name="fold-in-basis", daemon=True)
        thread.start()
        return thread

    def stats(self) -> dict:
        """This process's counters, and what is not folded into the live version yet (every path, from the source
        and the fold-in log), or why that cannot be told."""
        stats = {"target": self.target, "this_process": self.counters.as_dict(time.time())}
        if self.serving_log is None:
            return stats | {"status": "no serving log folder: the fold-ins of other processes are not known"}
        try:
            return stats | fold_in_status(self.store, self.registry, self.source, self.serving_log).as_dict()
        except NoFoldIn as error:
            return stats | {"status": str(error)}

    def _live_basis(self) -> FoldInBasis:
        """The basis of the live version, read again when another version went live."""
        live = self.store.live_version()
        if live is None:
            raise NoFoldIn(f"{self.store.describe()} has no live version")
        if self._basis is None or self._basis.store_version != live:
            self._basis = load_basis(self.store, self.registry, self.source)
        return self._basis
