"""From an export's own column names to the data contract's (DESIGN §3), without a script.

The user states what they know (a small YAML file, `--columns`, `--currency`); the rest is recognised from the
column names English and German ERP exports use, or derived: line numbers counted within each order, the
currency from the settings, the status from rules (credit notes by an order-number prefix such as `C`, negative
quantities as returns). Whatever was recognised or derived rather than stated is a guess the user confirms
(`ResolvedMapping.guesses`) before anything is written.

A mapping file:

    columns:                 # contract column: the export's column
      order_id: InvoiceNo
      order_ts: InvoiceDate
      product_name: Description   # optional: product names when no products file is given
      customer_region: Country    # optional: customer regions when no customers file is given
    currency: GBP            # for exports without a currency column
    credit_note_prefix: C    # order numbers starting with it are credit notes ('' for none)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..data.schema import ORDER_COLUMNS, SchemaError

REQUIRED = ("order_id", "order_ts", "customer_id", "product_id", "quantity", "unit_price")
DERIVABLE = ("line_no", "currency", "order_status")
EXTRAS = ("product_name", "customer_region")  # master data taken from the order lines
TARGETS = (*ORDER_COLUMNS, *EXTRAS)
DEFAULT_CURRENCY = "EUR"
COMPLETED, RETURNED = "completed", "returned"
# names English and German ERP exports give the columns (compared without case, spaces and punctuation)
KNOWN_NAMES: dict[str, tuple[str, ...]] = {
    "order_id": ("InvoiceNo", "Invoice", "InvoiceNumber", "OrderID", "OrderNo", "OrderNumber", "DocumentNo",
                 "Belegnummer", "BelegNr", "Beleg", "Rechnungsnummer", "RechnungsNr", "Auftragsnummer", "AuftragsNr",
                 "Bestellnummer"),
    "line_no": ("LineNo", "Line", "LineNumber", "Item", "Position", "Pos", "PosNr", "Positionsnummer"),
    "order_ts": ("InvoiceDate", "OrderDate", "DocumentDate", "Date", "Belegdatum", "Rechnungsdatum", "Auftragsdatum",
                 "Bestelldatum", "Datum"),
    "customer_id": ("CustomerID", "CustomerNo", "CustomerNumber", "Customer", "Kundennummer", "KundenNr", "Kunde",
                    "Debitor", "Debitorennummer"),
    "product_id": ("StockCode", "ProductID", "ProductNo", "SKU", "ItemNo", "ItemCode", "ArticleNo", "Artikelnummer",
                   "ArtikelNr", "Artikel", "Materialnummer", "Material"),
    "quantity": ("Quantity", "Qty", "Menge", "Anzahl", "Stueck", "Stück"),
    "unit_price": ("UnitPrice", "Price", "Einzelpreis", "Preis", "Stueckpreis", "Stückpreis", "Nettopreis"),
    "currency": ("Currency", "CurrencyCode", "Waehrung", "Währung", "Whrg"),
    "order_status": ("Status", "OrderStatus", "Belegstatus", "Auftragsstatus"),
    "product_name": ("Description", "ProductName", "ItemName", "ItemDescription", "Artikelbezeichnung", "Bezeichnung",
                     "Artikelname", "Artikeltext"),
    "customer_region": ("Country", "Region", "Land", "Bundesland", "Gebiet", "Vertriebsgebiet"),
}  # fmt: skip


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-zäöüß]", "", str(name).casefold())


@dataclass(frozen=True)
class ColumnMapping:
    """What the user stated: columns (contract column -> export column), a currency, a credit-note prefix (None:
    not stated; '': no such rule). `from_file`: a mapping file was given, so what it leaves out is meant."""

    columns: dict[str, str] = field(default_factory=dict)
    currency: str | None = None
    credit_note_prefix: str | None = None
    from_file: bool = False

    @classmethod
    def from_yaml(cls, path: str | Path) -> ColumnMapping:
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise SchemaError(f"--columns {path}: cannot read it as YAML: {error}") from error
        unknown = set(data) - {"columns", "currency", "credit_note_prefix"} if isinstance(data, dict) else {data}
        if unknown or not isinstance(data.get("columns", {}), dict):
            raise SchemaError(
                f"--columns {path}: expected 'columns' (contract column: export column), 'currency' and "
                f"'credit_note_prefix', got {sorted(map(str, unknown)) or data}"
            )
        prefix = data.get("credit_note_prefix")
        mapping = cls(
            columns={str(k): str(v) for k, v in (data.get("columns") or {}).items()},
            currency=None if data.get("currency") is None else str(data["currency"]),
            credit_note_prefix="" if "credit_note_prefix" in data and prefix is None else prefix,
            from_file=True,
        )
        return mapping.checked(f"--columns {path}")

    @classmethod
    def parse(cls, text: str) -> ColumnMapping:
        """`--columns`: a YAML file, or inline pairs `order_id=InvoiceNo,order_ts=InvoiceDate`."""
        if Path(text).is_file() or "=" not in text:
            return cls.from_yaml(text)
        pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise SchemaError(f"--columns {text!r}: expected a YAML file or pairs such as order_id=InvoiceNo,...")
        return cls(columns={k.strip(): v.strip() for k, v in pairs}).checked(f"--columns {text!r}")

    def checked(self, source: str) -> ColumnMapping:
        unknown = sorted(set(self.columns) - set(TARGETS))
        if unknown:
            raise SchemaError(f"{source}: unknown contract column(s) {unknown}; known: {list(TARGETS)}")
        return self

    def with_options(self, currency: str | None, credit_note_prefix: str | None) -> ColumnMapping:
        """The command line's --currency / --credit-prefix over the file's."""
        return ColumnMapping(
            self.columns,
            currency if currency is not None else self.currency,
            credit_note_prefix if credit_note_prefix is not None else self.credit_note_prefix,
            self.from_file,
        )


@dataclass(frozen=True)
class ResolvedMapping:
    """How the orders file's columns become the contract's: each target's column or derivation, and the guesses
    (recognised or derived, not stated) that need the user's confirmation."""

    columns: dict[str, str]
    currency: str | None  # the constant currency when the file has no currency column
    credit_note_prefix: str  # '' for none
    guesses: tuple[str, ...]

    def is_identity(self) -> bool:
        """Every contract column read from the file's column of that name: nothing mapped or derived."""
        return all(self.columns.get(c) == c for c in ORDER_COLUMNS)

    def describe(self) -> list[str]:
        """One line per target, as the user reads it before confirming."""
        lines = []
        for target in TARGETS:
            if target in self.columns:
                how = f"column '{self.columns[target]}'"
            elif target == "line_no":
                how = "numbered 1, 2, ... within each order, in file order"
            elif target == "currency":
                how = f"{self.currency} on every line"
            elif target == "order_status":
                prefix = self.credit_note_prefix
                credit = f"order numbers starting with '{prefix}' (credit notes) and " if prefix else ""
                how = f"{RETURNED!r} for {credit}negative quantities, else {COMPLETED!r}"
            else:
                continue
            guess = ("   (recognised)" if target in self.columns else "   (assumed)") if target in self.guesses else ""
            lines.append(f"{target:<16} <- {how}{guess}")
        return lines

    def as_yaml(self) -> str:
        """The mapping as a file for --columns, so the next import needs no confirmation."""
        import yaml

        data: dict = {"columns": dict(self.columns)}
        if "currency" not in self.columns:
            data["currency"] = self.currency
        data["credit_note_prefix"] = self.credit_note_prefix
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """`frame` with the contract's columns (the derived ones filled; the status finished by `finish` once the
        quantities are numbers) and the extras (product names, customer regions) keyed by their ids."""
        orders = pd.DataFrame({t: frame[c] for t, c in self.columns.items() if t in ORDER_COLUMNS}, index=frame.index)
        if "line_no" not in orders:
            orders["line_no"] = orders.groupby("order_id", sort=False, dropna=False).cumcount() + 1
        if "currency" not in orders:
            orders["currency"] = self.currency
        if "order_status" not in orders:
            orders["order_status"] = COMPLETED  # `finish` marks credit notes and returns
        extras = pd.DataFrame(
            {
                **{key: orders[key] for key in ("product_id", "customer_id")},
                **{t: frame[c] for t, c in self.columns.items() if t in EXTRAS},
            },
            index=frame.index,
        )
        return orders[list(ORDER_COLUMNS)], extras

    def finish(self, orders: pd.DataFrame) -> pd.DataFrame:
        """The derived status on contract-typed orders: credit notes (by prefix) become returns with a negative
        quantity, and negative quantities are returns. Stated status columns are left as they are."""
        if "order_status" in self.columns:
            return orders
        orders = orders.copy()
        credit = pd.Series(False, index=orders.index)
        if self.credit_note_prefix:
            credit = orders["order_id"].str.startswith(self.credit_note_prefix).fillna(False).astype(bool)
            orders.loc[credit, "quantity"] = -orders.loc[credit, "quantity"].abs()
        returned = credit | (orders["quantity"] < 0).fillna(False)
        orders.loc[returned, "order_status"] = RETURNED
        return orders


