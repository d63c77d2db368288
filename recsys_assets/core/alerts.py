"""Alerts: threshold evaluation, the alert record, the alert log (JSONL) and the optional webhook POST.

Pure Python (no Dagster): the sensors in `recsys_assets/alerting.py` call these functions. An alert is one
JSON object per line in `RECSYS_HOME/alerts.jsonl`; when `RECSYS_ALERT_WEBHOOK_URL` is set it is also POSTed
there as JSON. The webhook URL may carry a secret token, so only its scheme and host are ever logged.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

WEBHOOK_ENV = "RECSYS_ALERT_WEBHOOK_URL"
MAP_FLOOR_ENV = "RECSYS_ALERT_MAP_FLOOR"
DROPPED_SHARE_CEILING_ENV = "RECSYS_ALERT_DROPPED_SHARE_CEILING"
DEFAULT_MAP_FLOOR = 0.01
DEFAULT_DROPPED_SHARE_CEILING = 0.2
DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Alert:
    """One alert: what happened (`kind`), where (`source`: a job, asset or check), and the offending values."""

    kind: str  # run_failure | metric_threshold | freshness
    source: str
    message: str
    severity: str = "error"
    details: dict = field(default_factory=dict)
    ts: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Threshold:
    """A bound on one numeric metadata entry of one asset: `floor` (value must be >= it) or `ceiling` (<=)."""

    asset: str
    metric: str  # a metadata key, or a prefix ending in "@" that matches e.g. model_map@10 for any K
    floor: float | None = None
    ceiling: float | None = None

    def matches(self, key: str) -> bool:
        return key == self.metric or (self.metric.endswith("@") and key.startswith(self.metric))


def _float_env(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError as error:
        raise ValueError(f"{name} must be a number, got {text!r}") from error


def thresholds_from_env() -> list[Threshold]:
    """The metric thresholds alerted on: MAP@K of the model (floor) and the dropped-row share (ceiling)."""
    return [
        Threshold("model_metrics", "model_map@", floor=_float_env(MAP_FLOOR_ENV, DEFAULT_MAP_FLOOR)),
        Threshold(
            "interactions",
            "dropped_share",
            ceiling=_float_env(DROPPED_SHARE_CEILING_ENV, DEFAULT_DROPPED_SHARE_CEILING),
        ),
    ]


def evaluate_thresholds(
    asset: str, metadata: Mapping[str, object], thresholds: list[Threshold], context: Mapping[str, object] = ()
) -> list[Alert]:
    """Alerts for every numeric metadata value of `asset` outside its threshold (none when all are inside)."""
    alerts = []
    for threshold in thresholds:
        if threshold.asset != asset:
            continue
        for key, value in metadata.items():
            if not threshold.matches(key) or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            value = float(value)
            if threshold.floor is not None and value < threshold.floor:
                bound, relation = threshold.floor, "below the floor"
            elif threshold.ceiling is not None and value > threshold.ceiling:
                bound, relation = threshold.ceiling, "above the ceiling"
            else:
                continue
            alerts.append(
                Alert(
                    kind="metric_threshold",
                    source=asset,
                    message=f"{asset}: {key} = {value:.6g} is {relation} {bound:g}",
                    details={"metric": key, "value": value, "threshold": bound, **dict(context)},
                )
            )
    return alerts


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
