"""Where alerts go: one JSON line per alert in `RECSYS_HOME/alerts.jsonl`, and the optional webhook POST.

When `RECSYS_ALERT_WEBHOOK_URL` is set the alert is also POSTed there as JSON. The webhook URL may carry a
secret token, so only its scheme and host are ever logged.
"""

from __future__ import annotations

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


def append_alert(path: Path, alert: Alert) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(alert.as_dict(), sort_keys=True, default=str) + "\n")


def read_alerts(path: Path) -> list[dict]:
    if not Path(path).exists():
        return []
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


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
    """Where an alert went: the log file, and the webhook status (None when no webhook is configured)."""

    path: Path
    webhook_status: int | None
    webhook_error: str | None


def raise_alert(alert: Alert, home: Path, webhook_url: str | None = None) -> Delivery:
    """Record `alert` in `home/alerts.jsonl`, log it, and POST it to the webhook if one is configured.

    A failing webhook never loses the alert and never fails the caller (a sensor tick, a check): the alert is
    already in the file, and whatever the failure (refused connection, bad URL, broken HTTP, error status), it is
    logged and returned with the webhook's host only.
    """
    path = alerts_path(home)
    append_alert(path, alert)
    logger.warning("ALERT %s [%s] %s", alert.kind, alert.source, alert.message)
    url = webhook_url if webhook_url is not None else os.environ.get(WEBHOOK_ENV, "").strip()
    if not url:
        return Delivery(path, None, None)
    try:
        status = post_webhook(url, alert)
    except Exception as error:  # any failure of the webhook stays here: the alert is recorded
        message = describe_failure(error, url)
        logger.error("alert webhook %s failed: %s", redact_url(url), message)
        return Delivery(path, None, message)
    logger.info("alert posted to webhook %s (HTTP %s)", redact_url(url), status)
    return Delivery(path, status, None)
