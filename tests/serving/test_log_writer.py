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
