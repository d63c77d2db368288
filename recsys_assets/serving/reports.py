"""The latest monitoring reports for the review page: what each check found and where to open its snapshot.

Read without Evidently (the serving app never imports it): the JSON summaries the monitors write next to their
HTML reports (`<monitoring dir>/<check>/<stamp>.json`, which name the snapshot in the Evidently workspace) and the
online_metrics day files (`<monitoring dir>/online/<day>.json`); with a remote `evidently ui` service
(RECSYS_EVIDENTLY_URL) its snapshot list instead, over its HTTP API.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

CHECKS = ("data_drift", "serving_skew", "prediction_drift")


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # being written right now: skip it
        return None


def folder_reports(monitoring_dir: Path, limit: int) -> list[dict]:
    """The newest `limit` check summaries and online days found under `monitoring_dir`, newest first."""
    found = []
    for check in CHECKS:
        for path in sorted((monitoring_dir / check).glob("*.json"))[-limit:]:
            summary = _read(path)
            if summary is None:
                continue
            workspace = summary.get("evidently") or {}
            found.append(
                {"check": check, "time": path.stem, "drifted": summary.get("drifted"),
                 "details": ", ".join(summary.get("drifted_features") or []) or "no feature drifted",
                 "url": workspace.get("url")}
            )  # fmt: skip
    for path in sorted((monitoring_dir / "online").glob("*.json"))[-limit:]:
        figures = _read(path)
        if figures is None:
            continue
        lift = figures["period"]["lift"]
        found.append(
            {"check": "online_metrics", "time": figures["day"], "drifted": None,
             "details": f"{lift['verdict']}: {lift['reason']}", "url": None}
        )  # fmt: skip
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


def latest_reports(monitoring_dir: Path, evidently_url: str, ui_url: str, limit: int = 20) -> dict:
    """{"reports": [...], "ui": the Evidently UI, "error": why the list may be incomplete (or None)}."""
    if evidently_url:
        try:
            return {"reports": service_reports(evidently_url, ui_url, limit), "ui": ui_url, "error": None}
        except Exception as error:  # the page still shows the local summaries; the why stays in the server log
            logger.warning("listing the snapshots of %s failed: %s", evidently_url, error)
            message = "the Evidently service could not be listed; showing the summaries of the monitoring folder"
            return {"reports": folder_reports(monitoring_dir, limit), "ui": ui_url, "error": message}
    return {"reports": folder_reports(monitoring_dir, limit), "ui": ui_url, "error": None}
