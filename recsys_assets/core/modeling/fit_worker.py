"""A worker process fitting one model (see `models.fit_in_workers`).

    python -m recsys_assets.core.modeling.fit_worker TASK RESULT PARENT_PID

reads the pickled (model, matrix) of TASK, fits the model, and writes to RESULT the pickled (fitted model, fit
seconds), or the exception the fit raised (as a RuntimeError naming it). It imports what unpickling the model needs
(numpy, scipy, implicit), nothing of Dagster or pandas.

The worker dies with the process that started it (PARENT_PID): a killed or cancelled run must not leave workers
fitting for nobody with their matrices in memory. On Linux the kernel sends it SIGKILL when its parent dies
(prctl PR_SET_PDEATHSIG); elsewhere a watchdog thread exits when its parent changes. (Linux sends the signal when
the parent's *thread* that started the worker ends: `models._fit_round` waits for its workers in that thread, so
that is never before the fit is over.)
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import sys
import threading
import time
from pathlib import Path

from .models import fit_timed

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCHDOG_SECONDS = 1.0


def die_with_parent(parent_pid: int) -> str:
    """Make this process end when `parent_pid` does; returns how ("prctl" or "watchdog")."""
    how = "watchdog"
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                how = "prctl"
        except (OSError, AttributeError):  # no libc prctl here: the watchdog below does it
            pass
    # the parent may have died before the signal was armed: then this process was already handed to another parent
    if os.getppid() != parent_pid:
        os._exit(1)
    if how == "watchdog":
        threading.Thread(target=_watch, args=(parent_pid,), name="parent-watchdog", daemon=True).start()
    return how


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCHDOG_SECONDS)
    os._exit(1)  # no clean-up: the parent that wanted the result is gone


def main(task_path: str, result_path: str, parent_pid: str | None = None) -> None:
    if parent_pid is not None:
        die_with_parent(int(parent_pid))
    model, matrix = pickle.loads(Path(task_path).read_bytes())
    try:
        outcome = (model, fit_timed(model, matrix))
    except Exception as error:  # reported to the caller with the model it belongs to
        outcome = RuntimeError(f"{type(error).__name__}: {error}")
    Path(result_path).write_bytes(pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    main(*sys.argv[1:4])
