"""The latest monitoring reports for the review page: what each check found and where to open its snapshot.

Read without Evidently (the serving app never imports it): the JSON summaries the monitors write next to their
HTML reports (`<check>/<stamp>.json`, which name the snapshot in the Evidently workspace) and the online_metrics
day files (`online/<day>.json`) of the reports' location: the monitoring folder locally, Blob storage (prefix
`monitoring/`) in dev / prod; with a remote `evidently ui` service (RECSYS_EVIDENTLY_URL) its snapshot list instead,
over its HTTP API. The HTML reports themselves are served by `GET /reports/<check>/<time>.html` (`report_page`):
the page links them for every row of a check.
"""

from __future__ import annotations

import json
import logging
import re

from ..core.stores.state_location import StateLocation

logger = logging.getLogger(__name__)

CHECKS = ("data_drift", "serving_skew", "prediction_drift")
ONLINE = "online"
STAMP = re.compile(r"^[0-9TZ]{8,40}$")  # report_stamp(): 20261123T091500123456Z


def _read(location: StateLocation, name: str) -> dict | None:
    try:
        return json.loads(location.read_bytes(name))
    except (OSError, ValueError):  # being written right now (a folder) or gone since the listing: skip it
        return None


def _stem(name: str) -> str:
    return name.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def nothing_yet(location: StateLocation) -> str:
    """The page's note when no monitor has written anything yet: what is missing (where it was looked for goes to
    the server log only: no answer names a folder or a container)."""
    logger.info("no monitoring summary in %s yet", location.describe())
    return (
        f"no monitoring report yet: no {', '.join(CHECKS)} summary and no online_metrics day has been written "
        "(the monitoring assets and sensors write them; the server log says where the API looks)"
    )


def folder_reports(location: StateLocation, limit: int) -> list[dict]:
    """The newest `limit` check summaries and online days found in the reports' location, newest first."""
    found = []
    for check in CHECKS:
        for name in [n for n in location.names(check) if n.endswith(".json")][-limit:]:
            summary = _read(location, name)
            if summary is None:
                continue
            workspace = summary.get("evidently") or {}
            found.append(
                {"check": check, "time": _stem(name), "drifted": summary.get("drifted"),
                 "details": ", ".join(summary.get("drifted_features") or []) or "no feature drifted",
                 "url": workspace.get("url")}
            )  # fmt: skip
    for name in [n for n in location.names(ONLINE) if n.endswith(".json")][-limit:]:
        figures = _read(location, name)
        if figures is None:
            continue
        lift = figures["period"]["lift"]
        details = f"{lift['verdict']}: {lift['reason']}"
        if figures.get("no_servings"):  # a day without servings says so first, not only the period's verdict
            details = f"no servings: {figures['no_servings']}; period {details}"
        found.append(
            {"check": "online_metrics", "time": figures["day"], "drifted": None, "details": details, "url": None}
        )
    return sorted(found, key=lambda r: r["time"], reverse=True)[:limit]


def service_reports(url: str, ui_url: str, limit: int) -> list[dict]:
    """The newest `limit` snapshots of project `recsys` in a remote `evidently ui` service."""
    import httpx

    projects = httpx.get(f"{url}/api/projects", timeout=5).json()
    project = next((p for p in projects if p.get("name") == "recsys"), None)
    if project is None:
        return []
    snapshots = httpx.get(f"{url}/api/projects/{project['id']}/snapshots", timeout=5).json()
    snapshots.sort(key=lambda s: s["timestamp"], reverse=True)
    return [
        {"check": (s.get("name") or "").split(" ")[0], "time": s["timestamp"], "drifted": None,
         "details": s.get("name") or "", "url": f"{ui_url}/projects/{project['id']}/reports/{s['id']}"}
        for s in snapshots[:limit]
    ]  # fmt: skip


def latest_reports(location: StateLocation, evidently_url: str, ui_url: str, limit: int = 20) -> dict:
    """{"reports": [...], "ui": the Evidently UI, "error": why the list may be incomplete or empty (or None)}."""
    if evidently_url:
        try:
            return {"reports": service_reports(evidently_url, ui_url, limit), "ui": ui_url, "error": None}
        except Exception as error:  # the page still shows the stored summaries; the why stays in the server log
            logger.warning("listing the snapshots of %s failed: %s", evidently_url, error)
            message = "the Evidently service could not be listed; showing the summaries of the monitoring folder"
            return {"reports": folder_reports(location, limit), "ui": ui_url, "error": message}
    found = folder_reports(location, limit)
    return {"reports": found, "ui": ui_url, "error": None if found else nothing_yet(location)}


def report_page(location: StateLocation, check: str, stamp: str) -> bytes:
    """The HTML report `<check>/<stamp>.html`; ValueError for a name no monitor writes, MissingState
    (core/stores/state_location.py) for one that is not there."""
    if check not in CHECKS or not STAMP.match(stamp):
        raise ValueError(f"no such report: the checks are {list(CHECKS)} and a report is named <UTC stamp>.html")
    return location.read_bytes(f"{check}/{stamp}.html")
