"""The `recsys` command line: generate, import-orders (with clear errors), materialize."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from recsys_assets.cli.main import main
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.settings import local_source_url

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def write_orders_csv(path, **overrides):
    frame = pd.DataFrame(
        {
            "order_id": ["A1", "A1", "A2"],
            "line_no": [1, 2, 1],
            "order_ts": ["2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z", "2026-03-02 11:30:00"],
            "customer_id": ["0042", "0042", "0077"],
            "product_id": ["X1", "X2", "X1"],
            "quantity": [2, 1, 5],
            "unit_price": [3.5, 10.0, 3.5],
            "currency": ["EUR"] * 3,
            "order_status": ["completed"] * 3,
        }
    )
    for column, value in overrides.items():
        if value is None:
            frame = frame.drop(columns=column)
        else:
            frame[column] = value
    frame.to_csv(path, index=False)
    return path


def test_import_orders_csv_and_derive_master_data(recsys_home, tmp_path, capsys):
    assert main(["import-orders", str(write_orders_csv(tmp_path / "orders.csv"))]) == 0
    database = SourceDatabase(local_source_url())
    orders = database.read_orders(pd.Timestamp("2026-03-01"), pd.Timestamp("2026-03-03"))
    assert len(orders) == 3
    assert orders["customer_id"].tolist()[0] == "0042"  # leading zeros survive
    assert set(database.read_master("products")["product_id"]) == {"X1", "X2"}
    assert "imported into" in capsys.readouterr().out


def test_import_parquet_with_master_files(recsys_home, tmp_path):
    orders = pd.read_csv(write_orders_csv(tmp_path / "o.csv"), dtype=str)
    orders.to_parquet(tmp_path / "orders.parquet")
    pd.DataFrame(
        {
            "product_id": ["X1", "X2"],
            "name": ["a", "b"],
            "category": ["c", "c"],
            "brand": ["b", "b"],
            "active": ["true", "false"],
        }
    ).to_csv(tmp_path / "products.csv", index=False)
    assert main(["import-orders", str(tmp_path / "orders.parquet"), "--products", str(tmp_path / "products.csv")]) == 0
    products = SourceDatabase(local_source_url()).read_master("products")
    assert products.set_index("product_id")["active"].to_dict() == {"X1": True, "X2": False}


def test_import_missing_column_names_column_and_file(recsys_home, tmp_path, capsys):
    path = write_orders_csv(tmp_path / "orders.csv", unit_price=None)
    assert main(["import-orders", str(path)]) == 2
    error = capsys.readouterr().err
    assert "unit_price" in error and str(path) in error


def test_import_mistyped_column_names_column_and_file(recsys_home, tmp_path, capsys):
    path = write_orders_csv(tmp_path / "orders.csv", quantity=["2", "lots", "1"])
    assert main(["import-orders", str(path)]) == 2
    error = capsys.readouterr().err
    assert "'quantity'" in error and "lots" in error and str(path) in error


def test_import_unsupported_file_type(recsys_home, tmp_path, capsys):
    (tmp_path / "orders.xlsx").write_text("x")
    assert main(["import-orders", str(tmp_path / "orders.xlsx")]) == 2
    assert "unsupported file type" in capsys.readouterr().err


def test_console_script_generate_and_materialize(recsys_home, tmp_path):
    """The installed `recsys` entry point end to end, in a subprocess like a user runs it."""
    recsys = Path(sys.executable).parent / "recsys"
    generate = [
        str(recsys),
        "generate",
        # large enough for ALS to beat popularity: the model gate refuses to publish a model that does not
        "--customers",
        "800",
        "--products",
        "800",
        "--days",
        "30",
        "--lines-per-day",
        "600",
        "--seed",
        "3",
        "--end-date",
        "2026-06-30",
    ]
    subprocess.run(generate, check=True, capture_output=True, text=True)
    result = subprocess.run([str(recsys), "materialize"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "partitions 2026-06-01 to 2026-06-30; success" in result.stdout
    assert "map@10" in result.stdout


def test_materialize_without_source_fails_clearly(recsys_home, capsys):
    assert main(["materialize"]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("deployment", ["staging"])
def test_unknown_deployment_is_rejected(recsys_home, monkeypatch, deployment, capsys):
    monkeypatch.setenv("RECSYS_DEPLOYMENT", deployment)
    assert main(["materialize"]) == 2
    assert "RECSYS_DEPLOYMENT must be one of" in capsys.readouterr().err


def test_materialize_reports_each_step_as_it_ends(recsys_home, capsys):
    from recsys_assets.core.data.generator import GeneratorConfig, generate
    from tests.support.data import write_source

    write_source(generate(GeneratorConfig(customers=300, products=300, days=14, lines_per_day=200, seed=2)))
    assert main(["materialize"]) == 0
    lines = capsys.readouterr().out.splitlines()
    steps = [line.split()[0] for line in lines if line.strip().endswith("rows") or line.rstrip().endswith(" s")]
    # the master data first (raw_orders_suite checks the orders' ids against them), then the orders, then the rest
    assert steps.index("customers") < steps.index("raw_orders") < steps.index("interactions")
    assert steps.index("products") < steps.index("raw_orders") and "published_recommendations" in steps
    # model selection's steps, one per candidate (als_model is a graph asset)
    assert "als_model.select_and_refit" in steps and "als_model.fit_candidates[popularity]" in steps
    [raw] = [line for line in lines if line.split() and line.split()[0] == "raw_orders"]
    assert raw.rstrip().endswith("rows")


def test_generate_streams_the_order_lines_with_a_progress_line_per_chunk(recsys_home, monkeypatch, capsys):
    from recsys_assets.core.data import generator

    monkeypatch.setattr(generator, "CHUNK_ORDERS", 200)  # 500 orders: three chunks
    scale = ["--customers", "200", "--products", "300", "--days", "10", "--lines-per-day", "200"]
    assert main(["generate", *scale, "--seed", "4", "--end-date", "2026-06-30", "--bad-data-rate", "0.01"]) == 0
    out = capsys.readouterr().out
    progress = [line.split() for line in out.splitlines() if line.lstrip().startswith("chunk ")]
    assert [words[1] for words in progress] == ["1/3:", "2/3:", "3/3:"]
    expected = generator.generate(
        generator.GeneratorConfig(
            customers=200, products=300, days=10, lines_per_day=200, seed=4, end_date=dt.date(2026, 6, 30),
            bad_data_rate=0.01,
        ),
        chunk_orders=200,
    )  # fmt: skip
    assert int(progress[-1][2]) == len(expected.orders) == SourceDatabase(local_source_url()).count_rows("orders")
    assert f"wrote {len(expected.orders)} order lines" in out
    assert "repeat buying" not in out  # the demo's generator has no product kinds


def test_a_realistic_history_says_what_its_repeat_buying_is(recsys_home, capsys):
    from recsys_assets.core.data.generator import GeneratorConfig, generate

    scale = ["--customers", "100", "--days", "60", "--lines-per-day", "10"]
    assert main(["generate", "--realistic", *scale, "--seed", "2", "--end-date", "2026-06-30"]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if "repeat buying" in line]
    config = GeneratorConfig.realistic(customers=100, days=60, lines_per_day=10, seed=2, end_date=dt.date(2026, 6, 30))
    kinds = generate(config).product_kinds["kind"].value_counts()
    assert f"{kinds['consumable']} consumables" in line and f"{kinds['project']} project products" in line


def test_replacing_the_orders_forgets_the_days_read_from_the_old_ones(recsys_home, capsys):
    """A demo's newest days must not pass for the newest orders of the export imported after it."""
    from dagster import AssetKey, DagsterInstance

    scale = ["--customers", "300", "--products", "300", "--days", "14", "--lines-per-day", "200"]
    assert main(["generate", *scale, "--seed", "2", "--end-date", "2026-06-30"]) == 0
    assert main(["materialize"]) == 0
    capsys.readouterr()
    assert main(["generate", *scale, "--seed", "5", "--end-date", "2026-06-20"]) == 0
    assert "forgot the 14 raw_orders partitions read from the previous orders" in capsys.readouterr().out
    instance = DagsterInstance.get()
    assert not instance.get_materialized_partitions(AssetKey("raw_orders"))
    main(["materialize"])  # the gate may keep the first shop's model: only the window matters here
    assert max(instance.get_materialized_partitions(AssetKey("raw_orders"))) == "2026-06-20"
    event = instance.get_latest_materialization_event(AssetKey("interactions"))
    metadata = event.asset_materialization.metadata
    assert metadata["window_end"].value == "2026-06-20"
    assert metadata["input_rows"].value == SourceDatabase(local_source_url()).count_rows("orders")


