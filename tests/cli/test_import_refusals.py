"""`recsys import-orders` never misreads: each probe of a file the values cannot decide is refused naming the
column, the lines and the fix, and reads right once the fix is given; decided files still need no flag."""

import pandas as pd
import pytest

from recsys_assets.cli.main import main
from recsys_assets.core.stores.source_db import SourceDatabase
from recsys_assets.settings import local_source_url

HEADER = ["order_id", "line_no", "order_ts", "customer_id", "product_id", "quantity", "unit_price", "currency",
          "order_status"]  # fmt: skip


def write(path, rows, delimiter=",", encoding="utf-8"):
    text = "\n".join(delimiter.join(row) for row in [HEADER, *rows]) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


def line(order, when, price="3.50"):
    return [f"A{order}", "1", when, "0042", f"X{order % 3}", "2", price, "EUR", "completed"]


def stored_orders() -> pd.DataFrame:
    return SourceDatabase(local_source_url()).read_all("orders").sort_values("order_id", ignore_index=True)


def test_a_us_weekly_export_is_refused_until_the_date_order_is_said(recsys_home, tmp_path, capsys, monkeypatch):
    """01/05/2026 ... 01/11/2026: every date reads both ways (1 May or 5 January)."""
    path = write(tmp_path / "weekly.csv", [line(day, f"01/{day:02d}/2026 10:00") for day in range(5, 12)])
    assert main(["import-orders", str(path)]) == 2
    error = capsys.readouterr().err
    assert "column 'order_ts'" in error and "line 2: '01/05/2026 10:00' is 1 May or 5 January" in error
    assert "--dayfirst or --monthfirst" in error and "RECSYS_IMPORT_DATES" in error
    assert not (recsys_home / "source.db").exists() or SourceDatabase(local_source_url()).count_rows("orders") == 0

    assert main(["import-orders", str(path), "--monthfirst"]) == 0
    stamps = stored_orders()["order_ts"]
    assert stamps.min() == pd.Timestamp("2026-01-05 10:00") and stamps.max() == pd.Timestamp("2026-01-11 10:00")
    assert "month-first dates" in capsys.readouterr().out

    monkeypatch.setenv("RECSYS_IMPORT_DATES", "day-first")  # the setting says it for every import
    assert main(["import-orders", str(path)]) == 0
    assert stored_orders()["order_ts"].max() == pd.Timestamp("2026-11-01 10:00")


def test_a_file_whose_dates_decide_needs_no_flag(recsys_home, tmp_path):
    path = write(tmp_path / "us.csv", [line(1, "01/05/2026"), line(2, "01/13/2026")])
    assert main(["import-orders", str(path)]) == 0  # 01/13 can only be month-first
    assert stored_orders()["order_ts"].tolist() == [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-13")]


def test_a_price_column_with_two_decimal_conventions_is_refused_with_examples_of_each(recsys_home, tmp_path, capsys):
    """`12,50` (decimal comma) and `1.250` in one `;` column: a majority vote read 12,50 as 1250 and 1.250 as 1.25."""
    rows = [line(1, "02.03.2026", "12,50"), line(2, "13.03.2026", "1.250"), line(3, "14.03.2026", "3,99")]
    path = write(tmp_path / "prices.csv", rows, delimiter=";", encoding="latin-1")
    assert main(["import-orders", str(path)]) == 2
    error = capsys.readouterr().err
    assert "column 'unit_price'" in error and "line 3: '1.250'" in error and "line 2: '12,50'" in error
    assert "--decimal ','" in error and str(path) in error

    assert main(["import-orders", str(path), "--decimal", ","]) == 0  # said: '.' separates thousands
    assert stored_orders()["unit_price"].tolist() == [12.5, 1250.0, 3.99]


def test_one_odd_date_format_among_iso_dates_is_refused_naming_its_line(recsys_home, tmp_path, capsys):
    rows = [line(i, f"2026-03-{i:02d} 09:00:00") for i in range(1, 7)]
    rows[3] = line(4, "05.03.2026")  # was read as 3 May
    path = write(tmp_path / "iso.csv", rows)
    assert main(["import-orders", str(path)]) == 2
    error = capsys.readouterr().err
    assert "column 'order_ts' has dates in 2 formats" in error and "line 5: '05.03.2026'" in error
    assert "line 2" not in error.split("lines not written")[1]  # only the odd line is named


def test_a_placeholder_date_is_refused_or_quarantined_never_a_partition(recsys_home, tmp_path, capsys):
    rows = [line(i, f"2026-03-{i:02d}") for i in range(1, 10)]
    rows[6] = line(7, "1970-01-01")
    path = write(tmp_path / "placeholder.csv", rows)
    assert main(["import-orders", str(path)]) == 2
    error = capsys.readouterr().err
    assert "1 implausible date(s)" in error and "line 8: 1970-01-01" in error
    assert "--quarantine-implausible-dates" in error

    assert main(["import-orders", str(path), "--quarantine-implausible-dates"]) == 0
    out = capsys.readouterr().out
    assert "quarantined 1 line(s) with implausible dates (not imported): line 8: 1970-01-01" in out
    orders = stored_orders()
    assert len(orders) == 8 and orders["order_ts"].min() == pd.Timestamp("2026-03-01")


@pytest.mark.parametrize("when", ["1900-01-01", "2009-06-30"])
def test_dates_far_before_the_bulk_are_implausible_too(recsys_home, tmp_path, capsys, when):
    rows = [line(i, f"2026-03-{i:02d}") for i in range(1, 20)] + [line(20, when)]
    assert main(["import-orders", str(write(tmp_path / "old.csv", rows))]) == 2
    assert f"line 21: {when}" in capsys.readouterr().err
