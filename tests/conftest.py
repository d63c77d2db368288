"""Shared fixtures: an isolated RECSYS_HOME per test, and small generated source databases; the test lanes.

Lanes (markers registered in pyproject.toml): a test that uses the `cosmos_emulator` or `azurite` fixture is marked
`emulator`, one that uses `postgres` is marked `postgres` (see `pytest_collection_modifyitems`). Tests that start
those services or Chromium without the fixtures, and tests that run the whole graph or Dagster processes, carry
their marker (`emulator`, `browser`, `slow`) in their own module. `make test-fast` runs what has none of them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# The partitions start at the first order day of the source database found when the code location is imported;
# in-process tests share one import and generate data from 2026 on, so they pin the start. CLI subprocess tests
# that exercise the data-driven start remove it from their environment.
os.environ.setdefault("RECSYS_PARTITIONS_START", "2026-01-01")

import pytest  # noqa: E402
from dagster import DagsterInstance

from recsys_assets.core.data.generator import GeneratedData, generate
from tests.support.data import SMALL, write_source
from tests.support.emulators import azurite, cosmos_emulator  # noqa: F401  (session fixtures)
from tests.support.postgres import postgres_server


@pytest.fixture(scope="session")
def mlflow_empty_db(tmp_path_factory) -> Path:
    """An empty MLflow SQLite store, created and migrated once per session by MLflow itself: a fresh store costs
    about 1.7 s of migrations, a copy of this one nothing (see `recsys_home`)."""
    from recsys_assets.core.stores.mlflow_registry import mlflow_client

    path = tmp_path_factory.mktemp("mlflow-empty") / "mlflow.db"
    mlflow_client(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def recsys_home(tmp_path, monkeypatch, mlflow_empty_db):
    home = tmp_path / "recsys"
    monkeypatch.setenv("RECSYS_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    (home / "dagster").mkdir(parents=True)
    (home / "mlflow").mkdir()
    shutil.copy(mlflow_empty_db, home / "mlflow" / "mlflow.db")  # the local model registry, already migrated
    monkeypatch.delenv("RECSYS_SOURCE_URL", raising=False)
    monkeypatch.delenv("RECSYS_DEPLOYMENT", raising=False)
    for name in ("MLFLOW_TRACKING_URI", "RECSYS_MLFLOW_MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture(scope="session")
def mlflow_tracking_server(mlflow_empty_db):
    """A real `mlflow server` for the session (SQLite backend, local artifact store; stopped by PID at the end)."""
    from tests.support.mlflow_server import mlflow_server

    with mlflow_server(empty_db=mlflow_empty_db) as server:
        yield server


@pytest.fixture(scope="session")
def small_data() -> GeneratedData:
    return generate(SMALL)


@pytest.fixture
def small_source(recsys_home, small_data) -> str:
    return write_source(small_data)


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session (started on first use, stopped by PID at the end)."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


# fixture -> the lane marker every test using it gets (the fixture starts that service)
FIXTURE_LANES = {"cosmos_emulator": "emulator", "azurite": "emulator", "postgres": "postgres"}


ROOT = Path(__file__).resolve().parents[1]

# The files that take about a minute or more each (`pytest --durations=0`, summed per file), longest first. `make
# test` hands whole files to its two xdist workers in collection order (--no-loadscope-reorder): started first, they
# end alongside the many short files. In xdist's own order (most tests first) these one- and two-test files came
# last, and one worker ran the docs walk, the real history and the GraphQL trigger alone for 3.5 minutes at the end.
LONGEST_FIRST = (
    "tests/deploy/test_topology.py",
    "tests/faults/test_kill_matrix.py",
    "tests/cli/test_readme.py",
    "tests/dagster/test_postgres.py",
    "tests/cli/test_data_commands.py",
    "tests/cli/test_real_history.py",
    "tests/dagster/test_checks.py",
    "tests/azure/test_deployment.py",
    "tests/cli/test_champion_across_reexports.py",
    "tests/faults/test_cancelled_fits.py",
    "tests/cli/test_demos.py",
    "tests/docs/test_screenshots.py",
    "tests/cli/test_trigger_http.py",
)


def run_order(item) -> int:
    """The rank of the item's file in LONGEST_FIRST; every other file after them, in the usual order."""
    path = item.path.relative_to(ROOT).as_posix()
    return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture in item.fixturenames:
            if fixture in FIXTURE_LANES:
                item.add_marker(FIXTURE_LANES[fixture])
    items.sort(key=run_order)  # stable: a file's tests keep their order


def pytest_configure(config):
    # implicit warns (and runs slower) when BLAS may use several threads
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
