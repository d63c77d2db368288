"""`raw_orders_volume`: each ingested day against the shop's weekday rhythm (rule: core/data/volume.py, settings:
expectations/raw_orders_volume.json).

A day with no or unusual volume on a day the shop usually trades is a WARNING (the run goes on) and an alert
with the numbers; closed days (weekends, holidays, a summer break) are normal. A run of trading days without a
single order line is an ERROR and blocks everything downstream.
"""

import datetime as dt

import pandas as pd
from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from ..assets.source import raw_orders
from ..core.data.volume import VolumeRule, daily_counts, judge_volume
from ..core.lifecycle.alerts import Alert
from ..core.stores.alert_sinks import raise_alert
from ..partitions import daily_partitions
from ..resources.source import SourceDatabaseResource
from ..settings import recsys_home
from ..validation.suites import expectations_dir

SETTINGS_FILE = "raw_orders_volume.json"


@asset_check(
    asset=raw_orders,
    name="raw_orders_volume",
    blocking=True,
    partitions_def=daily_partitions,
    description="Daily order volume against the same weekday of the trailing weeks: closed days are fine, an "
    "unusual trading day warns and alerts, a run of trading days without any line blocks.",
)
def raw_orders_volume(
    context: AssetCheckExecutionContext, raw_orders, source: SourceDatabaseResource
) -> AssetCheckResult:
    frames = raw_orders if isinstance(raw_orders, dict) else {context.partition_key: raw_orders}
    settings = expectations_dir() / SETTINGS_FILE
    rule = VolumeRule.from_json(settings)
    days = sorted(dt.date.fromisoformat(key) for key in frames)
    history_start = days[0] - dt.timedelta(weeks=rule.trailing_weeks)
    history = source.database().read_order_times(
        dt.datetime.combine(history_start, dt.time()), dt.datetime.combine(days[0], dt.time())
    )
    stamps = [history] + [frame["order_ts"] for frame in frames.values() if frame is not None and len(frame)]
    counts = daily_counts(pd.concat(stamps, ignore_index=True), history_start, days[-1])
    report = judge_volume(counts, days, rule)
    lines = int(sum(len(frame) for frame in frames.values() if frame is not None))
    metadata = {
        "lines": lines,
        "days": len(days),
        "trading_days": report.trading_days,
        "closed_days": report.closed_days,
        "days_without_history": report.unknown_days,
        "unusual_days": len(report.findings),
        "settings_file": MetadataValue.path(str(settings)),
    }
    if report.findings:
        metadata["findings"] = MetadataValue.md("\n".join(f"- {f.message()}" for f in report.findings[:200]))
    if lines == 0 and report.trading_days + report.unknown_days > 0:
        message = (
            f"raw_orders {days[0]} to {days[-1]}: not a single order line in {len(days)} day(s), "
            f"{report.trading_days} of them usual trading days ({report.unknown_days} without history to judge): "
            "the source is empty or unreachable for this range"
        )
        context.log.error(message)
        return AssetCheckResult(passed=False, severity=AssetCheckSeverity.ERROR, description=message, metadata=metadata)
    if report.findings:
        shown = "; ".join(f.message() for f in report.findings[:5])
        message = f"{len(report.findings)} unusual volume finding(s) on trading days: {shown}"
        context.log.warning(message)
        raise_alert(
            Alert(
                kind="order_volume",
                source="raw_orders",
                severity="warning",
                message=message[:2000],
                details={"findings": [f.message() for f in report.findings[:50]]},
            ),
            recsys_home(),
        )
        return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN, description=message, metadata=metadata)
    description = (
        f"{report.trading_days} trading day(s) with usual volume, {report.closed_days} closed day(s), "
        f"{report.unknown_days} without history to judge"
    )
    return AssetCheckResult(passed=True, description=description, metadata=metadata)
