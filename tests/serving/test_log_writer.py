"""The serving log writer drops and counts entries when the disk cannot keep up."""

from __future__ import annotations

from recsys_assets.core.stores.serving_log import read_entries
from recsys_assets.serving.log_writer import ServingLogWriter


def test_log_writer_drops_and_counts_when_full(tmp_path):
    writer = ServingLogWriter(tmp_path, max_pending=2)
    entry = {"ts": "2026-06-30T10:00:00+00:00", "customer_id": "A", "model_version": "m", "items": ["p"],
             "cold_start": False, "target": "local"}  # fmt: skip
    for _ in range(3):
        writer.submit(entry)
    writer.close()
    assert writer.stats()["written"] == 2 and writer.stats()["dropped"] == 1
    assert len(read_entries(tmp_path)) == 2


def test_synthetic_traffic_is_logged_apart(tmp_path):
    from recsys_assets.core.stores.serving_log import synthetic_dir

    writer = ServingLogWriter(tmp_path)
    writer.record("A", "m", ["p"], False, "local", 1_782_000_000.0, "m-v", "model", "model", None)
    writer.record("B", "m", ["p"], False, "local", 1_782_000_001.0, "m-v", "control", "control", "shop")
    writer.record("C", "m", ["p"], False, "local", 1_782_000_002.0, "m-v", "model", "model", "load-test")
    writer.close()
    assert writer.stats()["written"] == 2 and writer.stats()["synthetic_written"] == 1
    assert read_entries(tmp_path)["customer_id"].tolist() == ["A", "B"]
    synthetic = read_entries(synthetic_dir(tmp_path), traffic=None)
    assert synthetic[["customer_id", "traffic"]].values.tolist() == [["C", "load-test"]]


def test_timestamps_with_and_without_fractions_read_alike(tmp_path):
    from recsys_assets.core.stores.serving_log import append_entries

    entry = {"customer_id": "A", "model_version": "m", "items": ["p"], "cold_start": False, "target": "local"}
    append_entries(
        tmp_path, [{**entry, "ts": "2026-06-30T05:00:00+00:00"}, {**entry, "ts": "2026-06-30T05:00:01.25+00:00"}]
    )
    assert read_entries(tmp_path)["ts"].dt.microsecond.tolist() == [0, 250_000]
