"""`ServingSettings`: everything `create_app` needs, as one frozen value (`ServingSettings.from_env()` for a
deployment, built by hand in tests and demos).

Imports core and settings only (no FastAPI), so building the settings checks the configuration before any server
part starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..core.lifecycle.control_group import ControlGroup
from ..core.stores.source_db import SourceDatabase
from ..core.stores.store import RecommendationStore
from .auth import API_KEY_ENV, ORDERS_KEY_ENV, REVIEW_KEY_ENV, ApiKeys, MissingApiKeyError


@dataclass(frozen=True, kw_only=True)
class ServingSettings:
    """What the serving API serves and how.

    stores
        Target name -> recommendation store; the first is the default target.
    source
        The source database (purchase history, product and customer names); None: ids only, no history.
    api_key
        The serving key (`RECSYS_API_KEY`): opens the live recommendations only (the shop's front end).
    review_key
        The review key (`RECSYS_REVIEW_KEY`): opens the review page's endpoints and the live recommendations; None
        closes the review endpoints (403). Both keys None is refused unless `allow_no_auth` (a deliberate, logged
        choice for local experiments: every route open). See auth.py.
    log_dir
        The serving log folder the skew and online monitors read; None disables the log (tests of other parts).
        The fold-in log is kept under it too.
    serving_log
        Where the API writes the serving log when not in `log_dir` (a ServingLogLocation: in dev / prod, append
        blobs in Azure Blob storage, resources/serving_log_storage.py); None: the folder `log_dir`.
    refresh_seconds
        How often each store's live pointer is checked in the background.
    cached_lists
        How many decoded lists each local store's reader keeps for repeated requests (core/stores/list_cache.py;
        `RECSYS_SERVING_CACHED_LISTS`); 0: none, every request reads the store.
    control
        The control group served the popularity list (default: none).
    clock
        Stamps the serving log (default `time.time`; the online demo serves on simulated days).
    monitoring_dir
        The monitors' summaries, HTML reports and online_metrics figures (/reports, /metrics): a folder, or a
        StateLocation (Blob storage in dev / prod, resources/state_storage.py); None: none.
    evidently_url, evidently_ui_url
        A remote `evidently ui` holding the workspace ("": the folder summaries) and where people open it.
    """

    stores: Mapping[str, RecommendationStore]
    source: SourceDatabase | None = None
    api_key: str | None = None
    review_key: str | None = None
    orders_key: str | None = None
    model_registry: object | None = None  # core/stores/mlflow_registry.MlflowModelRegistry: POST /events/orders folds
    fold_target: str | None = None  # the target POST /events/orders folds into (default: the first)
    allow_no_auth: bool = False
    log_dir: Path | None = None
    serving_log: object | None = None  # core/stores/serving_log_location.ServingLogLocation
    refresh_seconds: float = 10.0
    cached_lists: int = 0
    control: ControlGroup = field(default_factory=ControlGroup)
    clock: Callable[[], float] = time.time
    monitoring_dir: Path | object | None = None
    evidently_url: str = ""
    evidently_ui_url: str = ""

    def __post_init__(self) -> None:
        if not self.stores:
            raise ValueError("the serving API needs at least one store")
        keys = ((API_KEY_ENV, self.api_key), (REVIEW_KEY_ENV, self.review_key), (ORDERS_KEY_ENV, self.orders_key))
        for name, key in keys:
            if key is not None and not key.strip():
                raise ValueError(f"{name} is blank: an empty key would let any client in")
        if self.keys.open and not self.allow_no_auth:
            raise MissingApiKeyError(
                f"set {API_KEY_ENV} (the serving key, for the shop) and/or {REVIEW_KEY_ENV} (the review key, for the "
                "review page), or start with --insecure-no-auth for a local experiment"
            )

    @property
    def keys(self) -> ApiKeys:
        return ApiKeys(self.api_key, self.review_key, self.orders_key)

    @classmethod
    def from_env(cls, refresh_seconds: float = 10.0, allow_no_auth: bool = False) -> ServingSettings:
        """The configured deployment's settings: its serving stores and source database, RECSYS_API_KEY and
        RECSYS_REVIEW_KEY, the serving log and monitoring folders, the control group and the Evidently UI addresses."""
        from ..resources.serving_log_storage import blob_serving_log, serving_log_in_blob
        from ..resources.state_storage import monitoring_location, state_in_blob
        from ..settings import (
            control_salt,
            control_share,
            current_deployment,
            evidently_ui_url,
            evidently_url,
            monitoring_dir,
            serving_cached_lists,
            serving_log_dir,
        )
        from .auth import api_key_from_env, orders_key_from_env, review_key_from_env
        from .stores import serving_source, serving_stores

        remote = evidently_url()
        return cls(
            stores=serving_stores(),
            source=serving_source(),
            api_key=api_key_from_env(),
            review_key=review_key_from_env(),
            orders_key=orders_key_from_env(),
            model_registry=serving_model_registry(current_deployment()),
            fold_target=current_deployment(),  # dev folds into dev, prod into prod: what each deployment serves
            allow_no_auth=allow_no_auth,
            log_dir=serving_log_dir(),
            serving_log=blob_serving_log() if serving_log_in_blob() else None,
            refresh_seconds=refresh_seconds,
            cached_lists=serving_cached_lists(),
            control=ControlGroup(control_share(), control_salt()),
            monitoring_dir=monitoring_location() if state_in_blob() else monitoring_dir(),
            evidently_url=remote,
            evidently_ui_url=evidently_ui_url(remote),
        )


def serving_model_registry(deployment: str):
    """The deployment's model registry (MLflow) for the fold-ins of POST /events/orders; None in dev/prod without
    MLFLOW_TRACKING_URI: the API then serves and says it records no orders (it has no model registry)."""
    from ..core.stores.mlflow_registry import open_registry
    from ..settings import DeploymentError, model_registry_settings

    try:
        return open_registry(**model_registry_settings(deployment))
    except DeploymentError:
        return None
