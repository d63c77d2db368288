"""Gather what `online_metrics` needs for one day and turn the pure computation (`monitoring/online.py`) into
asset metadata: the day's serving log (the shop's traffic only), the purchase lines of the ingested raw_orders
partitions in the attribution window, and the arm counts of the previous days of the alert period; with them,
the day's figures per served list (`monitoring/lists.py`).

Orders come from the source database, restricted to the raw_orders partitions the instance has materialized: a
day the pipeline has not ingested (or whose lines failed their checks and were re-read since) is not evidence.
A day's figures are final once its whole window is ingested (`window_complete`); until then re-materializing
the partition updates them.

A day with no serving of the shop in the log (the folder absent — the API and the runs may share no disk —, no
file for the day, or a file empty or holding synthetic traffic only) has no figures: its `no_servings` says why,
naming the folder and the day; `servings` is null, not 0, and nothing of the day is plotted or pooled.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace

import pandas as pd
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, MetadataValue

from monitoring.features import purchase_lines
from monitoring.lists import all_list_figures, list_numbers, lists_markdown
from monitoring.online import (
    COUNT_FIELDS,
    Lift,
    OnlineSettings,
    arm_counts,
    attribute,
    compare_arms,
    exposures,
    markdown,
    pool,
    rates,
    summarise,
)

from ..core.stores.serving_log import FOR_YOU_LIST, no_servings_reason, read_entries
from ..core.stores.source_db import SourceDatabase
from ..core.stores.state_location import as_state
from ..settings import ONLINE_FOLDER

ONLINE_ASSET = AssetKey("online_metrics")


@dataclass
class OnlineDay:
    day: str
    settings: OnlineSettings
    period_days: int
    rows: list[dict]
    counts: dict[str, dict]
    day_lift: Lift
    period_lift: Lift
    period: list[str]
    servings: int
    orders_until: str | None
    window_complete: bool
    lists: dict[str, dict] = field(default_factory=dict)  # monitoring/lists.py: figures per served list
    extra: dict = field(default_factory=dict)
    no_servings: str | None = None  # why the log gave no serving of the day (None: it did)

    def summary(self) -> dict:
        """The asset value (and the JSON file /metrics serves)."""
        missing = {"no_servings": self.no_servings} if self.no_servings else {}
        return {
            "day": self.day,
            **missing,
            "attribution_days": self.settings.attribution_days,
            "window_complete": self.window_complete,
            "orders_until": self.orders_until,
            "servings": None if self.no_servings else self.servings,  # unknown, not a measured 0
            "by_version": self.rows,
            "arms": {arm: {**counts, **rates(counts)} for arm, counts in self.counts.items()},
            "lift": self.day_lift.as_dict(),
            "period": {"days": self.period, "lift": self.period_lift.as_dict()},
            "lists": self.lists,
        }


def attribution_window(day: str, attribution_days: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[day 00:00, day + 1 + attribution_days): servings of the day and every order attributable to them."""
    start = pd.Timestamp(day)
    return start, start + pd.Timedelta(days=attribution_days + 1)


def ingested_lines(
    instance: DagsterInstance, database: SourceDatabase, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.DataFrame, str | None]:
    """Purchase lines in [start, end) of the materialized raw_orders partitions, and the newest such partition."""
    done = instance.get_materialized_partitions(AssetKey("raw_orders"))
    days = {d for d in done if start.strftime("%Y-%m-%d") <= d < end.strftime("%Y-%m-%d")}
    if not days:
        return purchase_lines(database.read_orders(start.to_pydatetime(), start.to_pydatetime())), None
    lines = purchase_lines(database.read_orders(start.to_pydatetime(), end.to_pydatetime()))
    lines = lines[lines["order_ts"].dt.strftime("%Y-%m-%d").isin(days)]
    return lines, max(days)


def previous_counts(instance: DagsterInstance, days: list[str]) -> dict[str, dict]:
    """The arm counts recorded by the newest online_metrics materialization of each of `days` (missing: skipped)."""
    if not days:
        return {}
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=ONLINE_ASSET, asset_partitions=days), limit=len(days) * 20
    ).records
    found: dict[str, dict] = {}
    for record in records:  # newest first
        partition = record.partition_key
        entry = record.asset_materialization.metadata.get("arm_counts")
        if partition not in found and entry is not None:
            found[partition] = entry.value
    return found


