"""`recsys generate --realistic` writes plausible rule tables; `recsys import-rules` loads them from ERP-style CSV."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from recsys_assets.cli.main import main
from recsys_assets.core.rules.rule_rows import rule_rows
from recsys_assets.core.stores.rule_tables import read_rule_tables
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.settings import local_source_url


def test_realistic_generation_writes_rule_data_and_csv_files_replace_it(recsys_home, tmp_path, capsys):
    end = dt.date(2026, 6, 30)
    scale = ["--customers", "300", "--products", "400", "--days", "40", "--lines-per-day", "60"]
    assert main(["generate", "--realistic", *scale, "--seed", "3", "--end-date", end.isoformat()]) == 0
    assert "business rules' tables" in capsys.readouterr().out
    database = SourceDatabase(local_source_url())
    tables = read_rule_tables(database)
    products, customers = database.read_master("products"), database.read_master("customers")
    assert len(tables.stock) == len(products)
    assert 0.01 < (tables.stock["available"] <= 0).mean() < 0.15  # a few percent out of stock on the day
    assert tables.assortments["segment"].nunique() == 2 and tables.assortments["customer_id"].isna().all()
    assert set(tables.blocked_products["product_id"]) <= set(products["product_id"])
    campaign = tables.campaigns
    assert campaign["campaign_id"].nunique() == 1 and (campaign["start_date"] <= pd.Timestamp(end)).all()
    assert (campaign["end_date"] >= pd.Timestamp(end)).all() and campaign["share"].between(0, 1).all()
    assert set(rule_rows(tables)["segment"].dropna()) <= set(customers["segment"])

    stock = tmp_path / "bestand.csv"  # as an ERP exports it: semicolons, decimal commas, latin-1, day-first dates
    stock.write_bytes(b"product_id;available\nP000001;12,5\nP000002;0\n")
    campaigns = tmp_path / "aktionen.csv"
    campaigns.write_bytes(
        "campaign_id;product_id;segment;start_date;end_date;share\nFrühjahr;P000003;;25.06.2026;14.07.2026;0,2\n"
        .encode("latin-1")
    )  # fmt: skip
    assert main(["import-rules", "--stock", str(stock), "--campaigns", str(campaigns)]) == 0
    assert "stock: 2 rows" in capsys.readouterr().out
    tables = read_rule_tables(database)
    assert tables.stock["available"].tolist() == [12.5, 0.0]
    row = tables.campaigns.iloc[0]
    assert (row["campaign_id"], row["start_date"], row["share"]) == ("Frühjahr", pd.Timestamp("2026-06-25"), 0.2)
    assert pd.isna(row["segment"]) and len(tables.blocked_products) > 0  # tables not named are kept

    bad = tmp_path / "bad.csv"
    bad.write_text("product_id;available\nP000001;viele\n")
    assert main(["import-rules", "--stock", str(bad)]) == 2
    assert "column 'available' must hold a number" in capsys.readouterr().err
    assert read_rule_tables(database).stock["available"].tolist() == [12.5, 0.0]  # nothing written

    # the shop's own rules (imported) survive an import of its orders; the generator's would not
    database_rules = read_rule_tables(database).rows()
    orders = tmp_path / "orders.csv"
    database.read_all("orders").head(50).to_csv(orders, index=False)
    assert main(["import-orders", str(orders), "--yes"]) == 0
    assert read_rule_tables(database).rows() == database_rules
    # another generated shop has none of these products' rules
    assert main(["generate", *scale, "--seed", "4", "--end-date", end.isoformat()]) == 0
    assert "dropped the previous shop's business rules' tables" in capsys.readouterr().out
    assert read_rule_tables(database).applied() == ()


def test_importing_a_shops_own_orders_forgets_the_practice_shops_rules(recsys_home, tmp_path, capsys):
    scale = ["--customers", "100", "--products", "150", "--days", "20", "--lines-per-day", "30"]
    assert main(["generate", "--realistic", *scale, "--seed", "5", "--end-date", "2026-06-30"]) == 0
    database = SourceDatabase(local_source_url())
    assert read_rule_tables(database).applied()  # the generated shop's rules
    orders = tmp_path / "orders.csv"
    database.read_all("orders").to_csv(orders, index=False)
    capsys.readouterr()
    assert main(["import-orders", str(orders), "--yes"]) == 0
    assert "dropped the generated shop's business rules' tables" in capsys.readouterr().out
    assert read_rule_tables(database).applied() == ()
