"""What waits to be folded in: the source's lines newer than each customer's newest folded line, per live version."""

import pandas as pd

from recsys_assets.core.stores.fold_in_log import append_fold_in, pending, read_fold_ins

NOW = pd.Timestamp("2026-12-07 12:00")


def lines(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "order_ts"]).assign(order_ts=lambda f: pd.to_datetime(f.order_ts))


def entry(version: str, ts: str, **customers) -> dict:
    return {"ts": ts, "path": "api", "target": "local", "store_version": version, "customers": customers}


def test_a_line_counts_as_folded_only_up_to_its_customers_newest_folded_line(tmp_path):
    append_fold_in(tmp_path, entry("V2", "2026-12-07T11:40:00", A="2026-12-07 11:30", B="2026-12-07 11:00"))
    append_fold_in(tmp_path, entry("V1", "2026-12-07T11:50:00", C="2026-12-07 11:45"))  # another version
    with (tmp_path / "fold_ins" / "2026-12-07.jsonl").open("a") as day:
        day.write('{"ts": "cut short')  # a killed writer
    source = lines(
        ("A", "2026-12-07 11:30"), ("B", "2026-12-07 11:20"), ("C", "2026-12-07 11:45"), ("A", "2026-12-07 11:55")
    )  # fmt: skip
    status = pending(source, read_fold_ins(tmp_path), "V2", NOW)
    # A's 11:30 line is folded, its 11:55 one is not; B's 11:20 line came after B's last fold; C was folded into V1
    assert (status.lines, status.customers, status.folded_customers) == (3, 3, 2)
    assert status.oldest_seconds == 40 * 60 and status.last_fold_at == "2026-12-07T11:40:00"


def test_nothing_waits_without_new_lines_or_when_every_line_is_folded(tmp_path):
    assert pending(lines(), [], "V1", NOW).as_dict()["oldest_pending_seconds"] == 0.0
    append_fold_in(tmp_path, entry("V1", "2026-12-07T11:00:00", A="2026-12-07 10:59"))
    status = pending(lines(("A", "2026-12-07 10:59")), read_fold_ins(tmp_path), "V1", NOW)
    assert (status.lines, status.oldest_seconds, status.folded_customers) == (0, 0.0, 1)
