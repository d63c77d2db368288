"""Fit worker processes never outlive their parent or their timeout (a killed, interrupted or cancelled run leaves
no worker fitting for nobody), and a killed run's temporary fit folder is swept by the next one."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from recsys_assets.core.modeling.models import FIT_FOLDER_PREFIX, fit_in_workers, sweep_fit_folders
from tests.support.signals import default_signals
from tests.support.slow_fit import MARKERS_ENV, tasks

ROOT = Path(__file__).resolve().parents[2]


def workers_of(parent: psutil.Process) -> list[psutil.Process]:
    return [p for p in parent.children(recursive=True) if "recsys_assets.core.modeling.fit_worker" in p.cmdline()]


def start_driver(markers: Path, *seconds: float) -> tuple[subprocess.Popen, list[psutil.Process]]:
    """A process fitting `seconds` slow models side by side, once every worker has begun its fit."""
    driver = subprocess.Popen(
        [sys.executable, "-m", "tests.support.slow_fit", *map(str, seconds)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), MARKERS_ENV: str(markers)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,  # the signals sent below must do what they do to a run's process
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = workers_of(psutil.Process(driver.pid))
        fitting = {int(marker.name) for marker in markers.iterdir()}
        if len(workers) == len(seconds) - 1 and {w.pid for w in workers} <= fitting:
            return driver, workers
        assert driver.poll() is None, driver.communicate()
        time.sleep(0.1)
    driver.kill()
    raise AssertionError(f"the driver's workers did not begin their fits: {driver.communicate()}")


PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


@contextlib.contextmanager
def adopting_orphans():
    """Orphaned processes are handed to this process instead of PID 1: some container inits kill orphans after a
    while, which would hide a worker that outlives its parent; here nothing but the code under test ends it."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        pytest.skip("cannot become a child subreaper here (not Linux)")
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def running(process: psutil.Process) -> bool:
    """Still running: a zombie (dead, not yet reaped) holds no memory and counts as gone."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def assert_gone(workers: list[psutil.Process], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while any(running(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [w for w in workers if running(w)]
    for worker in alive:  # leave nothing behind even when the test fails
        worker.kill()
    for worker in workers:  # reap the adopted ones
        with contextlib.suppress(ChildProcessError):
            os.waitpid(worker.pid, 0)
    assert not alive, f"worker(s) {[w.pid for w in alive]} outlived their parent by {within} s"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_workers_die_with_their_parent(sig, tmp_path):
    """SIGKILL and SIGTERM end the parent without any clean-up (the parent-death signal ends the workers);
    SIGINT is what a cancelled Dagster run receives (the interrupt kills the round's workers on its way out)."""
    with adopting_orphans():
        driver, workers = start_driver(tmp_path, 60, 60, 60)
        assert len(workers) == 2
        driver.send_signal(sig)
        driver.wait(timeout=10)
        assert_gone(workers)


def test_a_worker_over_the_timeout_is_stopped_and_its_fit_fails_clearly(monkeypatch):
    monkeypatch.setenv("RECSYS_FIT_TIMEOUT_SECONDS", "6")  # a worker starts in ~1.5 s
    started = time.monotonic()
    here, slow, quick = fit_in_workers(tasks([0, 60, 0.1]), cores=3)
    assert time.monotonic() - started < 30
    assert here[0].fitted and quick[0].fitted
    assert isinstance(slow, RuntimeError)
    assert "fit timeout of 6 s" in str(slow) and "RECSYS_FIT_TIMEOUT_SECONDS" in str(slow)


def test_an_exception_in_the_parent_kills_the_round_s_workers(monkeypatch):
    import recsys_assets.core.modeling.models as models

    started = []

    def interrupted(model, matrix):  # the parent's own fit is interrupted, as a cancelled run's step is
        started.extend(workers_of(psutil.Process()))
        raise KeyboardInterrupt

    monkeypatch.setattr(models, "_fit_here", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fit_in_workers(tasks([60, 60, 60]), cores=3)
    assert len(started) == 2
    assert_gone(started, within=1)


def test_bad_settings_are_refused_naming_them(monkeypatch):
    from recsys_assets.core.modeling.models import fit_timeout_seconds, parallel_fit_min_nnz

    monkeypatch.setenv("RECSYS_FIT_TIMEOUT_SECONDS", "0")
    with pytest.raises(ValueError, match="RECSYS_FIT_TIMEOUT_SECONDS must be a positive number"):
        fit_timeout_seconds()
    monkeypatch.setenv("RECSYS_PARALLEL_FIT_MIN_NNZ", "many")
    with pytest.raises(ValueError, match="RECSYS_PARALLEL_FIT_MIN_NNZ"):
        parallel_fit_min_nnz()
    monkeypatch.setenv("RECSYS_PARALLEL_FIT_MIN_NNZ", "1000")
    assert parallel_fit_min_nnz() == 1000


def test_a_killed_run_s_fit_folder_is_swept_by_the_next_round(tmp_path):
    import tempfile

    with adopting_orphans():
        driver, workers = start_driver(tmp_path, 60, 60)
        folders = list(Path(tempfile.gettempdir()).glob(f"{FIT_FOLDER_PREFIX}{driver.pid}-*"))
        assert len(folders) == 1 and any(folders[0].iterdir())
        driver.kill()
        driver.wait(timeout=10)
        assert_gone(workers)
    assert folders[0].exists()  # nothing in the killed process could remove it
    assert sweep_fit_folders() >= 1 and not folders[0].exists()
    ours = tempfile.mkdtemp(prefix=f"{FIT_FOLDER_PREFIX}{os.getpid()}-")
    try:
        sweep_fit_folders()
        assert Path(ours).exists()  # a living process's folder is left alone
    finally:
        os.rmdir(ours)


WATCHED = """
import sys, time
from recsys_assets.core.modeling import fit_worker
# as on a system without prctl: the watchdog thread alone must end this process when its parent goes
fit_worker.sys.platform = "darwin"
assert fit_worker.die_with_parent(int(sys.argv[1])) == "watchdog"
print("watching", flush=True)
time.sleep(60)
"""


def test_without_the_parent_death_signal_the_watchdog_ends_the_worker(tmp_path):
    """A middle process starts a watched child and is killed: the child exits within the watchdog's period."""
    middle_code = f"""
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", {WATCHED!r}, str(os.getpid())], stdout=subprocess.PIPE, text=True)
assert child.stdout.readline().strip() == "watching"
print(child.pid, flush=True)
time.sleep(60)
"""
    with adopting_orphans():
        middle = subprocess.Popen(
            [sys.executable, "-c", middle_code],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        child = psutil.Process(int(middle.stdout.readline()))
        middle.kill()
        middle.wait(timeout=10)
        assert_gone([child], within=5)


def test_a_worker_whose_parent_is_already_gone_exits_at_once():
    started = subprocess.run(
        [
            sys.executable,
            "-c",
            "from recsys_assets.core.modeling.fit_worker import die_with_parent; "
            "die_with_parent(1); print('still here')",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 1 and "still here" not in started.stdout
