"""A shop that re-exports its whole order history every night keeps champion/challenger; another shop's export
does not inherit the champion. Through the CLI, as the user runs it: `import-orders` of the full export (no
--append: the orders are replaced every time), `materialize`, and the model gate's verdict read back."""

import math

import pandas as pd
import pytest

from recsys_assets.cli.main import main
from recsys_assets.core.stores.store import LocalRecommendationStore

pytestmark = pytest.mark.slow

SHOP = ["--realistic", "--customers", "400", "--products", "300", "--days", "90", "--lines-per-day", "30"]
END = "2026-06-30"


def export_shop(tmp_path, name: str, seed: int) -> dict:
    """A generated shop written to its own database and exported as an ERP would (semicolons, decimal commas,
    latin-1), with ISO dates so that no day/month question arises."""
    url = f"sqlite:///{tmp_path / f'{name}.sqlite'}"
    assert main(["generate", *SHOP, "--seed", str(seed), "--end-date", END, "--url", url]) == 0
    folder = tmp_path / name
    assert main(["export-orders", str(folder), "--url", url, "--date-format", "%Y-%m-%d %H:%M:%S"]) == 0
    return {table: folder / f"{table}.csv" for table in ("orders", "products", "customers")}


def without_last_day(orders_csv, path):
    """Last night's full export: the same file without the newest day's lines (kept as text, byte for byte)."""
    lines = pd.read_csv(orders_csv, sep=";", dtype=str, encoding="latin-1", keep_default_na=False)
    last_day = lines["order_ts"].str[:10].max()
    lines[lines["order_ts"].str[:10] < last_day].to_csv(path, sep=";", index=False, encoding="latin-1")
    return path, last_day


def import_export(orders, files) -> None:
    masters = ["--products", str(files["products"]), "--customers", str(files["customers"])]
    assert main(["import-orders", str(orders), *masters]) == 0  # no --append: the whole history replaced


def latest_gate() -> dict:
    """The metadata of the latest model_gate evaluation."""
    from dagster import AssetCheckKey, AssetKey, DagsterInstance

    key = AssetCheckKey(AssetKey("recommendations"), "model_gate")
    record = DagsterInstance.get().event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    metadata = record.event.dagster_event.event_specific_data.metadata
    return {name: value.value for name, value in metadata.items()}


def live_info(store):
    return next(v for v in store.versions() if v.version == store.live_version())


def test_a_nightly_full_reexport_keeps_the_champion_and_another_shops_export_does_not(recsys_home, tmp_path, capsys):
    store = LocalRecommendationStore(recsys_home / "store.sqlite")
    shop = export_shop(tmp_path, "shop", seed=5)

    # last night: the whole history up to the day before
    yesterday, _ = without_last_day(shop["orders"], tmp_path / "yesterday.csv")
    import_export(yesterday, shop)
    assert main(["materialize"]) == 0, capsys.readouterr().out
    champion = live_info(store)
    first_gate = latest_gate()
    assert first_gate["champion_version"] == "none"  # nothing was live before

    # tonight: the whole history again, one day longer; the orders are replaced, the history is the same
    import_export(shop["orders"], shop)
    capsys.readouterr()
    main(["materialize"])  # the candidate may pass or be refused: either way it was judged against the champion
    gate = latest_gate()
    assert gate["champion_version"] == champion.metadata["model_version"], gate["champion_note"]
    assert not math.isnan(gate["champion_map@10"]), gate["champion_note"]
    assert "200 of 200 order lines" in gate["champion_history"]
    assert "another order history" not in gate["champion_note"]
    tonight = store.live_version()  # the champion, or a candidate that kept up with it

    # another shop's export, generated alike (the same id formats, the same days): no champion to keep up with
    other = export_shop(tmp_path, "other", seed=6)
    import_export(other["orders"], other)
    capsys.readouterr()
    assert main(["materialize"]) == 0, capsys.readouterr().out
    gate = latest_gate()
    assert gate["champion_version"] == "none" and math.isnan(gate["champion_map@10"])
    assert f"the live version {tonight} learned from another order history" in gate["champion_note"]
    assert "of 200 order lines sampled" in gate["champion_history"]
    assert gate["verdict"] == "accepted" and store.live_version() != tonight  # the new shop's lists are live
