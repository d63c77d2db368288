"""Where alerts go: the log, the optional webhook POST, and the alert history: one JSON line per alert in
`RECSYS_HOME/alerts.jsonl` (local), or one blob per alert `alerts/<day>/<time>-<random>.json` in dev / prod
(resources/state_storage.py alert_home), so several run pods and sensors recording at once never overwrite
each other (no read-modify-write of a shared object).

When `RECSYS_ALERT_WEBHOOK_URL` is set the alert is POSTed there as JSON. The webhook URL may carry a secret token,
so only its scheme and host are ever logged. The webhook goes first and the file second, and neither failure stops
the other: a full or read-only `RECSYS_HOME` (when alerts matter most) must not keep the alert from leaving.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..lifecycle.alerts import Alert
from .state_location import StateLocation

logger = logging.getLogger(__name__)

WEBHOOK_ENV = "RECSYS_ALERT_WEBHOOK_URL"
DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 5.0


def alerts_path(home: Path | StateLocation) -> Path | StateLocation:
    """The alert history of `home`: its alerts.jsonl for a folder, the location itself otherwise."""
    return Path(home) / "alerts.jsonl" if isinstance(home, str | Path) else home


def alert_line(alert: Alert) -> str:
    return json.dumps(alert.as_dict(), sort_keys=True, default=str)


def append_alert(path: Path, alert: Alert) -> None:
    """Append the alert as one JSON line; on a failed write (a full disk) the file is cut back to its size before,
    so a half-written line cannot merge with the next alert."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = path.stat().st_size if path.exists() else 0
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(alert_line(alert) + "\n")
    except OSError:
        with contextlib.suppress(OSError):  # cutting frees space, so it works on a full disk; else the error stands
            os.truncate(path, size)
        raise


def alert_blob_name(alert: Alert) -> str:
    """`<day>/<time>-<random>.json`: names sort by time, and no two writers ever pick the same one."""
    stamp = "".join(c for c in alert.ts if c.isalnum())
    return f"{alert.ts[:10]}/{stamp}-{uuid.uuid4().hex}.json"


def store_alert(location: StateLocation, alert: Alert) -> str:
    """Record the alert as an object of its own in `location`; returns where."""
    return location.write_bytes(alert_blob_name(alert), alert_line(alert).encode("utf-8"))


def stored_alerts(location: StateLocation) -> list[dict]:
    """Every alert recorded in `location` (one object per alert, one sub-folder per day), oldest first."""
    alerts = []
    for day in location.folders():
        for name in location.names(day):
            try:
                alerts.append(json.loads(location.read_bytes(name)))
            except ValueError:
                logger.warning("alert %s in %s is not a whole alert, skipped", name, location.describe())
    return sorted(alerts, key=lambda alert: str(alert.get("ts", "")))


def read_alerts(path: Path | StateLocation) -> list[dict]:
    """The recorded alerts, oldest first; a line that is not JSON (a write cut short) is skipped and logged."""
    if not isinstance(path, str | Path):
        return stored_alerts(path)
    if not Path(path).exists():
        return []
    alerts = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            alerts.append(json.loads(line))
        except json.JSONDecodeError:
            logger.warning("alert file %s: line %d is not a whole alert, skipped", path, number)
    return alerts


def redact_url(url: str) -> str:
    """Scheme and host only: webhook URLs often carry a token in the path or query."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}/…"
    except ValueError:  # not even a URL: name nothing of it
        return "<unparsable webhook URL>"


def post_webhook(url: str, alert: Alert, timeout: float = DEFAULT_WEBHOOK_TIMEOUT_SECONDS) -> int:
    """POST the alert as JSON to `url` (httpx); returns the HTTP status, raises on any failure or error status."""
    import httpx

    body = {"text": alert.message, **alert.as_dict()}
    response = httpx.post(url, json=body, timeout=timeout, headers={"User-Agent": "recsys-alerts"})
    response.raise_for_status()
    return response.status_code


def describe_failure(error: BaseException, url: str) -> str:
    """What went wrong, without the URL's path, query or credentials (they may hold the webhook's token)."""
    status = getattr(getattr(error, "response", None), "status_code", None)
    if status is not None:
        return f"HTTP {status}"
    try:
        parts = urlsplit(url)
    except ValueError:  # a URL that does not even parse: its text is not repeated at all
        return f"{type(error).__name__} (the webhook URL is not a valid URL)"
    text = str(error)
    for secret in (url, parts.path, parts.query, parts.netloc, parts.username, parts.password):
        if secret and len(secret) > 1:
            text = text.replace(secret, "…")
    return f"{type(error).__name__}: {text}"[:300]


@dataclass(frozen=True)
class Delivery:
    """Where an alert went: the webhook status (None when no webhook is configured or it failed) and the alert
    file, each with the reason it failed (None when it did not)."""

    path: Path | str  # the alert file, or where the alert's blob went (or was to go)
    webhook_status: int | None
    webhook_error: str | None
    file_error: str | None = None

    def describe(self) -> str:
        """One line for a log: where the alert went and what failed."""
        parts = [f"recorded in {self.path}" if self.file_error is None else f"NOT recorded in {self.path}"]
        if self.webhook_status is not None:
            parts.append(f"posted to the webhook (HTTP {self.webhook_status})")
        elif self.webhook_error is not None:
            parts.append(f"webhook failed: {self.webhook_error}")
        if self.file_error is not None:
            parts.append(f"alert file failed: {self.file_error}")
        return "; ".join(parts)


def raise_alert(alert: Alert, home: Path | StateLocation, webhook_url: str | None = None) -> Delivery:
    """Log `alert`, POST it to the webhook if one is configured, and record it in `home/alerts.jsonl` (a folder) or
    as an object of its own in `home` (a StateLocation: Blob storage in dev / prod).

    Neither sink fails the caller (a sensor tick, a check, `raw_orders`) nor stops the other: whatever the webhook's
    failure (refused connection, bad URL, broken HTTP, error status) or the file's (full disk, read-only or missing
    folder), it is logged and returned, with the webhook's host only. The webhook goes first, so an alert about a
    full disk still leaves the machine; the log line goes before both, so even with both failing it is in the logs.
    """
    path = alerts_path(home)
    where = path if isinstance(path, Path) else path.describe()
    logger.warning("ALERT %s [%s] %s", alert.kind, alert.source, alert.message)
    url = webhook_url if webhook_url is not None else os.environ.get(WEBHOOK_ENV, "").strip()
    status, webhook_error = None, None
    if url:
        try:
            status = post_webhook(url, alert)
            logger.info("alert posted to webhook %s (HTTP %s)", redact_url(url), status)
        except Exception as error:  # any failure of the webhook stays here: the file still gets the alert
            webhook_error = describe_failure(error, url)
            logger.error("alert webhook %s failed: %s", redact_url(url), webhook_error)
    file_error = None
    try:
        if isinstance(path, Path):
            append_alert(path, alert)
        else:
            where = store_alert(path, alert)
    except Exception as error:  # a full or read-only disk: the alert went to the log (and the webhook) already
        file_error = f"{type(error).__name__}: {error}"[:300]
        line = alert_line(alert)
        logger.error("alert file %s could not be written (%s); the alert is in this log: %s", where, file_error, line)
    return Delivery(where, status, webhook_error, file_error)