def run_online_metrics(
    instance: DagsterInstance,
    database: SourceDatabase,
    log_dir,
    day: str,
    settings: OnlineSettings,
    period_days: int,
) -> OnlineDay:
    """The online metrics of the servings of `day` and the lift over the `period_days` ending with it."""
    date = dt.date.fromisoformat(day)
    every_list = read_entries(log_dir, date, date, list_name=None)
    log = every_list[every_list["list"] == FOR_YOU_LIST].reset_index(drop=True)
    start, end = attribution_window(day, settings.attribution_days)
    all_lines, orders_until = ingested_lines(instance, database, start, end)
    # the related lists are judged on everyone's baskets (their servings name no customer)
    lists = all_list_figures(every_list, all_lines, settings)
    served_customers = set(log["customer_id"].astype(str))
    lines = all_lines[all_lines["customer_id"].isin(served_customers)]
    attributed = attribute(exposures(log), lines, settings.attribution_days)
    counts = arm_counts(attributed)
    period = [(date - dt.timedelta(days=n)).isoformat() for n in range(period_days - 1, -1, -1)]
    earlier = previous_counts(instance, period[:-1])
    pooled = pool([*earlier.values(), counts])
    last_needed = (end - pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    day_lift = compare_arms(counts, settings)
    # nothing logged (any list, shop traffic): say why, naming the folder and the day, rather than report zeros
    missing = no_servings_reason(log_dir, date, date, list_name=None) if every_list.empty else None
    if missing:
        day_lift = replace(day_lift, reason=missing)
    return OnlineDay(
        day=day,
        settings=settings,
        period_days=period_days,
        rows=summarise(attributed),
        counts=counts,
        day_lift=day_lift,
        period_lift=compare_arms(pooled, settings),
        period=[d for d in period[:-1] if d in earlier] + [day],
        servings=len(log),
        orders_until=orders_until,
        window_complete=orders_until is not None and orders_until >= last_needed,
        lists=lists,
        no_servings=missing,
    )


def write_day_file(folder, result: OnlineDay) -> str:
    """`online/<day>.json` of the reports' folder or location (Blob storage in dev / prod), written whole (a folder's
    file under a temporary name, then renamed; a block blob in one upload); returns where it went. One writer per
    day's partition: a re-materialization replaces the day's figures."""
    data = json.dumps(result.summary(), indent=2, default=str).encode("utf-8")
    return as_state(folder).write_bytes(f"{ONLINE_FOLDER}/{result.day}.json", data)


def _numbers(prefix: str, values: dict) -> dict:
    return {f"{prefix}{key}": float(round(value, 6)) for key, value in values.items() if value is not None}


def online_metadata(result: OnlineDay, day_file: str) -> dict:
    """Numeric entries the UI plots over the partitions, the per-version table, the lift and its verdict.

    A day without servings (`no_servings`) gets that reason and the period's verdict, and none of the day's counts:
    no 0 plotted as if measured, no `arm_counts` for later periods to pool."""
    if result.no_servings:
        return no_servings_metadata(result, day_file)
    metadata = {
        "servings": result.servings,
        "window_complete": result.window_complete,
        "orders_until": result.orders_until or "none",
        "attribution_days": result.settings.attribution_days,
        "summary": MetadataValue.md(
            markdown(
                result.rows,
                result.day_lift,
                result.period_lift,
                f"the {len(result.period)} day(s) {result.period[0]}..{result.day}",
            )
        ),  # fmt: skip
        "by_version": MetadataValue.json(result.rows),
        "arm_counts": MetadataValue.json(result.counts),
        "verdict": result.period_lift.verdict,
        "verdict_reason": result.period_lift.reason,
        "lists": MetadataValue.md(lists_markdown(result.lists)),
        "lists_without_traffic": MetadataValue.json(
            [name for name, entry in result.lists.items() if entry["servings"] == 0]
        ),
        "figures_file": MetadataValue.path(str(day_file)),
    }
    for arm, counts in result.counts.items():
        metadata[f"exposures_{arm}"] = counts["exposures"]
        metadata.update(_numbers("", {f"{name}_{arm}": value for name, value in rates(counts).items()}))
    by_source: dict[str, dict] = {}
    for row in result.rows:  # several versions may have served on the day: add their counts up per source
        totals = by_source.setdefault(row["source"], dict.fromkeys(COUNT_FIELDS, 0))
        for name in COUNT_FIELDS:
            totals[name] += row[name]
    for source, totals in by_source.items():
        metadata.update(_numbers("", {f"hit_rate_source_{source}": rates(totals)["hit_rate"]}))
    metadata.update(list_numbers(result.lists))
    lift, period = result.day_lift, result.period_lift
    metadata.update(_numbers("lift", {"": lift.relative_lift, "_low": lift.relative_low, "_high": lift.relative_high}))
    metadata.update(_period_numbers(period))
    return metadata


def _period_numbers(period: Lift) -> dict:
    return _numbers(
        "period_lift", {"": period.relative_lift, "_low": period.relative_low, "_high": period.relative_high}
    )


def no_servings_metadata(result: OnlineDay, day_file: str) -> dict:
    """The metadata of a day the serving log gave nothing for: why, and the verdict of the period's other days."""
    period = f"the {len(result.period)} day(s) {result.period[0]}..{result.day}"
    return {
        "no_servings": result.no_servings,
        "window_complete": result.window_complete,
        "orders_until": result.orders_until or "none",
        "attribution_days": result.settings.attribution_days,
        "summary": MetadataValue.md(
            f"**{result.no_servings}**\n\n" + markdown([], result.day_lift, result.period_lift, period)
        ),
        "verdict": result.period_lift.verdict,
        "verdict_reason": result.period_lift.reason,
        "figures_file": MetadataValue.path(str(day_file)),
        **_period_numbers(result.period_lift),
    }
