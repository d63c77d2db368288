"""The blocking Great Expectations suite on the business rules' data (expectations/business_rules.json)."""

from dagster import AssetCheckResult, AssetIn, asset_check

from ..assets.rules import business_rules
from ..core.rules.rule_data import RuleTables
from ..core.rules.rule_rows import rule_rows
from .data_suites import _known_ids, _suite_result, _validate


@asset_check(
    asset=business_rules,
    name="business_rules_suite",
    blocking=True,
    additional_ins={"products": AssetIn(), "customers": AssetIn()},
    description="GX suite expectations/business_rules.json: the rule tables name known products, customers, "
    "segments and categories; campaign shares in (0, 1]; campaigns end on or after they start.",
)
def business_rules_suite(business_rules: RuleTables, products, customers) -> AssetCheckResult:
    parameters = {
        "known_products": _known_ids(products, "product_id"),
        "known_customers": _known_ids(customers, "customer_id"),
        "known_segments": _known_ids(customers, "segment"),
        "known_categories": _known_ids(products, "category"),
    }
    report = _validate(rule_rows(business_rules), "business_rules", parameters, ["table", "row"])
    return _suite_result(report, {f"rows_{table}": rows for table, rows in business_rules.rows().items()})
