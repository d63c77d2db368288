"""Where alerts go: the log, the optional webhook POST, and one JSON line per alert in `RECSYS_HOME/alerts.jsonl`.

When `RECSYS_ALERT_WEBHOOK_URL` is set the alert is POSTed there as JSON. The webhook URL may carry a secret token,
so only its scheme and host are ever logged. The webhook goes first and the file second, and neither failure stops
the other: a full or read-only `RECSYS_HOME` (when alerts matter most) must not keep the alert from leaving.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..lifecycle.alerts import Alert

logger = logging.getLogger(__name__)

WEBHOOK_ENV = "RECSYS_ALERT_WEBHOOK_URL"
DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 5.0


def alerts_path(home: Path) -> Path:
    return Path(home) / "alerts.jsonl"


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


def read_alerts(path: Path) -> list[dict]:
    """The recorded alerts, oldest first; a line that is not JSON (a write cut short) is skipped and logged."""
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

    path: Path
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


def raise_alert(alert: Alert, home: Path, webhook_url: str | None = None) -> Delivery:
    """Log `alert`, POST it to the webhook if one is configured, and record it in `home/alerts.jsonl`.

    Neither sink fails the caller (a sensor tick, a check, `raw_orders`) nor stops the other: whatever the webhook's
    failure (refused connection, bad URL, broken HTTP, error status) or the file's (full disk, read-only or missing
    folder), it is logged and returned, with the webhook's host only. The webhook goes first, so an alert about a
    full disk still leaves the machine; the log line goes before both, so even with both failing it is in the logs.
    """
    path = alerts_path(home)
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
        append_alert(path, alert)
    except Exception as error:  # a full or read-only disk: the alert went to the log (and the webhook) already
        file_error = f"{type(error).__name__}: {error}"[:300]
        line = alert_line(alert)
        logger.error("alert file %s could not be written (%s); the alert is in this log: %s", path, file_error, line)
    return Delivery(path, status, webhook_error, file_error)
