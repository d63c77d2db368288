"""Write a check's Evidently HTML report and JSON summary: `<check>/<timestamp>.html|.json` in a folder (local) or
in a state location (`recsys_assets/core/stores/state_location.py`: Blob storage in dev / prod).

A location is anything with `write_bytes(name, data) -> label` and `link(name) -> url` (duck-typed: this package
imports nothing of the code location).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReportFiles:
    """Where a report went: `html` / `json` are paths (a folder) or labels `<container>/<blob>` (a location);
    `name` is the HTML's name relative to the reports' root (`<check>/<stamp>.html`), `link` a URL of it."""

    html: Path | str
    json: Path | str
    name: str = ""
    link: str = ""

    def url(self) -> str:
        return self.link or Path(self.html).resolve().as_uri()


def report_stamp(now: dt.datetime | None = None) -> str:
    """A file-name-safe UTC timestamp, e.g. 20261123T091500Z (microseconds keep two reports apart)."""
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def report_html(check: str, summary: dict, snapshot=None) -> str:
    """The Evidently snapshot as a standalone page, or a short page showing the summary when there is none."""
    if snapshot is not None:
        return snapshot.get_html_str(as_iframe=False)
    body = json.dumps(summary, indent=2, default=str).replace("&", "&amp;").replace("<", "&lt;")
    return f"<html><body><h1>{check}</h1><pre>{body}</pre></body></html>"


def write_report(folder, check: str, summary: dict, snapshot=None, stamp: str | None = None) -> ReportFiles:
    """Save the Evidently `snapshot` as HTML (a short HTML page when there is none) and `summary` as JSON, into a
    folder (str / Path) or a location.

    Each is written whole (a folder's file under a temporary name, then renamed; a blob in one upload): a killed
    process leaves no half report, and the JSON (which names the HTML) is written last.
    """
    stamp = stamp or report_stamp()
    html_name, json_name = f"{check}/{stamp}.html", f"{check}/{stamp}.json"
    page = report_html(check, summary, snapshot).encode("utf-8")
    if not isinstance(folder, str | Path):
        html = folder.write_bytes(html_name, page)
        text = json.dumps({**summary, "report_html": html, "report": html_name}, indent=2, default=str)
        return ReportFiles(html, folder.write_bytes(json_name, text.encode("utf-8")), html_name, folder.link(html_name))
    target = Path(folder) / check
    target.mkdir(parents=True, exist_ok=True)
    html, summary_path = target / f"{stamp}.html", target / f"{stamp}.json"
    partial = target / f".{stamp}.html.partial"
    try:
        partial.write_bytes(page)
        os.replace(partial, html)
        partial = target / f".{stamp}.json.partial"
        text = json.dumps({**summary, "report_html": str(html), "report": html_name}, indent=2, default=str)
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, summary_path)
    finally:
        partial.unlink(missing_ok=True)
    return ReportFiles(html=html, json=summary_path, name=html_name)
