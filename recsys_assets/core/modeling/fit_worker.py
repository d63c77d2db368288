"""A worker process fitting one model (see `models.fit_in_workers`).

    python -m recsys_assets.core.modeling.fit_worker TASK RESULT

reads the pickled (model, matrix) of TASK, fits the model, and writes the pickled (fitted model, fit seconds) to
RESULT. It imports what unpickling the model needs (numpy, scipy, implicit), nothing of Dagster or pandas.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from .models import fit_timed


def main(task_path: str, result_path: str) -> None:
    model, matrix = pickle.loads(Path(task_path).read_bytes())
    seconds = fit_timed(model, matrix)
    Path(result_path).write_bytes(pickle.dumps((model, seconds), pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    main(*sys.argv[1:3])
