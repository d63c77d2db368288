"""The retraining policy: new raw_orders data retrains exactly once, backfills included."""

import datetime as dt

from recsys_assets.core.lifecycle.retrain_policy import NewData, decide_retrain

UTC = dt.UTC


def data(storage_id, run_id="r1", partition="2026-06-01", ts=100.0):
    return NewData(storage_id, run_id, partition, ts)


def test_policy_waits_for_an_unfinished_backfill_then_requests_once():
    backfill = [data(i, "backfill", f"2026-06-{i:02d}") for i in range(1, 11)]
    waiting = decide_retrain(backfill[:4], finished_runs=[], cursor=None, consumed_at=None, busy_run=None)
    assert waiting.action == "wait" and waiting.cursor is None and "backfill" in waiting.reason
    done = decide_retrain(backfill, finished_runs=["backfill"], cursor=None, consumed_at=None, busy_run=None)
    assert done.action == "request" and done.cursor == 10 and done.run_key == "raw_orders@10"
    assert done.partitions[0] == "2026-06-01" and len(done.partitions) == 10


def test_policy_stops_at_the_first_unfinished_run():
    records = [data(1, "a"), data(2, "b"), data(3, "a")]
    decision = decide_retrain(records, finished_runs=["a"], cursor=None, consumed_at=None, busy_run=None)
    assert decision.action == "request" and decision.cursor == 1


def test_policy_waits_while_a_retraining_runs_and_skips_consumed_data():
    records = [data(5, ts=100.0)]
    busy = decide_retrain(records, ["r1"], cursor=4, consumed_at=None, busy_run="retrain-1")
    assert busy.action == "wait" and busy.cursor == 4 and "retrain-1" in busy.reason
    consumed = decide_retrain(records, ["r1"], cursor=4, consumed_at=101.0, busy_run=None)
    assert consumed.action == "skip" and consumed.cursor == 5
    stale = decide_retrain(records, ["r1"], cursor=4, consumed_at=99.0, busy_run=None)
    assert stale.action == "request"
    # a run that wrote raw_orders and then rebuilt interactions consumed its own data
    own = decide_retrain(records, ["r1"], cursor=4, consumed_at=90.0, busy_run=None, consumer_run="r1")
    assert own.action == "skip"
    assert decide_retrain([], [], cursor=7, consumed_at=None, busy_run=None).action == "idle"


# --- the sensor against a real instance --------------------------------------------------------------------
