"""`recsys generate`, `recsys import-orders`, `recsys materialize`: fill the source database, run the graph."""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from .output import QUIET_LOGS, print_metrics, step

DEMO_SCALE = {"customers": 3_000, "products": 4_000, "days": 90, "lines_per_day": 1_500}
# RECSYS_DEMO_SCALE=small: the demos on a quarter of the customers and half the days (a quick look, CI)
SMALL_DEMO_SCALE = {"customers": 800, "products": 600, "days": 45, "lines_per_day": 500}


def demo_scale() -> dict:
    """The demos' data size: DEMO_SCALE, or SMALL_DEMO_SCALE with RECSYS_DEMO_SCALE=small."""
    import os

    choice = os.environ.get("RECSYS_DEMO_SCALE", "").strip().lower() or "default"
    if choice not in ("default", "small"):
        raise ValueError(f"RECSYS_DEMO_SCALE must be 'small' or unset, got {choice!r}")
    return SMALL_DEMO_SCALE if choice == "small" else DEMO_SCALE


DRIFT_KINDS = ["segment_mix", "category_surge", "price_shift"]


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from error


def cmd_generate(args: argparse.Namespace) -> int:
    from ..core.data.generator import GeneratorConfig, generate_stream
    from ..core.stores.source_db import open_for_writing, safe_url
    from ..settings import local_source_url

    knobs = {
        "seed": args.seed,
        "end_date": args.end_date,
        "drift_start": args.drift_start,
        "drift_kind": args.drift_kind,
        "bad_data_rate": args.bad_data_rate,
    }
    scale = {key: getattr(args, key) for key in DEMO_SCALE if getattr(args, key, None) is not None}
    if getattr(args, "realistic", False):
        config = GeneratorConfig.realistic(**knobs, **scale)
    else:
        config = GeneratorConfig(**knobs, **{**DEMO_SCALE, **scale})
    url = args.url or local_source_url()
    started = step(f"generating {config.days} days x {config.lines_per_day} lines/day (seed {config.seed})")
    stream = generate_stream(config)
    written = {"lines": 0}

    def with_progress(chunks):
        """The order chunks as they are written to the staging table, a line each once written."""
        for number, chunk in enumerate(chunks, 1):
            yield chunk
            written["lines"] += len(chunk)
            print(
                f"    chunk {number}/{stream.n_chunks}: {written['lines']} order lines written, "
                f"{time.perf_counter() - started:.1f}s",
                flush=True,
            )

    # one transaction: the orders streamed chunk by chunk into a staging table, then products and customers
    open_for_writing(url).write_tables(stream.tables(orders=with_progress(stream.orders)), new_history=True)
    print(
        f"    wrote {written['lines']} order lines ({config.start_date()} to {config.resolved_end_date()}), "
        f"{len(stream.products)} products, {len(stream.customers)} customers to {safe_url(url)} "
        f"in {time.perf_counter() - started:.1f}s"
    )
    if stream.product_kinds is not None:
        print(f"    {describe_repeat_buying(stream.product_kinds)}")
    generated_rules(url, config, getattr(args, "realistic", False))
    report_replaced_orders(url)
    return 0


def describe_repeat_buying(kinds) -> str:
    """One line on the generated products' kinds: how many consumables and their reorder intervals, how many project
    products (illustrative figures of the generator, not measured on a shop)."""
    days = kinds["reorder_days"].dropna()
    low, median, high = days.quantile([0.1, 0.5, 0.9])
    return (
        f"repeat buying: {len(days)} consumables, nine in ten reordered every {low:.0f}-{high:.0f} days (median "
        f"{median:.0f}); {int(kinds['reorder_days'].isna().sum())} project products, not reordered (illustrative)"
    )


def generated_rules(url: str, config, realistic: bool) -> None:
    """A realistic shop gets stock-outs, contracts, blocks and a campaign; another generated shop none (the previous
    shop's rule tables name products and customers the new one does not have)."""
    from ..core.stores.rule_tables import drop_rule_tables, write_generated_rules
    from ..core.stores.source_db import SourceDatabase

    database = SourceDatabase(url)
    if realistic:
        written = write_generated_rules(database, config.resolved_end_date(), config.seed)
        print(f"    wrote the business rules' tables: {', '.join(f'{t} {n} rows' for t, n in written.items())}")
    elif dropped := drop_rule_tables(database):
        print(f"    dropped the previous shop's business rules' tables: {', '.join(dropped)}")


def report_replaced_orders(url: str) -> None:
    """The orders of `url` were replaced: forget what the graph had read from the old ones (local_run)."""
    from ..core.faults import failpoint
    from ..settings import dagster_home

    failpoint("import.committed")  # the new tables committed, the partitions read from the old ones not forgotten
    if not (dagster_home() / "dagster.yaml").exists():
        return  # no Dagster instance yet, so nothing was read (and Dagster need not be imported)
    from .local_run import forget_replaced_orders

    done = forget_replaced_orders(url)
    if done:
        print(f"    {done}")


