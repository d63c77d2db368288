"""A model whose fit just waits (picklable, importable by a fit worker), and a driver process fitting several side
by side in worker processes: for tests that kill, interrupt or time out the fits."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

MARKERS_ENV = "SLOW_FIT_MARKERS"  # a folder: each process touches a file named by its pid when its fit begins


class SlowModel:
    """Fits by sleeping `seconds` (stands in for a long ALS fit without using the cores)."""

    name = "slow"

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.fitted = False

    def fit(self, user_items) -> None:
        if os.environ.get(MARKERS_ENV):  # tell the test this process is fitting now
            Path(os.environ[MARKERS_ENV], str(os.getpid())).touch()
        time.sleep(self.seconds)
        self.fitted = True


def tasks(seconds: list[float]) -> list[tuple[SlowModel, sp.csr_matrix]]:
    matrix = sp.csr_matrix(np.ones((4, 4), dtype=np.float32))
    return [(SlowModel(s), matrix) for s in seconds]


if __name__ == "__main__":  # python -m tests.support.slow_fit SECONDS...: the first here, the others in workers
    from recsys_assets.core.modeling.models import fit_in_workers
    from tests.support import slow_fit  # the module, not __main__: the workers unpickle its SlowModel

    seconds = [float(s) for s in sys.argv[1:]]
    print("fitting", flush=True)
    outcomes = fit_in_workers(slow_fit.tasks(seconds), cores=len(seconds))
    print("done", [type(o).__name__ for o in outcomes], flush=True)
