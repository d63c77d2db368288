"""The `models` resource: where trained model artifacts are kept by version (the model gate reads the champion)."""

from dagster import ConfigurableResource

from ..core.stores.model_registry import ModelRegistry


class ModelRegistryResource(ConfigurableResource):
    """Where trained model artifacts are kept by version (the model gate scores the live champion from here)."""

    path: str

    def registry(self) -> ModelRegistry:
        return ModelRegistry(self.path)
