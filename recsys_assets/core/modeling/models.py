"""Recommender candidates behind one interface: `fit(user_items)` and batched `recommend(...)`.

Follows implicit's shape (benfred/implicit): every candidate, the popularity baseline included, answers
`recommend(userids, user_items, N, filter_already_liked_items, filter_items)` with `(ids, scores)` arrays of
shape (len(userids), N). Slots a candidate cannot fill (too few unfiltered items) hold id -1.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from ..processes import process_alive

RECOMMEND_BATCH = 20_000  # users per topk call: bounds the (batch x items) score matrix


class Recommender(Protocol):
    def fit(self, user_items: sp.csr_matrix) -> None: ...

    def recommend(
        self,
        userids: np.ndarray,
        user_items: sp.csr_matrix,
        N: int,
        filter_already_liked_items: bool = True,
        filter_items: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class ALSParams:
    """Parameters of implicit's AlternatingLeastSquares.

    Parameters
    ----------
    factors : int
        Latent dimensions: more capture finer tastes but need more data per customer.
    regularization : float
        L2 penalty: higher values pull sparse customers towards the average taste.
    iterations : int
        ALS sweeps; quality usually plateaus after 10-20.
    random_state : int
        Seed of the factor initialisation, for reproducible models.
    """

    factors: int = 32
    regularization: float = 1.0
    iterations: int = 15
    random_state: int = 42


class PurchasedRows:
    """Each customer's bought products as implicit's `topk` reads its per-customer filter (`filter[i].indices`),
    served straight from the CSR arrays: `topk` loops over the customers in Python holding the GIL, and scipy's
    row indexing cost ~20 µs a customer there (1 s of the 1.7 s to recommend for 43 000 customers at scale M)."""

    __slots__ = ("indices", "indptr", "rows")

    def __init__(self, user_items: sp.csr_matrix, userids: np.ndarray):
        self.indptr, self.indices, self.rows = user_items.indptr, user_items.indices, np.asarray(userids)

    def __getitem__(self, position: int) -> _Row:
        row = self.rows[position]
        return _Row(self.indices[self.indptr[row] : self.indptr[row + 1]])


class _Row:
    __slots__ = ("indices",)

    def __init__(self, indices: np.ndarray):
        self.indices = indices


def top_items(item_vectors, query, N, user_items, userids, filter_already_liked_items, filter_items, threads=0):
    """implicit's `topk` of `query` against `item_vectors`, leaving out each customer's bought products (the rows
    `userids` of `user_items`) and `filter_items`: what implicit's own `recommend` does, without its slow filter."""
    from implicit.cpu.topk import topk

    bought = PurchasedRows(user_items, userids) if filter_already_liked_items else None
    with threadpool_limits(1, "blas"):
        return topk(item_vectors, query, N, filter_query_items=bought, filter_items=filter_items, num_threads=threads)


class ImplicitFactorModel:
    """fit / recommend / describe of an implicit factor model, always with one BLAS thread (implicit parallelises
    itself). Subclasses set `name` and build `self.model` from `self.params` inside `threadpool_limits`."""

    name = "factor_model"
    params: object
    model: object

    def fit(self, user_items: sp.csr_matrix) -> None:
        with threadpool_limits(1, "blas"):
            self.model.fit(user_items.tocsr(), show_progress=False)

    def recommend(self, userids, user_items, N, filter_already_liked_items=True, filter_items=None):
        # implicit's MatrixFactorizationBase.recommend for CPU factors, with the fast bought-products filter
        model = self.model
        query = model.user_factors[np.asarray(userids)]
        return top_items(
            model.item_factors,
            query,
            N,
            user_items,
            userids,
            filter_already_liked_items,
            filter_items,
            model.num_threads,
        )

    def describe(self) -> dict:
        return {"model": self.name, **asdict(self.params)}


GPU_ENV = "RECSYS_ALS_GPU"


