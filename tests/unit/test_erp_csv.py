"""ERP-style CSV files: detected dialects, normalised numbers and dates, errors that name line and column, and an
import that replaces the tables in one transaction or not at all."""

import pandas as pd
import pytest

from recsys_assets.core.data.schema import SchemaError
from recsys_assets.core.stores.erp_csv import CsvDialect, decide_dayfirst, normalise_numbers, read_erp_csv
from recsys_assets.core.stores.importer import import_files
from recsys_assets.core.stores.source_db import open_for_writing

HEADER = "order_id;line_no;order_ts;customer_id;product_id;quantity;unit_price;currency;order_status"
LINES = [
    "A1;1;31.01.2025 08:15;0042;X1;2,5;1.234,50;EUR;completed",
    "A1;2;31.01.2025 08:15;0042;X2;1;9,99;EUR;completed",
    "R7;1;03.02.2025;0042;X1;1,00-;1.234,50;EUR;completed",
]


def write(path, lines, encoding="latin-1", bom=False):
    text = "\n".join([HEADER, *lines]) + "\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


def test_semicolons_decimal_commas_day_first_dates_and_trailing_minus(tmp_path):
    frame, dialect = read_erp_csv(write(tmp_path / "o.csv", LINES), CsvDialect())
    assert (dialect.delimiter, dialect.decimal, dialect.dayfirst) == (";", ",", True)
    assert frame["quantity"].tolist() == ["2.5", "1", "-1.00"]
    assert frame["unit_price"].tolist() == ["1234.50", "9.99", "1234.50"]
    assert pd.Timestamp(frame["order_ts"][0]) == pd.Timestamp("2025-01-31 08:15")
    assert pd.Timestamp(frame["order_ts"][2]) == pd.Timestamp("2025-02-03")


@pytest.mark.parametrize(("encoding", "bom", "expected"), [("latin-1", False, "cp1252"), ("utf-8", True, "utf-8-sig")])
def test_encodings_are_detected(tmp_path, encoding, bom, expected):
    path = tmp_path / "customers.csv"
    path.write_bytes(
        (b"\xef\xbb\xbf" if bom else b"") + "customer_id;name;segment;region\n0042;Müller;a;Köln\n".encode(encoding)
    )
    frame, dialect = read_erp_csv(path, CsvDialect())
    assert dialect.encoding == expected and frame["name"][0] == "Müller" and list(frame.columns)[0] == "customer_id"


def dayfirst(values, given=None):
    return decide_dayfirst(pd.Series(values), "order_ts", given, 2)


def test_date_order_is_decided_by_the_values_or_refused():
    assert dayfirst(["2025-01-31 08:00", "2025-02-01"]) is None
    assert dayfirst(["01/02/2025", "13/02/2025"]) is True
    assert dayfirst(["02/13/2025", "02/01/2025"]) is False
    assert dayfirst(["01.01.2025", "02.02.2025"]) is True  # the same date either way
    with pytest.raises(SchemaError, match=r"line 2: '01\.02\.2025' is 1 February or 2 January.*--dayfirst"):
        dayfirst(["01.02.2025"])  # no European default: refused unless said
    assert dayfirst(["01.02.2025"], given=False) is False
    with pytest.raises(SchemaError, match=r"day-first dates \(line 2: '13/02/2025'\) and month-first.*line 3"):
        dayfirst(["13/02/2025", "02/13/2025"])
    with pytest.raises(SchemaError, match=r"--monthfirst was given.*only be day-first.*line 2: '13/02/2025'"):
        dayfirst(["13/02/2025"], given=False)
    assert normalise_numbers(pd.Series(["1,234.5", "7-"]), ".").tolist() == ["1234.5", "-7"]


def test_numbers_are_read_only_where_the_decimal_mark_is_certain(tmp_path):
    def read(prices, decimal=None):
        lines = [f"A{i};1;31.01.2025;0042;X1;1;{price};EUR;completed" for i, price in enumerate(prices)]
        frame, _ = read_erp_csv(write(tmp_path / "n.csv", lines), CsvDialect(decimal=decimal))
        return frame["unit_price"].tolist()

    assert read(["1.234,50", "12,5", "1,250"]) == ["1234.50", "12.5", "1.250"]  # 1,250 with a decimal comma: 1.25
    assert read(["1,234.50", "1.250"]) == ["1234.50", "1.250"]  # a decimal point: 1.250 is 1.25
    assert read(["1.234.567", "3"]) == ["1234567", "3"]  # repeated groups: thousands points
    assert read(["12,50", "1.250"], decimal=",") == ["12.50", "1250"]  # said: '.' separates thousands
    with pytest.raises(SchemaError, match=r"column 'unit_price' has numbers such as line 3: '1\.250'.*line 2: '12,50'"):
        read(["12,50", "1.250"])
    with pytest.raises(SchemaError, match=r"nothing in the file shows.*--decimal"):
        read(["1.250", "2.500"])
    with pytest.raises(SchemaError, match=r"mixes two decimal conventions: decimal comma \(line 3: '3,25'\).*line 2"):
        read(["12.5", "3,25"])
    with pytest.raises(SchemaError, match=r"--decimal '\.' was given.*line 2: '12,5'"):
        read(["12,5"], decimal=".")
    with pytest.raises(SchemaError, match=r"no number with either decimal mark: line 2: '1\.2\.3'"):
        read(["1.2.3"])


def test_bad_values_are_named_by_line_and_column(tmp_path):
    path = write(tmp_path / "o.csv", [*LINES, "A2;1;04.02.2025;0042;X1;viele;1,00;EUR;completed"])
    with pytest.raises(SchemaError, match=r"column 'quantity' must hold a number.*line 5: 'viele'"):
        import_files(open_for_writing(f"sqlite:///{tmp_path / 's.db'}"), path)


def test_import_replaces_all_tables_in_one_step_and_refuses_an_empty_orders_file(tmp_path):
    database = open_for_writing(f"sqlite:///{tmp_path / 's.db'}")
    summary = import_files(database, write(tmp_path / "o.csv", LINES))
    assert summary.written["orders"] == 3 and summary.replaced_lines == 0
    assert database.read_all("orders")["customer_id"].tolist()[0] == "0042"  # leading zeros survive
    # a bad master file stops the import before anything is written
    bad_customers = tmp_path / "c.csv"
    bad_customers.write_text("customer_id;name\n1;x\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="missing column"):
        import_files(database, write(tmp_path / "o2.csv", LINES[:1]), customers_path=bad_customers)
    assert database.count_rows("orders") == 3
    with pytest.raises(SchemaError, match="replace the 3 order lines in the database with nothing.*--allow-empty"):
        import_files(database, write(tmp_path / "empty.csv", []))
    assert database.count_rows("orders") == 3
    again = import_files(database, write(tmp_path / "o3.csv", LINES[:2]))
    assert again.replaced_lines == 3 and database.count_rows("orders") == 2
    assert "replacing 3 existing line(s)" in again.lines()[0]
    assert import_files(database, write(tmp_path / "e.csv", []), allow_empty=True).written["orders"] == 0
