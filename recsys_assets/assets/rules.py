"""The business rules' data (group `source`): the rule tables of the source database and the list settings file."""

from dagster import MetadataValue, Output, asset

from ..core.rules.rule_data import RuleTables
from ..core.stores.rule_tables import read_rule_tables
from ..resources.source import SourceDatabaseResource
from .source import SOURCE_RETRY


@asset(group_name="source", retry_policy=SOURCE_RETRY, code_version="1")
def business_rules(source: SourceDatabaseResource) -> Output[RuleTables]:
    """Stock, contract assortments, blocked products and campaigns as the source database holds them now (each
    table optional: no table, no rule), with the list settings (`rules/list_rules.json`: the cap per category,
    rules turned off). Checked by `business_rules_suite`; applied by `recommendations`, priced by `model_metrics`."""
    tables = read_rule_tables(source.database())
    states = tables.describe()
    return Output(
        tables,
        metadata={
            **{f"rows_{table}": rows for table, rows in tables.rows().items()},
            "applied_rules": MetadataValue.json(list(tables.applied())),
            "rules": MetadataValue.md("\n".join(f"- {rule}: {words}" for rule, words in states.items())),
            "settings_file": MetadataValue.path(tables.settings.path),
            "max_per_category": tables.settings.max_per_category or 0,
            "source": source.display_url(),
        },
    )
