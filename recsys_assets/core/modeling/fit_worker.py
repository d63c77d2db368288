"""A worker process fitting one model (see `models.fit_in_workers`).

    python -m recsys_assets.core.modeling.fit_worker TASK RESULT

reads the pickled (model, matrix) of TASK, fits the model, and writes to RESULT the pickled (fitted model, fit
seconds), or the exception the fit raised (as a RuntimeError naming it). It imports what unpickling the model needs
(numpy, scipy, implicit), nothing of Dagster or pandas.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from .models import fit_timed


def main(task_path: str, result_path: str) -> None:
    model, matrix = pickle.loads(Path(task_path).read_bytes())
    try:
        outcome = (model, fit_timed(model, matrix))
    except Exception as error:  # reported to the caller with the model it belongs to
        outcome = RuntimeError(f"{type(error).__name__}: {error}")
    Path(result_path).write_bytes(pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    main(*sys.argv[1:3])
