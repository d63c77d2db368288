"""The project's Definitions, imported once per build, and what several pages read from them."""

from __future__ import annotations

import functools
import os
import warnings


@functools.cache
def load():
    """`recsys_assets.definitions.defs`, imported without reading the source database.

    The raw_orders partitions start at the first order day of the source database; the pages do not show the start,
    so the build fixes it (when unset) instead of querying a database that may not exist where the docs are built.
    """
    from recsys_assets.settings import DEFAULT_PARTITIONS_START

    os.environ.setdefault("RECSYS_PARTITIONS_START", DEFAULT_PARTITIONS_START)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # beta/preview notices of Dagster features the code location uses
        from recsys_assets.definitions import defs

        defs.resolve_asset_graph()  # fail here, with the Definitions' own error, if they do not load
    return defs


@functools.cache
def asset_graph():
    return load().resolve_asset_graph()


def user_key(key) -> str:
    return key.to_user_string()


def status(value) -> str:
    """`DefaultScheduleStatus.RUNNING` -> `running`."""
    return str(getattr(value, "value", value)).lower()


def asset_jobs() -> dict[str, list[str]]:
    """Job name -> the asset keys it materializes (its selection resolved against the graph), for asset jobs."""
    graph = asset_graph()
    jobs = {}
    for job in load().jobs:
        selection = getattr(job, "selection", None)
        if selection is not None:
            jobs[job.name] = sorted(user_key(key) for key in selection.resolve(graph))
    return jobs
