"""Settings of other assets in the run config of the run a check belongs to."""

from dagster import AssetCheckExecutionContext


def run_config_value(context: AssetCheckExecutionContext, asset: str, key: str, default):
    """A setting of another asset in this run's config (e.g. the K of `recommendations`), else its default."""
    ops = (context.run.run_config or {}).get("ops", {})
    return (ops.get(asset, {}).get("config") or {}).get(key, default)
