"""Write a check's Evidently HTML report and JSON summary to a folder: `<folder>/<check>/<timestamp>.html|.json`."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    json: Path

    def url(self) -> str:
        return self.html.resolve().as_uri()


def report_stamp(now: dt.datetime | None = None) -> str:
    """A file-name-safe UTC timestamp, e.g. 20261123T091500Z (microseconds keep two reports apart)."""
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def write_report(folder: str | Path, check: str, summary: dict, snapshot=None, stamp: str | None = None) -> ReportFiles:
    """Save the Evidently `snapshot` as HTML (a short HTML page when there is none) and `summary` as JSON.

    Each file is written under a temporary name and renamed: a killed process leaves no half report, and the
    JSON (which links the HTML) is renamed last.
    """
    target = Path(folder) / check
    target.mkdir(parents=True, exist_ok=True)
    stamp = stamp or report_stamp()
    html, summary_path = target / f"{stamp}.html", target / f"{stamp}.json"
    partial = target / f".{stamp}.html.partial"
    try:
        if snapshot is not None:
            snapshot.save_html(str(partial))
        else:
            body = json.dumps(summary, indent=2, default=str).replace("&", "&amp;").replace("<", "&lt;")
            partial.write_text(f"<html><body><h1>{check}</h1><pre>{body}</pre></body></html>", encoding="utf-8")
        os.replace(partial, html)
        partial = target / f".{stamp}.json.partial"
        partial.write_text(json.dumps({**summary, "report_html": str(html)}, indent=2, default=str), encoding="utf-8")
        os.replace(partial, summary_path)
    finally:
        partial.unlink(missing_ok=True)
    return ReportFiles(html=html, json=summary_path)
