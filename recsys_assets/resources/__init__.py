"""Dagster resources. `resources_for(deployment)` is the only place that decides what local, dev and prod use."""

from ..settings import DEPLOYMENTS, DeploymentError, current_deployment


def resources_for(deployment: str | None = None) -> dict:
    """Every resource of `deployment` (default: RECSYS_DEPLOYMENT), keyed by resource name."""
    from .monitoring import MonitoringResource

    deployment = deployment or current_deployment()
    if deployment == "local":
        from .local import local_resources

        chosen = local_resources()
    elif deployment in ("dev", "prod"):
        from .azure import azure_resources

        chosen = azure_resources(deployment)
    else:
        raise DeploymentError(f"deployment must be one of {DEPLOYMENTS}, got {deployment!r}")
    return {"monitoring": MonitoringResource(), **chosen}
