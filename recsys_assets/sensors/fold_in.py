"""`fold_in_orders_sensor`: order lines that reach the source database between nightly runs start a fold-in run.

Every 30 seconds (a line waits for the next tick, then for a run to start: half a minute keeps order -> list under a
minute) it reads the lines dated from a little before the newest line it saw (`LATE_LINE_GRACE`: a line
written a few minutes after its timestamp is not missed) and asks for a fold-in of the customers of the lines it had
not seen. When the served store's live version changes (a nightly publish), it first asks for a replay: every line
newer than the new version's training data folded into it (core/lifecycle/order_fold_in.py).

Each tick also measures what waits to be folded in (the source's lines against the fold-in log); when the oldest
waiting line is older than `RECSYS_FOLD_IN_LAG_ALERT_SECONDS` (default 600) it raises one alert (alerts.jsonl, the
log, the optional webhook), and again only after the fold-ins caught up.
"""

import json
import os

import pandas as pd
from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from ..core.lifecycle.alerts import Alert
from ..core.lifecycle.order_fold_in import NoFoldIn, fold_in_status
from ..core.stores.alert_sinks import raise_alert
from ..jobs import fold_in_job
from ..resources.models import ModelRegistryResource
from ..resources.monitoring import MonitoringResource
from ..resources.source import SourceDatabaseResource
from ..resources.state_storage import alert_home
from ..resources.stores import StoreResource
from ..tags import REASON_TAG, TRIGGER_TAG

TICK_SECONDS = 30
LATE_LINE_GRACE = pd.Timedelta(minutes=5)
MAX_CUSTOMERS_PER_RUN = 5_000


def _config(customers: list[str] | None = None, replay: bool = False) -> dict:
    return {"ops": {"fold_in_orders": {"config": {"customers": customers or [], "replay": replay}}}}


def lag_alert_seconds() -> float:
    return float(os.environ.get("RECSYS_FOLD_IN_LAG_ALERT_SECONDS", "600"))


def _lag_alert(context, target, models, database, monitoring, alerted: bool) -> bool:
    """Raise the fold-in lag alert once per episode; returns whether an episode is on."""
    try:
        status = fold_in_status(target, models.registry(), database, monitoring.serving_log())
    except NoFoldIn as error:
        context.log.info(f"fold-in lag not measured: {error}")
        return alerted
    behind = status.oldest_seconds > lag_alert_seconds()
    if behind and not alerted:
        alert = Alert(
            kind="fold_in_lag",
            source="fold_in_orders_sensor",
            message=f"fold-ins are behind: {status.lines} order line(s) of {status.customers} customer(s) not in "
            f"the live lists, the oldest for {status.oldest_seconds / 60:.0f} min",
            details=status.as_dict(),
        )
        delivery = raise_alert(alert, alert_home())
        context.log.warning(f"alert {delivery.describe()}: {alert.message}")
    return behind


def _keys(lines: pd.DataFrame) -> list[str]:
    return sorted((lines["order_id"].astype(str) + "#" + lines["line_no"].astype(str)).unique().tolist())


@sensor(
    job=fold_in_job,
    minimum_interval_seconds=TICK_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="New order lines in the source database -> a fold-in of their customers into the live lists.",
)
def fold_in_orders_sensor(
    context: SensorEvaluationContext,
    store: StoreResource,
    source: SourceDatabaseResource,
    models: ModelRegistryResource,
    monitoring: MonitoringResource,
):
    target = store.served_store()
    live = target.live_version()
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
    newest = min(newest, now)  # a line dated ahead of the clock must not move the watermark past later lines
    recent = lines[lines["order_ts"] >= newest - LATE_LINE_GRACE]
    behind = _lag_alert(context, target, models, database, monitoring, bool(cursor.get("behind")))
    next_cursor = json.dumps(
        {"version": live, "watermark": newest.isoformat(), "recent": _keys(recent), "behind": behind}
    )
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
