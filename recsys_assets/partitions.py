"""The daily partitions of `raw_orders` (UTC days, from RECSYS_PARTITIONS_START to yesterday)."""

from dagster import DailyPartitionsDefinition

from .settings import partitions_start

daily_partitions = DailyPartitionsDefinition(start_date=partitions_start(), timezone="UTC")
