"""The per-partition frame cache of the drift monitor: which days to read, versions, damage, bounds."""

import logging
import pickle

import pandas as pd

from recsys_assets.core.stores.partition_cache import PartitionFrameCache, contiguous_spans, days_of


def test_missing_days_are_read_in_runs_of_consecutive_days():
    assert contiguous_spans([]) == []
    assert contiguous_spans(["2026-06-05", "2026-06-01", "2026-06-02"]) == [
        ("2026-06-01", "2026-06-02"),
        ("2026-06-05", "2026-06-05"),
    ]
    assert contiguous_spans(["2026-02-28", "2026-03-01", "2026-03-01"]) == [("2026-02-28", "2026-03-01")]
    assert days_of(("2026-02-27", "2026-03-01")) == ["2026-02-27", "2026-02-28", "2026-03-01"]


def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"order_id": [f"O{i}" for i in range(n)], "quantity": [1.0] * n})


def test_a_new_version_of_a_partition_misses_and_replaces_the_old_one(tmp_path):
    cache = PartitionFrameCache(tmp_path)
    assert cache.load("2026-06-01", "7-100") is None
    cache.save("2026-06-01", "7-100", frame(3))
    pd.testing.assert_frame_equal(cache.load("2026-06-01", "7-100"), frame(3))
    assert cache.load("2026-06-01", "9-200") is None  # re-materialized: read it again
    cache.save("2026-06-01", "9-200", frame(4))
    assert [name for _, name in cache.entries()] == ["2026-06-01.9-200.pkl"]


def test_an_unreadable_file_is_a_miss_with_a_warning(tmp_path, caplog):
    cache = PartitionFrameCache(tmp_path)
    cache.save("2026-06-01", "7-100", frame(3))
    (tmp_path / cache.name("2026-06-01", "7-100")).write_bytes(b"\x80\x05half a pickle")
    with caplog.at_level(logging.WARNING):
        assert cache.load("2026-06-01", "7-100") is None
    assert "unreadable" in caplog.text
    (tmp_path / cache.name("2026-06-01", "7-100")).write_bytes(pickle.dumps({"not": "a frame"}))
    assert cache.load("2026-06-01", "7-100") is None
    cache.save("2026-06-01", "7-100", frame(2))  # rebuilt in place
    assert len(cache.load("2026-06-01", "7-100")) == 2


def test_prune_keeps_the_window_and_newer_days_only(tmp_path):
    cache = PartitionFrameCache(tmp_path)
    for day in ("2026-05-30", "2026-05-31", "2026-06-01", "2026-06-02", "2026-06-03", "2026-06-04"):
        cache.save(day, "1-1", frame(1))
    # the window moved on to 06-01..06-03 (06-02 was re-materialized); 06-04 may already be another tick's
    removed = cache.prune({"2026-06-01": "1-1", "2026-06-02": "2-2", "2026-06-03": "1-1"})
    assert removed == 3
    assert [day for day, _ in cache.entries()] == ["2026-06-01", "2026-06-03", "2026-06-04"]
    assert cache.prune({}) == 0
