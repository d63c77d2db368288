"""`raw_orders_volume`: each ingested day against what chance allows for its weekday (rule: core/data/volume.py,
settings: expectations/raw_orders_volume.json).

Findings (a day or a row of days whose count chance does not explain, ranked, each with its usual range) are a
WARNING (the run goes on) and one alert; closed days (weekends, holidays, a summer break) and a small shop's quiet
days are normal. Only a run without a single order line on days where that is itself a finding (the source is
empty or the export stopped) is an ERROR and blocks everything downstream.
"""

import datetime as dt

import pandas as pd
from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from ..assets.source import raw_orders
from ..core.data.volume import VolumeReport, VolumeRule, chance, daily_counts, judge_volume
from ..core.lifecycle.alerts import Alert
from ..core.stores.alert_sinks import raise_alert
from ..partitions import daily_partitions
from ..resources.source import SourceDatabaseResource
from ..resources.state_storage import alert_home
from ..validation.suites import expectations_dir

SETTINGS_FILE = "raw_orders_volume.json"
SHOWN = 5  # findings in the check's description and the alert's message; metadata and details hold more


@asset_check(
    asset=raw_orders,
    name="raw_orders_volume",
    blocking=True,
    partitions_def=daily_partitions,
    description="Daily order volume against what chance allows for the weekday's level: closed and quiet days are "
    "fine, findings (grouped, ranked, with their usual range) warn and alert, an export that stopped blocks.",
)
def raw_orders_volume(
    context: AssetCheckExecutionContext, raw_orders, source: SourceDatabaseResource
) -> AssetCheckResult:
    frames = raw_orders if isinstance(raw_orders, dict) else {context.partition_key: raw_orders}
    settings = expectations_dir() / SETTINGS_FILE
    rule = VolumeRule.from_json(settings)
    days = sorted(dt.date.fromisoformat(key) for key in frames)
    history_start = days[0] - dt.timedelta(days=rule.history_days())
    history = source.database().read_order_times(
        dt.datetime.combine(history_start, dt.time()), dt.datetime.combine(days[0], dt.time())
    )
    stamps = [history] + [frame["order_ts"] for frame in frames.values() if frame is not None and len(frame)]
    order_ts = pd.concat(stamps, ignore_index=True)
    counts = daily_counts(order_ts, history_start, days[-1])
    report = judge_volume(counts, days, rule, order_ts=order_ts)  # the times of day: a day cut off mid-day
    lines = int(sum(len(frame) for frame in frames.values() if frame is not None))
    metadata = {
        "lines": lines,
        "days": len(days),
        "trading_days": report.trading_days,
        "closed_days": report.closed_days,
        "days_without_history": report.unknown_days,
        "findings": len(report.findings),
        "false_alarms_per_year": rule.false_alarms_per_year,
        "settings_file": MetadataValue.path(str(settings)),
    }
    if report.findings:
        metadata["findings_table"] = MetadataValue.md(findings_table(report))
    judged = report.trading_days + report.unknown_days
    stopped = any(f.kind == "no_orders" for f in report.findings)  # every finding holds a day of this run
    if lines == 0 and judged > 0 and (stopped or report.trading_days == 0):
        message = (
            f"raw_orders {days[0]} to {days[-1]}: not a single order line in {len(days)} day(s), "
            f"{report.trading_days} of them usual trading days ({report.unknown_days} without history to judge): "
            "the source is empty or unreachable for this range"
        )
        if stopped:
            message += f"; {report.findings[0].message()}"
        context.log.error(message)
        return AssetCheckResult(passed=False, severity=AssetCheckSeverity.ERROR, description=message, metadata=metadata)
    if report.findings:
        shown = "; ".join(f.message() for f in report.findings[:SHOWN])
        more = f" (and {len(report.findings) - SHOWN} more)" if len(report.findings) > SHOWN else ""
        message = f"{len(report.findings)} volume finding(s), the least likely first: {shown}{more}"
        context.log.warning(message)
        raise_alert(
            Alert(
                kind="order_volume",
                source="raw_orders",
                severity="warning",
                message=message[:2000],
                details={"findings": [f.message() for f in report.findings[:50]]},
            ),
            alert_home(),
        )
        return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN, description=message, metadata=metadata)
    description = (
        f"{report.trading_days} trading day(s) within what chance allows, {report.closed_days} closed day(s), "
        f"{report.unknown_days} without history to judge"
    )
    return AssetCheckResult(passed=True, description=description, metadata=metadata)


def findings_table(report: VolumeReport, limit: int = 200) -> str:
    """The findings as a markdown table, the least likely first."""
    rows = [
        "| days | finding | lines | expected | usual range | chance |",
        "|---|---|---|---|---|---|",
    ]
    rows += [
        f"| {f.span} | {f.kind} | {f.lines} | {f.expected:.0f} | {f.low}-{f.high} | {chance(f.log10_probability)} |"
        for f in report.findings[:limit]
    ]
    return "\n".join(rows)
