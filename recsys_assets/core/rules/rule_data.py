"""The business rules' data: four optional tables of the source database and the list settings file.

Stock, assortments, blocks and campaigns change during the day and come from the ERP, so they are tables of the
SOURCE database next to the orders (read at publish time and, every few seconds, by the serving API). The shape of a
list (the cap per category, which rules are switched on) is a decision of the data team rather than ERP data: it is
a small JSON file next to `expectations/`, reviewed like code. Every table is optional: a table that is absent (or
empty) is no rule, and the metadata says so.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..data.schema import TEXT_DTYPE, SchemaError

# the tables in the source database and their columns (text columns may be empty where the docs say so)
RULE_TABLES: dict[str, dict[str, str]] = {
    # one row per product the ERP knows the stock of; `available` <= 0 is out of stock (no row: not judged)
    "stock": {"product_id": "string", "available": "float64"},
    # what a contract allows: a category or a product, for one customer or for every customer of a segment
    "assortments": {"customer_id": "string", "segment": "string", "category": "string", "product_id": "string"},
    # a product never shown to one customer or to a segment
    "blocked_products": {"customer_id": "string", "segment": "string", "product_id": "string", "reason": "string"},
    # a product pinned in the first slots of the lists, from start_date to end_date (inclusive), for a segment or
    # for everyone (segment empty); `share` of the K slots at most per campaign
    "campaigns": {
        "campaign_id": "string",
        "product_id": "string",
        "segment": "string",
        "start_date": "datetime64[ns]",
        "end_date": "datetime64[ns]",
        "share": "float64",
    },
}
# columns a row may leave empty (the others are required)
OPTIONAL_COLUMNS = {
    "assortments": ("customer_id", "segment", "category", "product_id"),
    "blocked_products": ("customer_id", "segment", "reason"),
    "campaigns": ("segment",),
}
RULES = ("stock", "assortment", "blocked", "category_cap", "campaign")
RULE_OF_TABLE = {"stock": "stock", "assortments": "assortment", "blocked_products": "blocked", "campaigns": "campaign"}

RULES_FILE_ENV = "RECSYS_RULES_FILE"


def conform_rule_table(frame: pd.DataFrame, table: str, source: str) -> pd.DataFrame:
    """`frame` with exactly the columns of rule table `table`, typed; a SchemaError names a missing or mistyped
    column. Optional text columns may be absent (read as empty)."""
    if table not in RULE_TABLES:
        raise SchemaError(f"{source}: '{table}' is not a rule table; known: {sorted(RULE_TABLES)}")
    optional = OPTIONAL_COLUMNS.get(table, ())
    columns = {}
    for column, dtype in RULE_TABLES[table].items():
        if column not in frame.columns:
            if column not in optional:
                raise SchemaError(
                    f"{source}: missing column '{column}' for rule table '{table}'; its columns: "
                    f"{list(RULE_TABLES[table])} (empty allowed: {list(optional)})"
                )
            columns[column] = pd.Series([pd.NA] * len(frame), dtype=TEXT_DTYPE, index=frame.index)
            continue
        values = frame[column]
        if dtype == "string":
            text = values.astype(TEXT_DTYPE).str.strip()
            columns[column] = text.mask(text == "")
        elif dtype.startswith("datetime"):
            parsed = pd.to_datetime(values, errors="coerce")
            _refuse(values, parsed.isna() & values.notna(), table, column, source, "a date")
            columns[column] = parsed.astype("datetime64[ns]")
        else:
            parsed = pd.to_numeric(values, errors="coerce")
            _refuse(values, parsed.isna() & values.notna(), table, column, source, "a number")
            columns[column] = parsed.astype("float64")
    result = pd.DataFrame(columns).reset_index(drop=True)
    required = [c for c in RULE_TABLES[table] if c not in optional]
    for column in required:
        _refuse(result[column], result[column].isna(), table, column, source, "a value (it has empty ones)")
    return result


def _refuse(values: pd.Series, bad: pd.Series, table: str, column: str, source: str, expected: str) -> None:
    if bad.any():
        sample = values[bad].astype(str).head(5).tolist()
        raise SchemaError(
            f"{source}: rule table '{table}', column '{column}' must hold {expected}; {int(bad.sum())} row(s) do "
            f"not, e.g. {sample}"
        )


@dataclass(frozen=True)
class ListRuleSettings:
    """The list settings file (`rules/list_rules.json`, or `RECSYS_RULES_FILE`).

    max_per_category: at most this many products of one category in a list (None: no cap).
    turned_off: rules whose data exists but which are not applied (their cost is still measured).
    candidates_per_slot: the model ranks K x this many products per customer before the rules cut to K.
    refresh_seconds: how often the serving API reads the rule tables again.
    """

    max_per_category: int | None = None
    turned_off: tuple[str, ...] = ()
    candidates_per_slot: int = 5
    refresh_seconds: float = 60.0
    path: str = ""

    def __post_init__(self):
        unknown = sorted(set(self.turned_off) - set(RULES))
        where = self.path or "list settings"
        if unknown:
            raise ValueError(f"{where}: turned_off names unknown rules {unknown}; the rules are {list(RULES)}")
        if self.max_per_category is not None and self.max_per_category < 1:
            raise ValueError(f"{where}: max_per_category must be at least 1 or null, got {self.max_per_category}")
        if self.candidates_per_slot < 1:
            raise ValueError(f"{where}: candidates_per_slot must be at least 1, got {self.candidates_per_slot}")
        if self.refresh_seconds <= 0:
            raise ValueError(f"{where}: refresh_seconds must be positive, got {self.refresh_seconds}")


def rules_file() -> Path:
    """The list settings file: `RECSYS_RULES_FILE`, else the repository's `rules/list_rules.json`."""
    configured = os.environ.get(RULES_FILE_ENV)
    default = Path(__file__).resolve().parents[3] / "rules" / "list_rules.json"
    return Path(configured).resolve() if configured else default