def credit_note_prefix_in(order_ids: pd.Series) -> str:
    """The letters some order numbers carry where most are plain digits (C536379 among 536365): the export's
    credit-note prefix; '' when there is no such single prefix."""
    ids = order_ids.dropna().astype("string[pyarrow]").str.strip()
    if ids.empty or ids.str.fullmatch(r"\d+").fillna(False).mean() < 0.5:
        return ""
    prefixes = ids.str.extract(r"^([A-Za-z]+)\d+$")[0].dropna().unique()
    return str(prefixes[0]) if len(prefixes) == 1 else ""


def resolve_mapping(frame: pd.DataFrame, stated: ColumnMapping, default_currency: str | None) -> ResolvedMapping:
    """Each target's export column (stated, the contract's own name, or a known ERP name) or derivation.

    Raises SchemaError naming the stated columns the file lacks, or the required columns nothing provides, with
    the file's columns and how to map them."""
    header = [str(c) for c in frame.columns]
    wrong = {t: c for t, c in stated.columns.items() if c not in header}
    if wrong:
        raise SchemaError(f"the column mapping names column(s) the file does not have: {wrong}; its columns: {header}")
    columns: dict[str, str] = {}
    guesses: list[str] = []
    used = set(stated.columns.values())
    for target in TARGETS:
        if target in stated.columns:
            columns[target] = stated.columns[target]
        elif target in header and target not in used:
            columns[target] = target
        else:
            known = {_key(name) for name in KNOWN_NAMES[target]}
            found = next((c for c in header if c not in used and _key(c) in known), None)
            if found is not None:
                columns[target] = found
                guesses += [target] if target in ORDER_COLUMNS else []  # extras only name master data
        used.add(columns.get(target, ""))
    missing = [t for t in REQUIRED if t not in columns]
    if missing:
        example = "\n".join(f"    {t}: <your column>" for t in missing)
        raise SchemaError(
            f"missing column(s) {missing} for table 'orders': no column of the file {header} is named so or "
            f"has a known ERP name for it. Map them in a file passed with --columns FILE:\n  columns:\n{example}"
        )
    derived = [t for t in DERIVABLE if t not in columns]
    if not stated.from_file:
        guesses += [t for t in derived if not (t == "currency" and (stated.currency or default_currency))]
    elif "currency" in derived and not (stated.currency or default_currency):
        guesses.append("currency")  # nothing says which currency: confirm the default
    prefix = stated.credit_note_prefix
    if prefix is None and (stated.from_file or "order_status" in columns):
        prefix = ""
    elif prefix is None:
        prefix = credit_note_prefix_in(frame[columns["order_id"]])
    return ResolvedMapping(
        columns=columns,
        currency=None if "currency" in columns else (stated.currency or default_currency or DEFAULT_CURRENCY),
        credit_note_prefix=prefix,
        guesses=tuple(guesses),
    )
