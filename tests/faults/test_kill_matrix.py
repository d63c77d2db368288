"""The fault matrix: SIGKILL the process in the middle of every write the product makes, then run again.

A fail point (`RECSYS_FAILPOINT`, core/faults.py) kills the real `recsys` process, or a driver process, at a
named point: no clean-up code runs, as with an out-of-memory kill. After each kill: the source tables are the
old or the new ones, the live version is the old or the new one and complete, and the next run recovers.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from recsys_assets.core.data.generator import GeneratorConfig, generate
from recsys_assets.core.stores.store import LocalRecommendationStore
from tests.support.data import write_source

pytestmark = pytest.mark.slow

RECSYS = Path(sys.executable).parent / "recsys"
ROOT = Path(__file__).resolve().parents[2]
KILLED = -signal.SIGKILL
DATA = GeneratorConfig(customers=800, products=600, days=30, lines_per_day=500, seed=3, end_date=dt.date(2026, 6, 30))


def run(*command, failpoint: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "RECSYS_FAILPOINT": failpoint or ""}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)


def recsys(*args, failpoint: str | None = None) -> subprocess.CompletedProcess:
    return run(str(RECSYS), *args, failpoint=failpoint)


def assert_live_is_complete(store: LocalRecommendationStore) -> str | None:
    """The live version, after checking it holds every row its version entry says it has."""
    live = store.live_version()
    if live is None:
        return None
    [info] = [v for v in store.versions() if v.version == live]
    assert len(store.read_version(live)) == info.rows > 0
    return live


def test_kill_during_import_leaves_the_old_tables(recsys_home, tmp_path):
    old = generate(DATA)
    write_source(old)
    new = generate(GeneratorConfig(customers=300, products=200, days=10, lines_per_day=100, seed=4))
    path = tmp_path / "orders.csv"
    new.orders.to_csv(path, index=False)
    killed = recsys("import-orders", str(path), failpoint="import.swap")
    assert killed.returncode == KILLED, killed.stderr
    source = sqlite3.connect(recsys_home / "source.db")
    try:
        assert source.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == len(old.orders)
        assert source.execute("SELECT COUNT(*) FROM products").fetchone()[0] == len(old.products)
    finally:
        source.close()
    again = recsys("import-orders", str(path))
    assert again.returncode == 0, again.stderr
    assert f"replacing {len(old.orders)} existing line(s)" in again.stdout


def test_kills_during_the_graph_leave_the_live_version_old_or_new_and_complete(recsys_home):
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    write_source(generate(DATA))
    # the ingest: a single-run backfill killed after 5 of its 30 partitions are stored
    killed = recsys("materialize", failpoint="io_manager.partition:5")
    assert killed.returncode == KILLED, killed.stdout + killed.stderr
    assert store.live_version() is None
    recovered = recsys("materialize")
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    first = assert_live_is_complete(store)

    # new data, then a kill at each later step: the first version stays live and complete every time
    write_source(generate(GeneratorConfig(**{**DATA.__dict__, "seed": 5})))
    for point in ("interactions.loaded", "selection.candidate:2", "store.publish"):
        killed = recsys("materialize", failpoint=point)
        assert killed.returncode == KILLED, (point, killed.stdout + killed.stderr)
        assert assert_live_is_complete(store) == first, point
        assert len(store.versions()) == 1, point  # the killed publish left no half version behind
    recovered = recsys("materialize")
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert assert_live_is_complete(store) not in (None, first)


def test_kill_while_writing_the_drift_reference_cache_never_breaks_later_checks(recsys_home, tmp_path):
    write_source(generate(DATA))
    driver = (
        "import pandas as pd, sys\n"
        "from recsys_assets.core.stores.source_db import SourceDatabase\n"
        "from recsys_assets.instance.live_model import LiveModel\n"
        "from recsys_assets.watch.inputs import reference_data\n"
        "from recsys_assets.settings import local_source_url\n"
        "db = SourceDatabase(local_source_url())\n"
        "model = LiveModel('m1', pd.Timestamp('2026-06-20'), pd.Timestamp('2026-06-01'))\n"
        "products, customers = db.read_master('products'), db.read_master('customers')\n"
        "features, _ = reference_data(db, model, products, customers, sys.argv[1])\n"
        "print(len(features))\n"
    )
    folder = tmp_path / "monitoring"
    killed = run(sys.executable, "-c", driver, str(folder), failpoint="files.before_rename")
    assert killed.returncode == KILLED, killed.stderr
    assert not (folder / "reference" / "m1.pkl").exists()  # only a temporary file was written
    first = run(sys.executable, "-c", driver, str(folder))
    cached = run(sys.executable, "-c", driver, str(folder))
    assert first.returncode == cached.returncode == 0, first.stderr + cached.stderr
    assert int(first.stdout) == int(cached.stdout) > 0


@pytest.mark.usefixtures("recsys_home")
def test_kill_during_a_cosmos_publish_keeps_the_old_version_live_and_the_rerun_completes(cosmos_emulator):
    driver = (
        "import sys\n"
        "from tests.azure.test_cosmos_store import lists, make_store\n"
        "store = make_store(sys.argv[1], sys.argv[2], database=sys.argv[3], concurrency=2, batch_customers=10)\n"
        "store.publish(sys.argv[4], lists(60, int(sys.argv[5])), {'model_version': 'm'}, keep_versions=2)\n"
    )
    endpoint, key, database = cosmos_emulator.endpoint, cosmos_emulator.key, f"kill-{os.getpid()}"
    assert run(sys.executable, "-c", driver, endpoint, key, database, "v1", "1").returncode == 0
    killed = run(sys.executable, "-c", driver, endpoint, key, database, "v2", "2", failpoint="cosmos.document:25")
    assert killed.returncode == KILLED, killed.stderr
    from tests.azure.test_cosmos_store import make_store

    store = make_store(endpoint, key, database=database)
    assert store.live_version() == "v1" and len(store.read_version("v1")) == 300
    assert 0 < len(store.read_version("v2")) < 300  # partial, pending, invisible to readers
    rerun = run(sys.executable, "-c", driver, endpoint, key, database, "v2", "2")
    assert rerun.returncode == 0, rerun.stderr
    assert store.live_version() == "v2" and len(store.read_version("v2")) == 300
