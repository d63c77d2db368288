"""`recsys import-rules`: load the business rules' tables (stock, assortments, blocks, campaigns) from CSV files."""

from __future__ import annotations

import argparse
from pathlib import Path

RULE_FILES = {"stock": "stock", "assortments": "assortments", "blocked": "blocked_products", "campaigns": "campaigns"}


def cmd_import_rules(args: argparse.Namespace) -> int:
    from ..core.stores.erp_csv import CsvDialect
    from ..core.stores.rule_tables import forget_generated_marker, read_rule_csv, write_rule_tables
    from ..core.stores.source_db import open_for_writing, safe_url
    from ..settings import local_source_url

    files = {table: getattr(args, option) for option, table in RULE_FILES.items() if getattr(args, option)}
    if not files:
        raise ValueError("name at least one rule file: --stock, --assortments, --blocked or --campaigns")
    dates = {"day-first": True, "month-first": False, "auto": None}[args.dates]
    given = CsvDialect(
        encoding=args.encoding,
        delimiter="\t" if args.delimiter == "tab" else args.delimiter,
        decimal=args.decimal,
        dayfirst=dates,
    )
    frames, read = {}, {}
    for table, path in files.items():  # every file read and checked before anything is written
        frames[table], dialect = read_rule_csv(path, table, given)
        read[table] = f"{path} ({dialect.describe()})"
    url = args.url or local_source_url()
    database = open_for_writing(url)
    written = write_rule_tables(database, frames)
    forget_generated_marker(database)
    print(f"imported rule tables into {safe_url(url)}:")
    for table, rows in written.items():
        print(f"    {table}: {rows} rows from {read[table]}")
    print("    the serving API applies them within refresh_seconds; the next run checks them (business_rules_suite)")
    return 0


def add_commands(commands) -> None:
    """Register `import-rules` on the `recsys` sub-command parser."""
    rules = commands.add_parser(
        "import-rules", help="load stock, assortments, blocked products or campaigns from CSV (replaces each table)"
    )
    rules.add_argument("--stock", type=Path, help="product_id;available (<= 0: out of stock)")
    rules.add_argument(
        "--assortments", type=Path, help="customer_id;segment;category;product_id (a customer or a segment each row)"
    )
    rules.add_argument("--blocked", type=Path, help="customer_id;segment;product_id;reason")
    rules.add_argument("--campaigns", type=Path, help="campaign_id;product_id;segment;start_date;end_date;share")
    rules.add_argument("--encoding", help="CSV text encoding, e.g. latin-1, cp1252, utf-8 (default: detected)")
    rules.add_argument("--delimiter", help="CSV field delimiter: ';', ',', tab or '|' (default: detected)")
    rules.add_argument("--decimal", choices=[",", "."], help="decimal mark of numbers (default: detected)")
    rules.add_argument(
        "--dates",
        choices=["auto", "day-first", "month-first"],
        default="auto",
        help="order of non-ISO dates such as 03.04.2026 (default: decided by the values)",
    )
    rules.add_argument("--url", help="SQLAlchemy URL of the source DB (default: the local one)")
    rules.set_defaults(func=cmd_import_rules)