def als_on_gpu() -> bool:
    """`RECSYS_ALS_GPU=true` fits ALS on a CUDA GPU (implicit built with CUDA; see the docs: Production engines)."""
    wanted = os.environ.get(GPU_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    if not wanted:
        return False
    import implicit.gpu

    if not implicit.gpu.HAS_CUDA:
        raise RuntimeError(
            f"{GPU_ENV} is set but this implicit build has no CUDA support: install implicit with CUDA on a GPU "
            "machine, or unset it"
        )
    return True


class ALSRecommender(ImplicitFactorModel):
    """implicit ALS on a confidence matrix (on the CPU, or fitted on a CUDA GPU with `RECSYS_ALS_GPU`); the
    confidence is kept after fitting: the explanations weigh bought products by it."""

    name = "als"
    confidence: sp.csr_matrix | None = None

    def __init__(self, params: ALSParams):
        self.params = params
        self.gpu = als_on_gpu()
        if self.gpu:
            from implicit.gpu.als import AlternatingLeastSquares
        else:
            from implicit.cpu.als import AlternatingLeastSquares
        with threadpool_limits(1, "blas"):  # implicit checks the BLAS threads when the model is built
            self.model = AlternatingLeastSquares(
                factors=params.factors,
                regularization=params.regularization,
                iterations=params.iterations,
                random_state=params.random_state,
            )

    def fit(self, user_items: sp.csr_matrix) -> None:
        super().fit(user_items)
        if self.gpu:  # recommend, explain and pickling work on the CPU copy of the factors
            self.model = self.model.to_cpu()
        self.confidence = user_items.tocsr()


class PopularityRecommender:
    """Most-bought products first: the number of distinct customers who bought each product."""

    name = "popularity"

    def __init__(self) -> None:
        self.item_scores: np.ndarray | None = None

    def fit(self, user_items: sp.csr_matrix) -> None:
        self.item_scores = np.asarray((user_items > 0).sum(axis=0), dtype=np.float32).ravel()

    def recommend(self, userids, user_items, N, filter_already_liked_items=True, filter_items=None):
        assert self.item_scores is not None, "fit the popularity model first"
        query = np.ones((len(userids), 1), dtype=np.float32)
        return top_items(
            self.item_scores.reshape(-1, 1), query, N, user_items, userids, filter_already_liked_items, filter_items
        )

    def describe(self) -> dict:
        return {"model": self.name}


def fit_timed(model: Recommender, user_items: sp.csr_matrix) -> float:
    """Fit `model` and return the wall time in seconds."""
    started = time.perf_counter()
    model.fit(user_items)
    return time.perf_counter() - started


# a fit on fewer non-zeros takes well under a second: a worker process would cost more than it saves
PARALLEL_FIT_MIN_NNZ = 300_000
PARALLEL_FIT_MIN_NNZ_ENV = "RECSYS_PARALLEL_FIT_MIN_NNZ"
# a worker fitting one model longer than this is stopped and its fit reported as failed (a hung BLAS, a model far
# too large for the machine): an hour is ~60x the largest fit measured here (scale L)
FIT_TIMEOUT_ENV = "RECSYS_FIT_TIMEOUT_SECONDS"
DEFAULT_FIT_TIMEOUT_SECONDS = 3600.0

FitOutcome = tuple[Recommender, float] | Exception  # the fitted model and its seconds, or why it failed


def _positive_env(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0:
        raise ValueError(f"{name} must be a positive number, got {text!r}")
    return value


def parallel_fit_min_nnz() -> int:
    """Non-zeros from which a fit is worth a worker process (`RECSYS_PARALLEL_FIT_MIN_NNZ`, default 300 000)."""
    return int(_positive_env(PARALLEL_FIT_MIN_NNZ_ENV, PARALLEL_FIT_MIN_NNZ))


def fit_timeout_seconds() -> float:
    """Seconds a worker may take to fit one model (`RECSYS_FIT_TIMEOUT_SECONDS`, default an hour)."""
    return _positive_env(FIT_TIMEOUT_ENV, DEFAULT_FIT_TIMEOUT_SECONDS)


def _fit_here(model: Recommender, matrix: sp.csr_matrix) -> FitOutcome:
    try:
        return model, fit_timed(model, matrix)
    except Exception as error:  # one failing model must not stop the others
        return error


def fit_side_by_side(
    tasks: list[tuple[Recommender, sp.csr_matrix]], min_nnz: int | None = None, timeout: float | None = None
) -> list[FitOutcome]:
    """Fit each (model, matrix); for each, the fitted model and its fit seconds, or the exception it raised.

    implicit's ALS and BPR use one core however many threads they are given here (their many small BLAS calls
    serialise inside OpenBLAS), while two processes fit two models in the time of one (benchmarks/RESULTS.md).
    So with several cores and more than one large fit, the first fits here and the others in worker processes at
    the same time (`fit_in_workers`); small fits, one core, or fits on a GPU run one after the other here.
    `min_nnz` defaults to `parallel_fit_min_nnz()`, `timeout` (per worker) to `fit_timeout_seconds()`."""
    min_nnz = parallel_fit_min_nnz() if min_nnz is None else min_nnz
    large = [model for model, matrix in tasks if matrix.nnz >= min_nnz]
    if len(large) > 1 and (os.cpu_count() or 1) > 1 and not any(getattr(m, "gpu", False) for m in large):
        return fit_in_workers(tasks, timeout=timeout)
    return [_fit_here(model, matrix) for model, matrix in tasks]


def fit_in_workers(
    tasks: list[tuple[Recommender, sp.csr_matrix]], cores: int | None = None, timeout: float | None = None
) -> list[FitOutcome]:
    """Fit each (model, matrix), `cores` at a time (default: every core): in each round the first here and the
    others in worker processes at the same time.

    A worker is a fresh interpreter running `fit_worker` on pickles in a private temporary folder: not a fork (this
    process runs threads and OpenMP, which a fork copies half-locked) and not multiprocessing's spawn (which
    re-imports the caller's main script, whatever it does at top level).

    No worker outlives this process or its fit: a worker still fitting `timeout` seconds after it started (default
    `fit_timeout_seconds()`) is killed and its fit reported as failed; an exception here (a cancelled run's
    interrupt) kills the round's workers before it propagates; and a worker dies with this process when this
    process is killed (the parent-death signal, see `fit_worker`)."""
    cores = max(1, cores or os.cpu_count() or 1)
    timeout = fit_timeout_seconds() if timeout is None else timeout
    outcomes: list[FitOutcome] = []
    for first in range(0, len(tasks), cores):
        batch = tasks[first : first + cores]
        # the fits of a round share the cores: implicit's own threads split between them, not multiplied by them;
        # the fitted models (here or unpickled from a worker) recommend with their own setting again
        own = [_set_threads(model, max(1, cores // len(batch))) for model, _ in batch]
        for outcome, threads in zip(_fit_round(batch, timeout), own, strict=True):
            if not isinstance(outcome, Exception):
                _set_threads(outcome[0], threads)
            outcomes.append(outcome)
        for (model, _), threads in zip(batch, own, strict=True):
            _set_threads(model, threads)
    return outcomes


def _set_threads(model: Recommender, threads: int | None) -> int | None:
    """Set the implicit threads of `model` (when it has them); the setting it had before."""
    inner = getattr(model, "model", None)
    if threads is None or not hasattr(inner, "num_threads"):
        return getattr(inner, "num_threads", None)
    before, inner.num_threads = inner.num_threads, threads
    return before


FIT_FOLDER_PREFIX = "recsys-fit-"  # + the pid of the process that made it: `sweep_fit_folders` reads it back


def _fit_round(tasks: list[tuple[Recommender, sp.csr_matrix]], timeout: float) -> list[FitOutcome]:
    import pickle
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    if len(tasks) < 2:
        return [_fit_here(model, matrix) for model, matrix in tasks]
    sweep_fit_folders()
    with tempfile.TemporaryDirectory(prefix=f"{FIT_FOLDER_PREFIX}{os.getpid()}-") as folder:
        workers = []
        try:
            for number, task in enumerate(tasks[1:], 1):
                task_file, result_file = Path(folder, f"task{number}.pickle"), Path(folder, f"result{number}.pickle")
                task_file.write_bytes(pickle.dumps(task, pickle.HIGHEST_PROTOCOL))
                module = "recsys_assets.core.modeling.fit_worker"
                command = [sys.executable, "-m", module, str(task_file), str(result_file), str(os.getpid())]
                deadline = time.monotonic() + timeout
                workers.append((subprocess.Popen(command, stderr=subprocess.PIPE), result_file, deadline))
            outcomes = [_fit_here(*tasks[0])]
            for worker, result_file, deadline in workers:
                outcomes.append(_worker_outcome(worker, result_file, deadline, timeout))
            return outcomes
        finally:  # an interrupt (a cancelled run) or any error here: no worker keeps fitting for nobody
            for worker, _, _ in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait()


def _worker_outcome(worker, result_file, deadline: float, timeout: float) -> FitOutcome:
    import pickle
    import subprocess

    try:
        _, errors = worker.communicate(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        if worker.poll() is not None:  # it finished in time, while an earlier worker was waited for
            _, errors = worker.communicate()
        else:
            worker.kill()
            worker.communicate()
            return RuntimeError(
                f"the worker process fitting it was still fitting after the fit timeout of {timeout:g} s and was "
                f"stopped (raise {FIT_TIMEOUT_ENV} for fits that take longer)"
            )
    if worker.returncode == 0 and result_file.exists():
        return pickle.loads(result_file.read_bytes())
    tail = errors.decode(errors="replace").strip()[-2000:]
    return RuntimeError(f"the worker process fitting it failed (exit {worker.returncode}): {tail}")


def sweep_fit_folders() -> int:
    """Remove the temporary fit folders (their pickled matrices) of processes that are gone: a killed run cannot
    remove its own. Returns how many were removed."""
    import shutil
    import tempfile
    from pathlib import Path

    removed = 0
    for folder in Path(tempfile.gettempdir()).glob(f"{FIT_FOLDER_PREFIX}*-*"):
        owner = folder.name[len(FIT_FOLDER_PREFIX) :].split("-", 1)[0]
        if folder.is_dir() and owner.isdigit() and not process_alive(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def recommend_all(
    model: Recommender,
    user_items: sp.csr_matrix,
    userids: np.ndarray,
    k: int,
    exclude_purchased: bool,
    filter_items: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-`k` product indices and scores for `userids`, in batches; unfilled slots are -1 / NaN."""
    n_items = user_items.shape[1]
    k_eff = min(k, n_items)
    ids = np.full((len(userids), k), -1, dtype=np.int64)
    scores = np.full((len(userids), k), np.nan, dtype=np.float32)
    if len(userids) == 0 or k_eff == 0:
        return ids, scores
    for start in range(0, len(userids), RECOMMEND_BATCH):
        batch = np.asarray(userids[start : start + RECOMMEND_BATCH])
        batch_ids, batch_scores = model.recommend(
            batch, user_items, N=k_eff, filter_already_liked_items=exclude_purchased, filter_items=filter_items
        )
        batch_ids = np.asarray(batch_ids, dtype=np.int64).reshape(len(batch), -1)
        batch_scores = np.asarray(batch_scores, dtype=np.float32).reshape(len(batch), -1)
        invalid = (batch_ids < 0) | ~np.isfinite(batch_scores) | (batch_scores <= np.finfo(np.float32).min)
        batch_ids[invalid] = -1
        batch_scores[invalid] = np.nan
        width = batch_ids.shape[1]
        ids[start : start + len(batch), :width] = batch_ids
        scores[start : start + len(batch), :width] = batch_scores
    return ids, scores
