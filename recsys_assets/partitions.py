"""The daily partitions of `raw_orders`: UTC days from the first order day to yesterday.

Where the partitions start (decided once, when the code location loads):
1. `RECSYS_PARTITIONS_START` (YYYY-MM-DD) when it is set;
2. else the day of the first order line in the source database (a MIN query on the indexed `order_ts`), so an
   imported history is covered without any setting;
3. else, when the source is not reachable or holds no order yet, `settings.DEFAULT_PARTITIONS_START` (logged).
The daily schedule adds one partition a day at the end. When the source later gains older history, the next
reload of the code location (restart, or *Reload* in the UI) moves the start back; backfill the new days.
"""

import logging

from dagster import DailyPartitionsDefinition

from .settings import DEFAULT_PARTITIONS_START, explicit_partitions_start, source_url

logger = logging.getLogger(__name__)


def resolve_partitions_start() -> tuple[str, str]:
    """The first partition day and where it comes from (see the module docstring)."""
    explicit = explicit_partitions_start()
    if explicit:
        return explicit, "RECSYS_PARTITIONS_START"
    from .core.stores.source_db import SourceDatabase, safe_url

    url = source_url()
    if url:
        try:
            span = SourceDatabase(url).order_time_range()
        except Exception as error:  # an unreachable source must not stop the code location from loading
            logger.warning(f"partitions: cannot read the first order day from {safe_url(url)}: {error}")
        else:
            if span is not None:
                return span[0].strftime("%Y-%m-%d"), f"the first order line in {safe_url(url)}"
    return DEFAULT_PARTITIONS_START, "the default (no order in the source database yet)"


PARTITIONS_START, PARTITIONS_START_SOURCE = resolve_partitions_start()
daily_partitions = DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")
