"""Where alerts go: one JSON line per alert in `RECSYS_HOME/alerts.jsonl`, and the optional webhook POST.

When `RECSYS_ALERT_WEBHOOK_URL` is set the alert is also POSTed there as JSON. The webhook URL may carry a
secret token, so only its scheme and host are ever logged.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
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
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}/…"


def post_webhook(url: str, alert: Alert, timeout: float = DEFAULT_WEBHOOK_TIMEOUT_SECONDS) -> int:
    """POST the alert as JSON to `url`; returns the HTTP status. Raises OSError on network or HTTP errors."""
    body = json.dumps({"text": alert.message, **alert.as_dict()}, default=str).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": "recsys-alerts"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (URL from the operator)
        return response.status


@dataclass(frozen=True)
class Delivery:
    """Where an alert went: the log file, and the webhook status (None when no webhook is configured)."""

    path: Path
    webhook_status: int | None
    webhook_error: str | None


def raise_alert(alert: Alert, home: Path, webhook_url: str | None = None) -> Delivery:
    """Record `alert` in `home/alerts.jsonl`, log it, and POST it to the webhook if one is configured.

    A failing webhook never loses the alert: it is already in the file, and the error is logged and returned.
    """
    path = alerts_path(home)
    append_alert(path, alert)
    logger.warning("ALERT %s [%s] %s", alert.kind, alert.source, alert.message)
    url = webhook_url if webhook_url is not None else os.environ.get(WEBHOOK_ENV, "").strip()
    if not url:
        return Delivery(path, None, None)
    try:
        status = post_webhook(url, alert)
    except (OSError, ValueError) as error:  # urllib.error.URLError and HTTPError are OSErrors
        code = getattr(error, "code", None)  # HTTPError: the webhook answered with an error status
        message = f"HTTP {code} {getattr(error, 'reason', '')}" if code else f"{type(error).__name__}: {error}"
        logger.error("alert webhook %s failed: %s", redact_url(url), message)
        return Delivery(path, None, message)
    logger.info("alert posted to webhook %s (HTTP %s)", redact_url(url), status)
    return Delivery(path, status, None)
