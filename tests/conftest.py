"""Shared fixtures: an isolated RECSYS_HOME per test, and small generated source databases."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from dagster import DagsterInstance

from recsys_assets.core.generator import GeneratedData, GeneratorConfig, generate
from recsys_assets.core.source_db import open_for_writing
from tests.emulators import azurite, cosmos_emulator  # noqa: F401  (session fixtures)

# Small but structured: ALS must beat popularity on it (the e2e test asserts it).
SMALL = GeneratorConfig(
    customers=1_500, products=1_200, days=60, lines_per_day=700, seed=3, end_date=dt.date(2026, 6, 30)
)


@pytest.fixture
def recsys_home(tmp_path, monkeypatch):
    home = tmp_path / "recsys"
    monkeypatch.setenv("RECSYS_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    (home / "dagster").mkdir(parents=True)
    monkeypatch.delenv("RECSYS_SOURCE_URL", raising=False)
    monkeypatch.delenv("RECSYS_DEPLOYMENT", raising=False)
    return home


def write_source(data: GeneratedData) -> str:
    from recsys_assets.deployment import local_source_url

    url = local_source_url()
    database = open_for_writing(url)
    for table in ("orders", "products", "customers"):
        database.write(table, getattr(data, table), replace=True)
    return url


@pytest.fixture(scope="session")
def small_data() -> GeneratedData:
    return generate(SMALL)


@pytest.fixture
def small_source(recsys_home, small_data) -> str:
    return write_source(small_data)


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


def pytest_configure(config):
    # implicit warns (and runs slower) when BLAS may use several threads
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