def load_list_settings(path: Path | None = None) -> ListRuleSettings:
    """The list settings from `path` (default `rules_file()`); a missing file is the defaults (no cap, every rule
    with data on). A file that is not valid JSON, or with unknown keys, is an error naming it."""
    path = path or rules_file()
    if not path.exists():
        return ListRuleSettings(path=str(path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"list settings {path} are not valid JSON: {error}") from error
    known = {"max_per_category", "turned_off", "candidates_per_slot", "refresh_seconds", "notes"}
    if not isinstance(data, dict) or set(data) - known:
        extra = sorted(set(data) - known) if isinstance(data, dict) else data
        raise ValueError(f"list settings {path}: unknown keys {extra}; known: {sorted(known)}")
    return ListRuleSettings(
        max_per_category=data.get("max_per_category"),
        turned_off=tuple(data.get("turned_off", ())),
        candidates_per_slot=int(data.get("candidates_per_slot", 5)),
        refresh_seconds=float(data.get("refresh_seconds", 60.0)),
        path=str(path),
    )


@dataclass(frozen=True)
class RuleTables:
    """The rule tables as read (None: the source has no such table) and the list settings."""

    stock: pd.DataFrame | None = None
    assortments: pd.DataFrame | None = None
    blocked_products: pd.DataFrame | None = None
    campaigns: pd.DataFrame | None = None
    settings: ListRuleSettings = field(default_factory=ListRuleSettings)

    def table(self, name: str) -> pd.DataFrame | None:
        return getattr(self, name)

    def present(self) -> dict[str, bool]:
        """Per rule: whether it has data (a non-empty table; for the cap, a max_per_category)."""
        found = {rule: self.table(t) is not None and len(self.table(t)) > 0 for t, rule in RULE_OF_TABLE.items()}
        found["category_cap"] = self.settings.max_per_category is not None
        return {rule: found[rule] for rule in RULES}

    def applied(self) -> tuple[str, ...]:
        """The rules applied to published and served lists: those with data that are not turned off."""
        return tuple(r for r, has in self.present().items() if has and r not in self.settings.turned_off)

    def describe(self) -> dict[str, str]:
        """Per rule, in words: applied, measured only (turned off), or no data."""
        words = {}
        for rule, has in self.present().items():
            if not has:
                words[rule] = "no data: no rule"
            elif rule in self.settings.turned_off:
                words[rule] = "turned off: measured, not applied"
            else:
                words[rule] = "applied"
        return words

    def rows(self) -> dict[str, int]:
        return {t: 0 if self.table(t) is None else len(self.table(t)) for t in RULE_OF_TABLE}