def test_an_imported_shop_gets_recommendations_though_the_demo_model_is_live(recsys_home, tmp_path, capsys):
    """`make demo`, then the shop's own export, on which no model beats popularity: the demo's model learned from
    another order history, so it is no champion to keep, and the shop's popularity lists are published."""
    from recsys_assets.core.stores.store import LocalRecommendationStore
    from tests.support.random_purchases import random_purchases

    scale = ["--customers", "800", "--products", "800", "--days", "30", "--lines-per-day", "600"]
    assert main(["generate", *scale, "--seed", "3", "--end-date", "2026-06-30"]) == 0
    assert main(["materialize"]) == 0
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    demo_version = store.live_version()
    assert store.versions()[0].metadata["published_model"] != "popularity"  # the demo's model is live

    shop = random_purchases(end_date=dt.date(2026, 6, 20))  # structureless: popularity wins
    for table in ("orders", "products", "customers"):
        getattr(shop, table).to_parquet(tmp_path / f"{table}.parquet")
    files = ["--products", str(tmp_path / "products.parquet"), "--customers", str(tmp_path / "customers.parquet")]
    assert main(["import-orders", str(tmp_path / "orders.parquet"), *files]) == 0
    single_als = tmp_path / "single_als.yaml"
    single_als.write_text("ops: {als_model: {config: {select_model: false}}}\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["materialize", "--config", str(single_als)]) == 0, capsys.readouterr().out
    live = next(v for v in store.versions() if v.version == store.live_version())
    assert live.version != demo_version and live.metadata["published_model"] == "popularity"
    gate = latest_gate_note()
    assert f"the live version {demo_version}" in gate and "another order history" in gate


def latest_gate_note() -> str:
    """Why the latest model_gate had (or had not) a champion to compare with."""
    from dagster import AssetCheckKey, AssetKey, DagsterInstance

    key = AssetCheckKey(AssetKey("recommendations"), "model_gate")
    record = DagsterInstance.get().event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    return str(record.event.dagster_event.event_specific_data.metadata["champion_note"].value)


def test_materialize_reads_a_source_with_german_column_names_through_the_run_config(recsys_home, tmp_path, capsys):
    """`recsys materialize --config`: the source resource's table names and column mappings, no view needed."""
    import sqlalchemy as sa
    import yaml

    from recsys_assets.core.data.generator import GeneratorConfig, generate
    from recsys_assets.core.stores.source_db import create_sqlite_url
    from tests.dagster.test_source_column_mapping import ARTIKEL, GERMAN, german_source

    data = generate(
        GeneratorConfig(customers=300, products=200, days=14, lines_per_day=150, seed=6, end_date=dt.date(2026, 6, 30))
    )
    url = create_sqlite_url(tmp_path / "erp.db")
    german_source(sa.create_engine(url), data)
    settings = {"url": url, "orders_table": "Auftragspositionen", "products_table": "Artikel"}
    config = {"resources": {"source": {"config": {**settings, "orders_columns": GERMAN, "products_columns": ARTIKEL}}}}
    path = tmp_path / "erp.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    assert main(["materialize", "--config", str(path)]) == 0, capsys.readouterr()
    assert "partitions 2026-06-17 to 2026-06-30; success" in capsys.readouterr().out
