"""The `monitoring` resource: thresholds and folders of the drift and skew checks (one place to configure them)."""

from dagster import ConfigurableResource
from pydantic import Field

from monitoring.config import DriftThresholds, SkewThresholds


class MonitoringResource(ConfigurableResource):
    """Thresholds, windows and folders used by the drift/skew assets and sensors."""

    report_dir: str = Field(
        "",
        description="Reports folder; empty: Blob storage (prefix monitoring/) in dev / prod, "
        "else RECSYS_MONITORING_DIR (default RECSYS_HOME/monitoring).",
    )
    serving_log_dir: str = Field("", description="Serving log folder; empty: RECSYS_HOME/serving_log.")
    numerical_method: str = Field("wasserstein", description="Evidently stattest for numeric features.")
    numerical_threshold: float = Field(0.1, description="Numeric feature drifts when the score reaches this.")
    categorical_method: str = Field("jensenshannon", description="Evidently stattest for categorical features.")
    categorical_threshold: float = Field(0.1, description="Categorical feature drifts when the score reaches this.")
    min_drifted_features: int = Field(1, description="Drift is declared when at least this many features drift.")
    sample_size: int = Field(100_000, description="Rows per side given to Evidently at most (fixed-seed sample).")
    max_current_days: int = Field(28, description="Newest raw_orders days compared with the reference at most.")
    min_current_orders: int = Field(1_000, description="Fewer new orders than this: too early to judge drift.")
    skew_window_days: int = Field(7, description="Days of serving log the skew check reads.")
    min_requests: int = Field(200, description="Fewer logged requests than this: too early to judge skew.")
    max_cold_start_share: float = Field(0.2, description="Largest acceptable share of cold-start requests.")
    max_inactive_item_share: float = Field(0.01, description="Largest acceptable share of inactive served items.")
    evidently_workspace: str = Field(
        "", description="Evidently workspace folder; empty: RECSYS_EVIDENTLY_WORKSPACE or RECSYS_HOME/evidently."
    )
    evidently_url: str = Field(
        "", description="URL of a remote `evidently ui` used as the workspace instead (RECSYS_EVIDENTLY_URL)."
    )
    evidently_ui_url: str = Field(
        "", description="Where the data team opens the Evidently UI, for links (RECSYS_EVIDENTLY_UI_URL)."
    )

    def drift_thresholds(self) -> DriftThresholds:
        return DriftThresholds(
            numerical_method=self.numerical_method,
            numerical_threshold=self.numerical_threshold,
            categorical_method=self.categorical_method,
            categorical_threshold=self.categorical_threshold,
            min_drifted_features=self.min_drifted_features,
            sample_size=self.sample_size,
        )

    def skew_thresholds(self) -> SkewThresholds:
        return SkewThresholds(
            max_cold_start_share=self.max_cold_start_share,
            max_inactive_item_share=self.max_inactive_item_share,
            drift=self.drift_thresholds(),
        )

    def reports_location(self):
        """Where the reports, the drift caches and the online figures go (a StateLocation): `report_dir` when set,
        else Blob storage in dev / prod, else RECSYS_MONITORING_DIR."""
        from .state_storage import monitoring_location

        return monitoring_location(self.report_dir)

    def local_workspace_refused(self) -> str | None:
        """Why no Evidently snapshot is written (None: one is): dev / prod without a remote `evidently ui`.

        The workspace is a folder its UI service owns and is the only reader of; a run pod's folder is read by
        nobody and vanishes with the pod, so dev / prod write snapshots only to the service (RECSYS_EVIDENTLY_URL)."""
        from ..settings import current_deployment

        deployment = current_deployment()
        if deployment == "local" or self.workspace_settings()[1] or self.evidently_workspace:
            return None
        return (
            f"no Evidently snapshot: RECSYS_DEPLOYMENT={deployment} has no RECSYS_EVIDENTLY_URL (a remote "
            "`evidently ui` service), and a workspace folder on this pod would be read by nobody; "
            "the HTML/JSON report is kept"
        )

    def serving_log(self):
        """Where the monitors read the serving log (a ServingLogLocation): `serving_log_dir` when set, else Blob
        storage in dev / prod, else RECSYS_SERVING_LOG_DIR. The fold-in log lives next to it
        (core/stores/fold_in_log.py)."""
        from .serving_log_storage import serving_log_location

        return serving_log_location(self.serving_log_dir)

    def workspace_settings(self) -> tuple[str, str, str]:
        """(folder, remote URL, UI URL for links) of the Evidently workspace."""
        from ..settings import evidently_ui_url, evidently_url, evidently_workspace_dir

        url = self.evidently_url or evidently_url()
        folder = self.evidently_workspace or str(evidently_workspace_dir())
        return folder, url, self.evidently_ui_url or evidently_ui_url(url)

    def workspace(self):
        """The Evidently workspace (remote when a URL is configured; its secret from RECSYS_EVIDENTLY_SECRET)."""
        import os

        from monitoring.workspace import open_workspace

        folder, url, _ = self.workspace_settings()
        return open_workspace(folder, url, os.environ.get("RECSYS_EVIDENTLY_SECRET") or None)
