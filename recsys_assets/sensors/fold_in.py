"""`fold_in_orders_sensor`: order lines that reach the source database between nightly runs start a fold-in run.

Every 30 seconds (a line waits for the next tick, then for a run to start: half a minute keeps order -> list under a
minute) it reads the lines dated from a little before the newest line it saw (`LATE_LINE_GRACE`: a line
written a few minutes after its timestamp is not missed) and asks for a fold-in of the customers of the lines it had
not seen. When the served store's live version changes (a nightly publish), it first asks for a replay: every line
newer than the new version's training data folded into it (core/lifecycle/order_fold_in.py).
"""

import json

import pandas as pd
from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from ..jobs import fold_in_job
from ..resources.source import SourceDatabaseResource
from ..resources.stores import StoreResource
from ..tags import REASON_TAG, TRIGGER_TAG

TICK_SECONDS = 30
LATE_LINE_GRACE = pd.Timedelta(minutes=5)
MAX_CUSTOMERS_PER_RUN = 5_000


def _config(customers: list[str] | None = None, replay: bool = False) -> dict:
    return {"ops": {"fold_in_orders": {"config": {"customers": customers or [], "replay": replay}}}}


def _keys(lines: pd.DataFrame) -> list[str]:
    return sorted((lines["order_id"].astype(str) + "#" + lines["line_no"].astype(str)).unique().tolist())


@sensor(
    job=fold_in_job,
    minimum_interval_seconds=TICK_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="New order lines in the source database -> a fold-in of their customers into the live lists.",
)
def fold_in_orders_sensor(context: SensorEvaluationContext, store: StoreResource, source: SourceDatabaseResource):
    live = store.served_store().live_version()
    if live is None:
        return SkipReason("nothing is published yet: no live lists to fold orders into")
    cursor = json.loads(context.cursor) if context.cursor else {}
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    watermark = pd.Timestamp(cursor["watermark"]) if cursor.get("watermark") else now
    database = source.database()
    lines = database.read_orders((watermark - LATE_LINE_GRACE).to_pydatetime(), (now + pd.Timedelta(seconds=1)))
    seen = set(cursor.get("recent", []))
    keys = lines["order_id"].astype(str) + "#" + lines["line_no"].astype(str)
    new = lines[~keys.isin(seen)]
    newest = max(watermark, pd.Timestamp(lines["order_ts"].max())) if len(lines) else watermark
    recent = lines[lines["order_ts"] >= newest - LATE_LINE_GRACE]
    next_cursor = json.dumps({"version": live, "watermark": newest.isoformat(), "recent": _keys(recent)})
    tags = {TRIGGER_TAG: "sensor"}
    if cursor.get("version") != live:
        context.update_cursor(next_cursor)
        return RunRequest(
            run_key=f"replay-{live}",
            run_config=_config(replay=True),
            tags={**tags, REASON_TAG: f"live version {live}: lines newer than its training data folded into it"},
        )
    if new.empty:
        context.update_cursor(next_cursor)
        return SkipReason(f"no new order line since {watermark}")
    customers = sorted({str(c) for c in new["customer_id"].dropna()})
    requests = [
        RunRequest(
            run_key=f"fold-{live}-{newest.isoformat()}-{start}",
            run_config=_config(customers[start : start + MAX_CUSTOMERS_PER_RUN]),
            tags={**tags, REASON_TAG: f"{len(new)} new order line(s)"},
        )
        for start in range(0, len(customers), MAX_CUSTOMERS_PER_RUN)
    ]
    context.update_cursor(next_cursor)
    return requests
