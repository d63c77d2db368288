"""`recsys import-orders` reads exports with their ERP's own column names: recognised (English and German),
shown and confirmed (--yes, a terminal's question, or refused with the mapping and the flag), or stated in a
mapping file; line numbers, currency and status derived; names and regions taken from the order lines."""

import builtins

import pandas as pd

from recsys_assets.cli import data as data_commands
from recsys_assets.cli.main import main
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.settings import local_source_url

ENGLISH = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2025 8:26,2.55,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/2025 8:26,3.39,17850,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,12/13/2025 8:28,1.85,13047,France
C536379,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-1,12/14/2025 9:41,2.55,17850,United Kingdom
"""
GERMAN = """Belegnummer;Position;Belegdatum;Kundennummer;Artikelnummer;Menge;Einzelpreis
100017;1;02.03.2026;0042;K-200;10;1.234,50
100017;2;02.03.2026;0042;K-210;2,5;9,99
100018;1;17.03.2026;0077;K-200;1;1.234,50
"""


def stored(table: str) -> pd.DataFrame:
    return SourceDatabase(local_source_url()).read_all(table)


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_an_english_export_is_refused_without_a_terminal_printing_the_mapping_and_the_flag(
    recsys_home, tmp_path, capsys
):
    path = write(tmp_path / "online_retail.csv", ENGLISH)
    assert main(["import-orders", str(path)]) == 2
    error = capsys.readouterr().err
    assert "lacks the contract column(s) ['order_id', 'line_no'" in error
    for expected in ("order_id         <- column 'InvoiceNo'", "order_ts         <- column 'InvoiceDate'",
                     "product_id       <- column 'StockCode'", "customer_id      <- column 'CustomerID'",
                     "line_no          <- numbered 1, 2, ... within each order", "currency         <- EUR",
                     "order numbers starting with 'C' (credit notes)", "--yes", "--columns FILE",
                     "credit_note_prefix: C"):  # fmt: skip
        assert expected in error, expected
    assert SourceDatabase(local_source_url()).count_rows("orders") == 0  # nothing written


def test_an_english_export_imports_with_yes(recsys_home, tmp_path, capsys):
    path = write(tmp_path / "online_retail.csv", ENGLISH)
    assert main(["import-orders", str(path), "--yes", "--currency", "GBP"]) == 0
    out = capsys.readouterr().out
    assert "accepted (--yes)" in out and "month-first dates" in out
    orders = stored("orders").sort_values(["order_id", "line_no"], ignore_index=True)
    assert orders["order_id"].tolist() == ["536365", "536365", "536366", "C536379"]
    assert orders["line_no"].tolist() == [1, 2, 1, 1]
    assert set(orders["currency"]) == {"GBP"}
    assert orders["order_status"].tolist() == ["completed", "completed", "completed", "returned"]
    assert orders["quantity"].tolist() == [6, 6, 6, -1]
    assert orders["order_ts"].tolist()[2] == pd.Timestamp("2025-12-13 08:28")
    products = stored("products").set_index("product_id")["name"]
    assert products["85123A"] == "WHITE HANGING HEART T-LIGHT HOLDER" and products["22633"] == "HAND WARMER UNION JACK"
    regions = stored("customers").set_index("customer_id")["region"]
    assert regions.to_dict() == {"17850": "United Kingdom", "13047": "France"}


def test_a_credit_note_with_a_positive_quantity_becomes_a_return(recsys_home, tmp_path):
    path = write(tmp_path / "credit.csv", ENGLISH.replace("HOLDER,-1,", "HOLDER,1,"))
    assert main(["import-orders", str(path), "--yes"]) == 0
    credit = stored("orders").set_index("order_id").loc["C536379"]
    assert credit["quantity"] == -1 and credit["order_status"] == "returned" and credit["currency"] == "EUR"


def test_a_german_export_asks_on_a_terminal(recsys_home, tmp_path, capsys, monkeypatch):
    path = write(tmp_path / "belege.csv", GERMAN, encoding="latin-1")
    monkeypatch.setattr(data_commands, "interactive", lambda: True)
    monkeypatch.setattr(builtins, "input", lambda prompt: "n")
    assert main(["import-orders", str(path)]) == 2
    assert "order_id         <- column 'Belegnummer'" in capsys.readouterr().out

    monkeypatch.setattr(builtins, "input", lambda prompt: "ja")
    assert main(["import-orders", str(path)]) == 0
    out = capsys.readouterr().out
    assert "line_no          <- column 'Position'   (recognised)" in out and "pass --columns FILE" in out
    assert "decimal ','" in out and "day-first dates" in out
    orders = stored("orders").sort_values(["order_id", "line_no"], ignore_index=True)
    assert orders["unit_price"].tolist() == [1234.5, 9.99, 1234.5] and orders["quantity"].tolist() == [10, 2.5, 1]
    assert orders["customer_id"].tolist() == ["0042", "0042", "0077"]  # leading zeros survive
    assert orders["order_ts"].tolist()[2] == pd.Timestamp("2026-03-17")
    assert set(orders["order_status"]) == {"completed"} and set(orders["currency"]) == {"EUR"}


def test_a_mapping_file_needs_no_confirmation(recsys_home, tmp_path, capsys):
    path = write(tmp_path / "belege.csv", GERMAN.replace("Belegdatum", "Buchungstag"), encoding="latin-1")
    mapping = tmp_path / "columns.yaml"
    mapping.write_text(
        "columns:\n  order_id: Belegnummer\n  line_no: Position\n  order_ts: Buchungstag\n  customer_id: Kundennummer\n"
        "  product_id: Artikelnummer\n  quantity: Menge\n  unit_price: Einzelpreis\ncurrency: CHF\n",
        encoding="utf-8",
    )
    assert main(["import-orders", str(path), "--columns", str(mapping)]) == 0
    assert "columns mapped:" in capsys.readouterr().out  # stated, so shown once, in the summary
    assert set(stored("orders")["currency"]) == {"CHF"} and len(stored("orders")) == 3
    # inline pairs, with the rest recognised: the recognised part is confirmed
    assert main(["import-orders", str(path), "--columns", "order_ts=Buchungstag", "--yes"]) == 0
    assert "order_ts         <- column 'Buchungstag'\n" in capsys.readouterr().out + "\n"


def test_a_column_nothing_provides_is_named_with_how_to_map_it(recsys_home, tmp_path, capsys):
    path = write(tmp_path / "belege.csv", GERMAN.replace("Kundennummer", "Partner"), encoding="latin-1")
    assert main(["import-orders", str(path), "--yes"]) == 2
    error = capsys.readouterr().err
    assert "missing column(s) ['customer_id']" in error and "'Partner'" in error
    assert "customer_id: <your column>" in error
    bad = tmp_path / "wrong.yaml"
    bad.write_text("columns: {customer_id: Kunde}\n", encoding="utf-8")
    assert main(["import-orders", str(path), "--columns", str(bad)]) == 2
    assert "{'customer_id': 'Kunde'}" in capsys.readouterr().err
