"""Shared fixtures: an isolated RECSYS_HOME per test, and small generated source databases; the test lanes.

Lanes (markers registered in pyproject.toml): a test that uses the `cosmos_emulator` or `azurite` fixture is marked
`emulator`, one that uses `postgres` is marked `postgres` (see `pytest_collection_modifyitems`). Tests that start
those services or Chromium without the fixtures, and tests that run the whole graph or Dagster processes, carry
their marker (`emulator`, `browser`, `slow`) in their own module. `make test-fast` runs what has none of them.
"""

from __future__ import annotations

import os

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


@pytest.fixture
def recsys_home(tmp_path, monkeypatch):
    home = tmp_path / "recsys"
    monkeypatch.setenv("RECSYS_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    (home / "dagster").mkdir(parents=True)
    monkeypatch.delenv("RECSYS_SOURCE_URL", raising=False)
    monkeypatch.delenv("RECSYS_DEPLOYMENT", raising=False)
    return home


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


def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture in item.fixturenames:
            if fixture in FIXTURE_LANES:
                item.add_marker(FIXTURE_LANES[fixture])


def pytest_configure(config):
    # implicit warns (and runs slower) when BLAS may use several threads
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
