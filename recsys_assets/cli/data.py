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
    from ..core.data.generator import GeneratorConfig, generate
    from ..core.stores.source_db import open_for_writing, safe_url
    from ..settings import local_source_url

    config = GeneratorConfig(
        customers=args.customers,
        products=args.products,
        days=args.days,
        lines_per_day=args.lines_per_day,
        seed=args.seed,
        end_date=args.end_date,
        drift_start=args.drift_start,
        drift_kind=args.drift_kind,
        bad_data_rate=args.bad_data_rate,
    )
    url = args.url or local_source_url()
    started = step(f"generating {config.days} days x {config.lines_per_day} lines/day (seed {config.seed})")
    data = generate(config)
    database = open_for_writing(url)
    for table in ("orders", "products", "customers"):
        database.write(table, getattr(data, table), replace=True)
    print(
        f"    wrote {len(data.orders)} order lines ({config.start_date()} to {config.resolved_end_date()}), "
        f"{len(data.products)} products, {len(data.customers)} customers to {safe_url(url)} "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from ..core.stores.importer import import_files
    from ..core.stores.source_db import open_for_writing, safe_url
    from ..settings import local_source_url

    url = args.url or local_source_url()
    written = import_files(open_for_writing(url), args.orders, args.products, args.customers, append=args.append)
    print(f"imported into {safe_url(url)}: " + ", ".join(f"{n} {t}" for t, n in written.items()))
    return 0


def cmd_materialize(args: argparse.Namespace) -> int:
    from .local_run import materialize_graph

    started = step("materializing raw_orders over its partitions, then every downstream asset")
    run = materialize_graph(args.start, args.end, run_config=QUIET_LOGS, raise_on_error=False)
    ok = run.ingest.success and run.downstream is not None and run.downstream.success
    print(
        f"    partitions {run.partitions[0]} to {run.partitions[1]}; {'success' if ok else 'FAILED'} "
        f"in {time.perf_counter() - started:.1f}s"
    )
    if not ok:
        failed = run.downstream or run.ingest
        for event in failed.get_step_failure_events():
            print(f"    step {event.step_key} failed: {event.event_specific_data.error.message.strip()}")
        return 1
    print_metrics(run.downstream.output_for_node("model_metrics"))
    return 0


def add_commands(commands) -> None:
    """Register `generate`, `import-orders` and `materialize` on the `recsys` sub-command parser."""
    generate = commands.add_parser("generate", help="write synthetic orders, products and customers")
    generate.add_argument("--customers", type=int, default=DEMO_SCALE["customers"])
    generate.add_argument("--products", type=int, default=DEMO_SCALE["products"])
    generate.add_argument("--days", type=int, default=DEMO_SCALE["days"])
    generate.add_argument("--lines-per-day", type=int, default=DEMO_SCALE["lines_per_day"])
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
    importer.add_argument("--url", help="SQLAlchemy URL of the source DB (default: the local one)")
    importer.set_defaults(func=cmd_import)

    materialize = commands.add_parser("materialize", help="materialize the whole asset graph")
    materialize.add_argument("--start", help="first raw_orders partition (default: first order day)")
    materialize.add_argument("--end", help="last raw_orders partition (default: last order day)")
    materialize.set_defaults(func=cmd_materialize)
