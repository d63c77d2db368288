"""The resources of the local deployment: everything in one data folder (RECSYS_HOME, default `.recsys/`)."""

from .. import settings


def local_resources() -> dict:
    """Embedded source database, SQLite recommendation store, pickle files under RECSYS_HOME;
    the model registry in MLflow (a SQLite store under RECSYS_HOME/mlflow unless MLFLOW_TRACKING_URI is set)."""
    from .io_managers import PartitionedPickleIOManager
    from .models import ModelRegistryResource
    from .source import SourceDatabaseResource
    from .stores import LocalStoreResource

    home = settings.recsys_home()
    return {
        "source": SourceDatabaseResource(url=settings.local_source_url()),
        "store": LocalStoreResource(path=str(settings.local_store_path())),
        "io_manager": PartitionedPickleIOManager(base_dir=str(home / "storage")),
        "models": ModelRegistryResource(**settings.model_registry_settings("local")),
    }
