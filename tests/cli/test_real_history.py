"""A shop's real history through the CLI, as a new user meets it: a 2-year export with closed weekends and
holidays, semicolons, decimal commas and latin-1, imported and materialized with no settings at all; a bad import
with future-dated lines is named and stops the run, and re-importing the clean file recovers."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from recsys_assets.core.stores.erp_csv import CsvDialect, read_erp_csv, write_erp_csv
from recsys_assets.core.stores.store import LocalRecommendationStore

pytestmark = pytest.mark.slow

RECSYS = Path(sys.executable).parent / "recsys"
LAST_ORDER_DAY = dt.date.today() - dt.timedelta(days=8)


def recsys(*args, env):
    return subprocess.run([str(RECSYS), *args], capture_output=True, text=True, env=env, timeout=600)


def export_realistic(folder: Path, size: list[str], env: dict) -> dt.date:
    """A realistic shop generated into its own database and exported as its ERP writes it; its last order day (the
    shop is closed on weekends: the last day with orders may be before LAST_ORDER_DAY)."""
    generated = f"sqlite:///{folder}.db"
    size = [*size, "--lines-per-day", "15", "--end-date", str(LAST_ORDER_DAY)]
    assert recsys("generate", "--realistic", *size, "--url", generated, env=env).returncode == 0
    exported = recsys("export-orders", str(folder), "--url", generated, env=env)
    assert exported.returncode == 0, exported.stderr
    orders, _ = read_erp_csv(folder / "orders.csv", CsvDialect())
    last_trading_day = pd.to_datetime(orders["order_ts"]).max().date()
    assert LAST_ORDER_DAY - last_trading_day < dt.timedelta(days=4)
    return last_trading_day


def test_realistic_export_imports_and_materializes_with_no_settings(recsys_home, tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "RECSYS_PARTITIONS_START"}
    last_trading_day = export_realistic(
        tmp_path / "export", ["--customers", "900", "--days", "730", "--seed", "9"], env
    )
    export = tmp_path / "export"
    raw = (export / "orders.csv").read_bytes()
    assert raw.splitlines()[0].count(b";") == 8 and b"," in raw.splitlines()[1]  # semicolons, decimal commas
    masters = ["--products", str(export / "products.csv"), "--customers", str(export / "customers.csv")]

    # a bad export first: 5 % of the lines dated in 2099 (a year typo in the ERP); a short one (two months: its
    # run stops at raw_orders' checks after reading every day)
    small = tmp_path / "small"
    small_last_day = export_realistic(small, ["--customers", "150", "--days", "60", "--seed", "4"], env)
    orders, _ = read_erp_csv(small / "orders.csv", CsvDialect())
    poisoned = orders.copy()
    poisoned["order_ts"] = pd.to_datetime(poisoned["order_ts"])
    poisoned.loc[poisoned.sample(frac=0.05, random_state=1).index, "order_ts"] = pd.Timestamp("2099-03-01 10:00")
    write_erp_csv(poisoned, tmp_path / "poisoned.csv")
    small_masters = ["--products", str(small / "products.csv"), "--customers", str(small / "customers.csv")]
    assert recsys("import-orders", str(tmp_path / "poisoned.csv"), *small_masters, env=env).returncode == 0
    failed = recsys("materialize", env=env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "raw_orders_suite" in failed.stdout and "2099" in failed.stdout + failed.stderr
    # the range ends on the last real order day, not in 2099
    assert f"to {small_last_day};" in failed.stdout

    # the clean export: imported with no option and materialized with no setting, it publishes
    imported = recsys("import-orders", str(export / "orders.csv"), *masters, env=env)
    assert imported.returncode == 0, imported.stderr
    assert "replacing" in imported.stdout and "delimiter ';', decimal ','" in imported.stdout
    run = recsys("materialize", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "customers evaluated" in run.stdout and "hold-out:" in run.stdout and "=>" in run.stdout
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    live = store.live_version()
    assert live is not None and len(store.read_version(live)) > 0

    # partitions up to yesterday are empty (the last order was a week ago): the window still ends on the last
    # order day, so re-running over them (and the last trading days before them) changes nothing
    yesterday = dt.date.today() - dt.timedelta(days=1)
    again = recsys(
        "materialize", "--start", str(last_trading_day - dt.timedelta(days=7)), "--end", str(yesterday), env=env
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert store.live_version() == live
    profile = recsys("profile", env=env)
    assert profile.returncode == 0 and "closed weekdays      Sat, Sun" in profile.stdout
