"""`promote_job`: make a version published to the dev target live in prod (launched by hand, on purpose)."""

from dagster import Config, Failure, MetadataValue, OpExecutionContext, Output, job, op
from pydantic import Field

from .core.promotion import promote_version
from .resources import StoreResource
from .tags import TARGET_TAG


class PromoteConfig(Config):
    version: str = Field(description="The dev version to make live in prod (see published_recommendations).")
    keep_versions: int = Field(3, description="Versions kept in the prod store (the live one included).")


@op
def promote_recommendations(context: OpExecutionContext, config: PromoteConfig, store: StoreResource) -> Output[dict]:
    """Copy `version` from the dev store to the prod store and switch the prod pointer to it."""
    if not hasattr(store, "store_for") or getattr(store, "deployment", None) != "prod":
        raise Failure(
            f"promote_job copies dev to prod and runs in the prod deployment only "
            f"(RECSYS_DEPLOYMENT=prod); this code location uses {type(store).__name__}"
        )
    source, target = store.store_for("dev"), store.store_for("prod")
    context.log.info(f"promoting {config.version} from {source.describe()} to {target.describe()}")
    done = promote_version(source, target, config.version, config.keep_versions)
    return Output(
        {"version": done.version, "previous": done.previous, "store": done.target, "target": "prod"},
        metadata={
            "version": done.version,
            "previous_version": done.previous or "none",
            "source": done.source,
            "store": done.target,
            "target": "prod",
            "customers": done.customers,
            "versions_kept": MetadataValue.json([info.version for info in target.versions()]),
        },
    )


@job(tags={TARGET_TAG: "prod"}, description="Make a dev version of the recommendations live in prod.")
def promote_job():
    promote_recommendations()
