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

import pandas as pd
import pytest

from recsys_assets.core.data.generator import GeneratorConfig, generate
from recsys_assets.core.stores.mlflow_registry import VERSION_TAG
from recsys_assets.core.stores.store import LocalRecommendationStore
from recsys_assets.resources import resources_for
from tests.support.data import write_source

pytestmark = pytest.mark.slow

RECSYS = Path(sys.executable).parent / "recsys"
ROOT = Path(__file__).resolve().parents[2]
KILLED = -signal.SIGKILL
# six runs of the whole graph: the smallest shop on which every step and check runs
DATA = GeneratorConfig(customers=400, products=300, days=30, lines_per_day=250, seed=3, end_date=dt.date(2026, 6, 30))
# two small shops for the import rows: 14 days in June, then 10 days in July (disjoint partitions)
SMALL_OLD = GeneratorConfig(
    customers=300, products=200, days=14, lines_per_day=150, seed=6, end_date=dt.date(2026, 6, 30)
)
SMALL_NEW = GeneratorConfig(
    customers=250, products=180, days=10, lines_per_day=120, seed=7, end_date=dt.date(2026, 7, 20)
)


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


def source_counts(home: Path) -> dict[str, int]:
    """Rows of each contract table, and the tables a killed write could have left (staging tables)."""
    source = sqlite3.connect(home / "source.db")
    try:
        counts = {
            t: source.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("orders", "products", "customers")
        }
        names = [row[0] for row in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        counts["staging"] = sum(name.endswith("__staging") for name in names)
        replaced = "recsys_orders_replaced" in names
        counts["replacements"] = (
            source.execute("SELECT COUNT(*) FROM recsys_orders_replaced").fetchone()[0] if replaced else 0
        )
    finally:
        source.close()
    return counts


def test_kill_between_the_tables_of_an_import_leaves_every_table_old(recsys_home, tmp_path):
    old = generate(SMALL_OLD)
    write_source(old)
    before = source_counts(recsys_home)
    new = generate(SMALL_NEW)
    paths = {}
    for table in ("orders", "products", "customers"):
        paths[table] = tmp_path / f"{table}.csv"
        getattr(new, table).to_csv(paths[table], index=False)
    files = (str(paths["orders"]), "--products", str(paths["products"]), "--customers", str(paths["customers"]))
    # after the orders, after the products, after the customers (the last table swapped, not yet committed)
    for point in ("import.table:1", "import.table:2", "import.table:3"):
        killed = recsys("import-orders", *files, failpoint=point)
        assert killed.returncode == KILLED, (point, killed.stdout + killed.stderr)
        assert source_counts(recsys_home) == before, point  # all three old, no staging table, no replacement mark
    again = recsys("import-orders", *files)
    assert again.returncode == 0, again.stdout + again.stderr
    after = source_counts(recsys_home)
    assert (after["products"], after["customers"], after["staging"]) == (len(new.products), len(new.customers), 0)
    assert after["replacements"] == 1


def days_of(orders: pd.DataFrame) -> set[str]:
    return {day.strftime("%Y-%m-%d") for day in pd.to_datetime(orders["order_ts"]).dt.normalize().unique()}


def stored_partitions(home: Path) -> tuple[set[str], set[str]]:
    """The raw_orders partitions the Dagster instance records as materialized, and the files holding their values."""
    from dagster import AssetKey, DagsterInstance

    with DagsterInstance.get() as instance:  # DAGSTER_HOME: the recsys_home fixture's
        recorded = set(instance.get_materialized_partitions(AssetKey("raw_orders")))
    folder = home / "storage" / "raw_orders"
    return recorded, {path.name for path in folder.iterdir()} if folder.is_dir() else set()


def test_kill_between_the_import_commit_and_the_forgetting_is_finished_by_the_next_command(recsys_home, tmp_path):
    old = generate(SMALL_OLD)
    write_source(old)
    first = recsys("materialize")
    assert first.returncode == 0, first.stdout + first.stderr
    old_days = days_of(old.orders)
    assert stored_partitions(recsys_home) == (old_days, old_days)

    new = generate(SMALL_NEW)
    path = tmp_path / "orders.csv"
    new.orders.to_csv(path, index=False)
    # killed right after the commit: the source holds the new orders, the partitions read from the old ones stay
    killed = recsys("import-orders", str(path), failpoint="import.committed")
    assert killed.returncode == KILLED, killed.stdout + killed.stderr
    assert source_counts(recsys_home)["orders"] == len(new.orders)
    assert stored_partitions(recsys_home) == (old_days, old_days)
    # killed again while forgetting: some stored values removed, the records not yet
    killed = recsys("import-orders", str(path), failpoint="forget.partition:3")
    assert killed.returncode == KILLED, killed.stdout + killed.stderr
    recorded, stored = stored_partitions(recsys_home)
    assert recorded == old_days and len(stored) == len(old_days) - 3

    # the next materialize finds partitions older than the replacement, forgets them, then reads the new orders
    recovered = recsys("materialize")
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert f"forgot the {len(old_days)} raw_orders partitions read from the previous orders" in recovered.stdout
    new_days = days_of(new.orders)
    assert stored_partitions(recsys_home) == (new_days, new_days) and not new_days & old_days
    again = recsys("materialize")  # nothing stale any more: nothing forgotten
    assert again.returncode == 0 and "forgot" not in again.stdout, again.stdout + again.stderr


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
    registry = resources_for("local")["models"].registry()  # MLflow, the SQLite store under the home
    champion = store.versions()[0].metadata["model_version"]
    assert registry.versions() == [champion]
    write_source(generate(GeneratorConfig(**{**DATA.__dict__, "seed": 5})))
    for point in ("interactions.loaded", "selection.candidate:2", "registry.before_register", "store.publish"):
        killed = recsys("materialize", failpoint=point)
        assert killed.returncode == KILLED, (point, killed.stdout + killed.stderr)
        assert assert_live_is_complete(store) == first, point
        assert len(store.versions()) == 1, point  # the killed publish left no half version behind
        if point == "registry.before_register":
            # the candidate's MLflow run is logged, its registered version never created: nothing reads it
            assert registry.versions() == [champion]
            runs = registry.client.search_runs([registry.experiment_id()])
            [orphan] = [r for r in runs if r.data.tags[VERSION_TAG] != champion]
            assert registry.load(orphan.data.tags[VERSION_TAG]) is None
    recovered = recsys("materialize")
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert assert_live_is_complete(store) not in (None, first)
    # the gate of every later run scored against the champion from the registry; the candidate the kill left
    # unregistered was registered by the next run (reusing its run): every run of the experiment is registered
    live_model = store.versions()[0].metadata["model_version"]
    assert registry.versions()[0] == live_model and champion in registry.versions()
    registered_runs = {item["run_id"] for item in registry.describe()}
    assert {r.info.run_id for r in registry.client.search_runs([registry.experiment_id()])} == registered_runs


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
    [leftover] = (folder / "reference").glob(".m1.pkl.*.tmp")
    first = run(sys.executable, "-c", driver, str(folder))
    assert not leftover.exists()  # the killed writer's temporary file was swept by the next write
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
