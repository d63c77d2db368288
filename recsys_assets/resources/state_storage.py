"""Where the monitors' state lives in this deployment (core/stores/state_location.py): a prefix of the deployment's
Blob container in dev / prod (AZURE_STORAGE_ACCOUNT_URL required there: the run pods, the code server and the API pods
share no disk), the folders under RECSYS_HOME otherwise.

| state | local | dev / prod (container `recsys-<deployment>` or AZURE_STORAGE_CONTAINER) |
|---|---|---|
| drift/skew/prediction-drift reports, drift caches, online day files | RECSYS_MONITORING_DIR | `monitoring/` |
| alert history | RECSYS_HOME/alerts.jsonl | `alerts/<day>/`, one blob per alert |

The Blob client is the serving log's (resources/serving_log_storage.py). No Dagster import: the API uses it too.
"""

from __future__ import annotations

from pathlib import Path

from .. import settings
from ..core.stores.state_location import BlobState, FolderState, StateLocation
from .serving_log_storage import blob_container_client, serving_log_in_blob

MONITORING_PREFIX = "monitoring"
ALERTS_PREFIX = "alerts"


def state_in_blob() -> bool:
    """Dev / prod: the same condition that puts the serving log in Blob storage."""
    return serving_log_in_blob()


def monitoring_location(folder: str = "") -> StateLocation:
    """`folder` when given (an explicit choice); else `monitoring/` in Blob storage in dev / prod;
    else the folder RECSYS_MONITORING_DIR (default RECSYS_HOME/monitoring)."""
    if folder:
        return FolderState(folder)
    if state_in_blob():
        return BlobState(blob_container_client(), MONITORING_PREFIX)
    return FolderState(settings.monitoring_dir())


def alert_home() -> Path | StateLocation:
    """Where raise_alert records alerts: `alerts/` in Blob storage in dev / prod (one blob per
    alert, so writers never contend), else RECSYS_HOME (its alerts.jsonl)."""
    if state_in_blob():
        return BlobState(blob_container_client(), ALERTS_PREFIX)
    return settings.recsys_home()
