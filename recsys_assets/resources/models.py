"""The `models` resource: the model registry on MLflow (the model gate reads the champion from it)."""

from dagster import ConfigurableResource
from pydantic import Field

from ..core.stores.mlflow_registry import MlflowModelRegistry, open_registry


class ModelRegistryResource(ConfigurableResource):
    """Where trained model versions are registered (MLflow tracking server + model registry); the model gate scores
    the live champion from here. Built from settings.model_registry_settings (MLFLOW_TRACKING_URI)."""

    tracking_uri: str = Field(description="MLflow tracking and registry URI.")
    model_name: str = Field(description="The registered model (and the experiment of its runs).")
    artifact_location: str = Field("", description="Artifact root of a new experiment ('': the server's default).")
    legacy_folder: str = Field("", description="An older folder of pickled models, imported once ('': none).")

    def registry(self) -> MlflowModelRegistry:
        return open_registry(self.tracking_uri, self.model_name, self.artifact_location, self.legacy_folder)
