"""Blocking Great Expectations suites on the data assets: raw orders, master data, interactions, lists.

Each check is thin: it gathers the frame and the run-time parameters, runs the suite of
`expectations/<asset>.json` through `validation.gx_runner`, and turns the report into an `AssetCheckResult`
whose metadata shows the failed expectations, their observed values and a sample of offending rows. All checks
are blocking with ERROR severity: a failure stops every downstream asset of the run, so nothing is trained or
published and the store keeps serving its live version.
"""

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetIn,
    Config,
    MetadataValue,
    asset_check,
)
from pydantic import Field

from ..assets.preparation import interactions
from ..assets.publishing import recommendations
from ..assets.source import customers, products, raw_orders
from ..partitions import daily_partitions
from ..resources.source import SourceDatabaseResource
from ..validation.frames import FUTURE_PARTITION, failing_partitions, orders_batch, run_clock
from ..validation.gx_runner import ValidationReport, validate_frame
from ..validation.report import failures_markdown, offending_rows_markdown
from .run_config import run_config_value


def _suite_result(report: ValidationReport, extra: dict | None = None) -> AssetCheckResult:
    metadata = {
        "suite": report.suite,
        "suite_file": MetadataValue.path(report.path),
        "rows": report.rows,
        "evaluated_expectations": report.evaluated,
        "failed_count": len(report.failures),
        "failed_expectations": ", ".join(f"{f.expectation}({f.target})" for f in report.failures) or "none",
        "failures": MetadataValue.md(failures_markdown(report)),
        "offending_rows": MetadataValue.md(offending_rows_markdown(report)),
        "validation_seconds": round(report.seconds, 3),
        **(extra or {}),
    }
    return AssetCheckResult(
        passed=report.success,
        severity=AssetCheckSeverity.ERROR,
        description=report.message()[:2000],
        metadata=metadata,
    )


def _validate(frame: pd.DataFrame, asset: str, parameters: dict, index_columns: list[str]) -> ValidationReport:
    # great_expectations itself is imported inside validate_frame, at the first validation
    return validate_frame(frame, asset, parameters, index_columns)


def _known_ids(frame: pd.DataFrame, column: str) -> list[str]:
    return frame[column].dropna().astype(str).unique().tolist()


class RawOrdersCheckConfig(Config):
    as_of: str | None = Field(
        None, description="Validate as of this UTC moment (ISO-8601); lines after it are 'in the future'. Default: now."
    )


def _master_data(context, database, masters: dict) -> tuple[dict[str, pd.DataFrame], str]:
    """The master data assets as loaded, each one never materialized yet read from the source instead."""
    missing = sorted(name for name, frame in masters.items() if frame is None)
    if not missing:
        return masters, "assets"
    context.log.warning(
        f"raw_orders_suite: {', '.join(missing)} not materialized yet; validating the ids against the source "
        f"database's {' and '.join(missing)} table(s) instead"
    )
    return {name: database.read_master(name) if frame is None else frame for name, frame in masters.items()}, (
        f"source database for {', '.join(missing)} (not materialized yet)"
    )


# the ingest job materializes products and customers in the same run, before this check; a run of raw_orders alone
# (a backfill from the UI) loads their latest materialization, and the source table while there is none
MASTER_DATA_INS = {name: AssetIn(metadata={"allow_missing": True}) for name in ("products", "customers")}


@asset_check(
    asset=raw_orders,
    name="raw_orders_suite",
    blocking=True,
    partitions_def=daily_partitions,
    additional_ins=MASTER_DATA_INS,
    description="GX suite expectations/raw_orders.json on the order lines of every partition of the run, "
    "against the ids of the products and customers assets.",
)
def raw_orders_suite(
    context: AssetCheckExecutionContext,
    config: RawOrdersCheckConfig,
    raw_orders,
    products,  # pd.DataFrame, or None while the asset was never materialized
    customers,
    source: SourceDatabaseResource,
) -> AssetCheckResult:
    frames = raw_orders if isinstance(raw_orders, dict) else {context.partition_key: raw_orders}
    database = source.database()
    masters, master_data = _master_data(context, database, {"products": products, "customers": customers})
    known_customers = _known_ids(masters["customers"], "customer_id")
    known_products = _known_ids(masters["products"], "product_id")
    now = run_clock(config.as_of)
    # the source's future-dated lines are in no partition: validate them with the run so they are named and, above
    # the tolerance, block it (the run's clock may be set back with as_of; "future" is after the real clock)
    future = database.future_dated_lines()
    batch = orders_batch({**frames, FUTURE_PARTITION: future} if len(future) else frames)
    parameters = {
        "known_customers": known_customers,
        "known_products": known_products,
        "now": now,
    }
    report = _validate(batch, "raw_orders", parameters, ["partition", "order_id", "line_no"])
    empty = sorted(key for key, frame in frames.items() if frame is None or len(frame) == 0)
    extra = {
        "partitions": len(frames),
        "future_dated_lines": len(future),
        "empty_partitions": MetadataValue.json(empty),
        "failing_partitions": MetadataValue.json(failing_partitions(report, sorted(frames))),
        "as_of": str(now),
        "master_data": master_data,
    }
    result = _suite_result(report, extra)
    if not report.success:
        context.log.error(f"raw_orders_suite: partitions {extra['failing_partitions'].value}: {report.message()}")
    return result


@asset_check(asset=products, name="products_suite", blocking=True, description="GX suite expectations/products.json.")
def products_suite(products: pd.DataFrame) -> AssetCheckResult:
    return _suite_result(_validate(products, "products", {}, ["product_id"]))


@asset_check(
    asset=customers, name="customers_suite", blocking=True, description="GX suite expectations/customers.json."
)
def customers_suite(customers: pd.DataFrame) -> AssetCheckResult:
    return _suite_result(_validate(customers, "customers", {}, ["customer_id"]))


@asset_check(
    asset=interactions,
    name="interactions_suite",
    blocking=True,
    additional_ins={"products": AssetIn(), "customers": AssetIn()},
    description="GX suite expectations/interactions.json: the cleaned events the model trains on.",
)
def interactions_suite(interactions: pd.DataFrame, products: pd.DataFrame, customers: pd.DataFrame) -> AssetCheckResult:
    parameters = {
        "known_customers": _known_ids(customers, "customer_id"),
        "known_products": _known_ids(products, "product_id"),
        "now": run_clock(None),
    }
    return _suite_result(_validate(interactions, "interactions", parameters, ["customer_id", "product_id", "order_id"]))


@asset_check(
    asset=recommendations,
    name="recommendations_suite",
    blocking=True,
    additional_ins={"products": AssetIn(), "customers": AssetIn()},
    description="GX suite expectations/recommendations.json: K distinct active products for every customer.",
)
def recommendations_suite(
    context: AssetCheckExecutionContext,
    recommendations: pd.DataFrame,
    products: pd.DataFrame,
    customers: pd.DataFrame,
) -> AssetCheckResult:
    k = int(run_config_value(context, "recommendations", "k", 10))
    expected_customers = _known_ids(customers, "customer_id")
    parameters = {
        "k": k,
        "customers": expected_customers,
        "active_products": _known_ids(products[products["active"].astype(bool)], "product_id"),
        "expected_rows": k * len(expected_customers),
    }
    report = _validate(recommendations, "recommendations", parameters, ["customer_id", "rank"])
    return _suite_result(report, {"k": k, "expected_customers": len(expected_customers)})


DATA_SUITES = [raw_orders_suite, products_suite, customers_suite, interactions_suite, recommendations_suite]