def cmd_import(args: argparse.Namespace) -> int:
    from ..core.stores.column_mapping import ColumnMapping
    from ..core.stores.erp_csv import CsvDialect
    from ..core.stores.importer import import_files
    from ..core.stores.source_db import open_for_writing, safe_url
    from ..settings import import_currency, import_date_order, local_source_url

    url = args.url or local_source_url()
    dates = {"day-first": True, "month-first": False, "auto": None}[args.dates]
    dialect = CsvDialect(
        encoding=args.encoding,
        delimiter="\t" if args.delimiter == "tab" else args.delimiter,
        decimal=args.decimal,
        dayfirst=dates if dates is not None else import_date_order(),
    )
    columns = ColumnMapping.parse(args.columns) if args.columns else ColumnMapping()
    summary = import_files(
        open_for_writing(url),
        args.orders,
        args.products,
        args.customers,
        append=args.append,
        allow_empty=args.allow_empty,
        dialect=dialect,
        columns=columns.with_options(args.currency, args.credit_prefix),
        confirm=confirm_mapping(args.yes),
        default_currency=import_currency(),
        quarantine=args.quarantine_implausible_dates,
    )
    print(f"imported into {safe_url(url)}:")
    for line in summary.lines():
        print(f"    {line}")
    if not args.append:
        from ..core.stores.rule_tables import drop_rule_tables

        if dropped := drop_rule_tables(open_for_writing(url), generated_only=True):
            print(f"    dropped the generated shop's business rules' tables: {', '.join(dropped)}")
        report_replaced_orders(url)
    return 0


def interactive() -> bool:
    """Whether a person can answer a question: stdin and stdout are terminals."""
    import sys

    return sys.stdin.isatty() and sys.stdout.isatty()


def confirm_mapping(assume_yes: bool):
    """The import's question before it reads an export with a guessed column mapping: accepted with --yes, asked
    on a terminal; otherwise declined (the import then refuses, printing the mapping and the flag)."""

    def confirm(mapping) -> bool:
        if not (assume_yes or interactive()):
            return False
        print("the orders file lacks contract columns; it will be read with this mapping:")
        for line in mapping.describe():
            print(f"    {line}")
        if assume_yes:
            print("    accepted (--yes)")
            return True
        accepted = input("use this mapping? [y/N] ").strip().lower() in ("y", "yes", "j", "ja")
        if accepted:
            print("    to skip this question next time, save the mapping and pass --columns FILE:")
            print("\n".join(f"        {line}" for line in mapping.as_yaml().splitlines()))
        return accepted

    return confirm


def cmd_export(args: argparse.Namespace) -> int:
    from ..core.stores.erp_csv import write_erp_csv
    from ..core.stores.source_db import SourceDatabase, safe_url
    from ..settings import local_source_url

    url = args.url or local_source_url()
    database = SourceDatabase(url)
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    delimiter = "\t" if args.delimiter == "tab" else args.delimiter
    for table in ("orders", "products", "customers"):
        frame = database.read_all(table)
        path = write_erp_csv(frame, folder / f"{table}.csv", delimiter, args.decimal, args.encoding, args.date_format)
        print(f"    {len(frame)} {table} from {safe_url(url)} -> {path}")
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from ..core.data.profile import profile_orders
    from ..core.stores.source_db import SourceDatabase, safe_url
    from ..settings import local_source_url

    url = args.url or local_source_url()
    database = SourceDatabase(url)
    print(f"==> profile of {safe_url(url)}")
    report = profile_orders(
        database.read_all("orders"), database.read_master("products"), database.read_master("customers")
    )
    for line in report.lines():
        print(f"    {line}")
    return 0


def load_run_config(path: Path | None) -> dict:
    """A run config file (YAML or JSON, the Launchpad's format: {"ops": {asset: {"config": {...}}}})."""
    if path is None:
        return {}
    import yaml

    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"--config {path}: cannot read it as YAML: {error}") from error
    if not isinstance(config, dict) or set(config) - {"ops", "resources", "loggers"}:
        raise ValueError(f"--config {path}: expected a run config with 'ops' (as in the Launchpad), got {config!r}")
    return config


def cmd_materialize(args: argparse.Namespace) -> int:
    from ..resources import resources_for
    from ..settings import current_deployment
    from .local_run import forget_stale_partitions, materialize_graph, persistent_instance, with_run_config_source
    from .progress import step_progress

    run_config = {**load_run_config(args.config), **QUIET_LOGS}
    started = step("materializing raw_orders over its partitions, then every downstream asset")
    instance = persistent_instance()
    if current_deployment() == "local":
        # an import killed after its commit left partitions read from the old orders: forget them first
        forgotten = forget_stale_partitions(instance, with_run_config_source(resources_for("local"), run_config))
        if forgotten:
            print(f"    {forgotten}")
    with step_progress(instance):
        run = materialize_graph(args.start, args.end, run_config=run_config, instance=instance, raise_on_error=False)
    ok = run.success
    print(
        f"    partitions {run.partitions[0]} to {run.partitions[1]}; {'success' if ok else 'FAILED'} "
        f"in {time.perf_counter() - started:.1f}s"
    )
    if not ok:
        failed = run.runs[-1]
        for event in failed.get_step_failure_events():
            print(f"    step {event.step_key} failed: {event.event_specific_data.error.message.strip()}")
        return 1
    print_metrics(run.downstream.output_for_node("model_metrics"))
    return 0


