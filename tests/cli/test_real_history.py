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


def test_realistic_export_imports_and_materializes_with_no_settings(recsys_home, tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "RECSYS_PARTITIONS_START"}
    export = tmp_path / "export"
    generated = f"sqlite:///{tmp_path / 'erp.db'}"
    # two years (the realistic default is three): every kind of closed day twice, two thirds of the suite's time
    size = ["--customers", "900", "--days", "730", "--lines-per-day", "15", "--seed", "9"]
    size += ["--end-date", str(LAST_ORDER_DAY)]
    assert recsys("generate", "--realistic", *size, "--url", generated, env=env).returncode == 0
    exported = recsys("export-orders", str(export), "--url", generated, env=env)
    assert exported.returncode == 0, exported.stderr
    raw = (export / "orders.csv").read_bytes()
    assert raw.splitlines()[0].count(b";") == 8 and b"," in raw.splitlines()[1]  # semicolons, decimal commas
    masters = ["--products", str(export / "products.csv"), "--customers", str(export / "customers.csv")]

    # a bad export first: 5 % of the lines dated in 2099 (a year typo in the ERP)
    orders, _ = read_erp_csv(export / "orders.csv", CsvDialect())
    poisoned = orders.copy()
    poisoned["order_ts"] = pd.to_datetime(poisoned["order_ts"])
    poisoned.loc[poisoned.sample(frac=0.05, random_state=1).index, "order_ts"] = pd.Timestamp("2099-03-01 10:00")
    write_erp_csv(poisoned, tmp_path / "poisoned.csv")
    assert recsys("import-orders", str(tmp_path / "poisoned.csv"), *masters, env=env).returncode == 0
    failed = recsys("materialize", env=env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "raw_orders_suite" in failed.stdout and "2099" in failed.stdout + failed.stderr
    # the range ends on the last real order day, not in 2099 (the shop is closed on weekends: the last day with
    # orders may be before LAST_ORDER_DAY)
    last_trading_day = pd.to_datetime(orders["order_ts"]).max().date()
    assert LAST_ORDER_DAY - last_trading_day < dt.timedelta(days=4)
    assert f"to {last_trading_day};" in failed.stdout

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