def add_commands(commands) -> None:
    """Register `generate`, `import-orders` and `materialize` on the `recsys` sub-command parser."""
    generate = commands.add_parser("generate", help="write synthetic orders, products and customers")
    generate.add_argument(
        "--realistic",
        action="store_true",
        help="a shop's real history: 3 years, closed weekends and holidays, sparse customers (docs: import)",
    )
    for key, value in DEMO_SCALE.items():
        generate.add_argument(
            f"--{key.replace('_', '-')}", type=int, help=f"default {value}; with --realistic the preset's"
        )
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument("--end-date", type=parse_date, default=None, help="last order day (default yesterday)")
    generate.add_argument("--drift-start", type=parse_date, default=None, help="inject drift from this day")
    generate.add_argument("--drift-kind", default="category_surge", choices=DRIFT_KINDS)
    generate.add_argument("--bad-data-rate", type=float, default=0.0, help="share of bad lines per bad-data class")
    generate.add_argument("--url", help="SQLAlchemy URL of the source DB (default: the local one)")
    generate.set_defaults(func=cmd_generate)

    importer = commands.add_parser("import-orders", help="load your own orders from CSV or Parquet")
    importer.add_argument("orders", type=Path, help="orders file (.csv or .parquet)")
    importer.add_argument("--products", type=Path, help="products file (default: derived from the orders)")
    importer.add_argument("--customers", type=Path, help="customers file (default: derived from the orders)")
    importer.add_argument("--append", action="store_true", help="append to the orders instead of replacing")
    importer.add_argument(
        "--allow-empty", action="store_true", help="accept an orders file without lines (it empties the history)"
    )
    importer.add_argument("--encoding", help="CSV text encoding, e.g. latin-1, cp1252, utf-8 (default: detected)")
    importer.add_argument("--delimiter", help="CSV field delimiter: ';', ',', tab or '|' (default: detected)")
    importer.add_argument("--decimal", choices=[",", "."], help="decimal mark of CSV numbers (default: detected)")
    order = importer.add_mutually_exclusive_group()
    order.add_argument(
        "--dates",
        choices=["auto", "day-first", "month-first"],
        default="auto",
        help="order of non-ISO dates such as 03.04.2025 (default: RECSYS_IMPORT_DATES, else decided by the values; "
        "a file whose dates all read both ways is refused)",
    )
    order.add_argument("--dayfirst", dest="dates", action="store_const", const="day-first", help="= --dates day-first")
    order.add_argument(
        "--monthfirst", dest="dates", action="store_const", const="month-first", help="= --dates month-first"
    )
    importer.add_argument(
        "--columns",
        metavar="MAPPING",
        help="column mapping: a YAML file (columns: {order_id: InvoiceNo, ...}, currency, credit_note_prefix) or "
        "pairs order_id=InvoiceNo,order_ts=InvoiceDate (default: recognised from English and German ERP names)",
    )
    importer.add_argument("-y", "--yes", action="store_true", help="accept the recognised column mapping unasked")
    importer.add_argument(
        "--currency", help="currency of every line when the file has none (default: RECSYS_IMPORT_CURRENCY)"
    )
    importer.add_argument(
        "--credit-prefix",
        help="order numbers starting with it are credit notes, imported as returns ('' for none; default: detected)",
    )
    importer.add_argument(
        "--quarantine-implausible-dates",
        action="store_true",
        help="leave out (and count) lines dated 1900/1970-like or far before the rest, instead of refusing the file",
    )
    importer.add_argument("--url", help="SQLAlchemy URL of the source DB (default: the local one)")
    importer.set_defaults(func=cmd_import)

    profile = commands.add_parser("profile", help="what the order history looks like, and the settings chosen")
    profile.add_argument("--url", help="SQLAlchemy URL of the source DB (default: the local one)")
    profile.set_defaults(func=cmd_profile)

    export = commands.add_parser("export-orders", help="write the source tables as ERP-style CSV files")
    export.add_argument("folder", type=Path, help="folder for orders.csv, products.csv, customers.csv")
    export.add_argument("--delimiter", default=";", help="field delimiter (default ';')")
    export.add_argument("--decimal", default=",", choices=[",", "."], help="decimal mark (default ',')")
    export.add_argument("--encoding", default="latin-1", help="text encoding (default latin-1)")
    export.add_argument("--date-format", default="%d.%m.%Y %H:%M:%S", help="strftime format of order_ts")
    export.add_argument("--url", help="SQLAlchemy URL of the source DB (default: the local one)")
    export.set_defaults(func=cmd_export)

    materialize = commands.add_parser("materialize", help="materialize the whole asset graph")
    materialize.add_argument("--start", help="first raw_orders partition (default: first order day)")
    materialize.add_argument("--end", help="last raw_orders partition (default: last order day)")
    materialize.add_argument(
        "--config", type=Path, help="run config YAML, the Launchpad's format (see the docs: Run configuration)"
    )
    materialize.set_defaults(func=cmd_materialize)
