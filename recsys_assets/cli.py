"""`recsys`: generate or import source data, materialize the graph, run the demo."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import warnings
from pathlib import Path

QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
DEMO_SCALE = {"customers": 3_000, "products": 4_000, "days": 90, "lines_per_day": 1_500}


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from error


def _step(message: str) -> float:
    print(f"==> {message}", flush=True)
    return time.perf_counter()


def cmd_generate(args: argparse.Namespace) -> int:
    from .core.generator import GeneratorConfig, generate
    from .core.source_db import open_for_writing, safe_url
    from .deployment import local_source_url

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
    started = _step(f"generating {config.days} days x {config.lines_per_day} lines/day (seed {config.seed})")
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
    from .core.importer import import_files
    from .core.source_db import open_for_writing, safe_url
    from .deployment import local_source_url

    url = args.url or local_source_url()
    written = import_files(open_for_writing(url), args.orders, args.products, args.customers, append=args.append)
    print(f"imported into {safe_url(url)}: " + ", ".join(f"{n} {t}" for t, n in written.items()))
    return 0


def print_metrics(summary: dict) -> None:
    k = summary["k"]
    print(f"\n    offline metrics on the temporal hold-out ({summary['model']['evaluated_users']} customers)")
    if "selected_model" in summary:
        print(f"    selected model (best on validation, see als_model metadata): {summary['selected_model']}")
    print(f"    {'metric':<14}{'model':>10}{'popularity':>12}")
    for metric in ("map", "precision", "recall", "ndcg", "coverage"):
        name = f"{metric}@{k}" if metric != "coverage" else "coverage"
        print(f"    {name:<14}{summary['model'][metric]:>10.4f}{summary['popularity'][metric]:>12.4f}")


def cmd_materialize(args: argparse.Namespace) -> int:
    from .runner import materialize_graph

    started = _step("materializing raw_orders over its partitions, then every downstream asset")
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


def cmd_demo(args: argparse.Namespace) -> int:
    from .deployment import dagster_home, recsys_home

    args.end_date, args.drift_start, args.drift_kind, args.url = None, None, "category_surge", None
    for key, value in DEMO_SCALE.items():
        setattr(args, key, value)
    args.seed, args.bad_data_rate = 7, 0.001
    if cmd_generate(args) != 0:
        return 1
    args.start = args.end = None
    if cmd_materialize(args) != 0:
        return 1
    home = recsys_home()
    print(f"""
    data folder:        {home}
    source database:    {home / "source.db"}
    recommendation store: {home / "store.sqlite"}
    Dagster instance:   {dagster_home()}

    Open the UI with `make ui` (dagster dev on workspace.yaml) at http://127.0.0.1:3000 to see the lineage
    (Assets > View lineage), the raw_orders partitions and the metadata and metric plots of each asset.""")
    return 0


def cmd_demo_drift(args: argparse.Namespace) -> int:
    from .drift_demo import run_demo_drift

    return run_demo_drift(args)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .serving.app import app_from_environment
    from .serving.auth import MissingApiKeyError

    try:
        app = app_from_environment(refresh_seconds=args.refresh_seconds, allow_no_auth=args.insecure_no_auth)
    except MissingApiKeyError as error:
        print(f"recsys serve: error: {error}", file=sys.stderr)
        return 2
    print(f"==> serving on http://{args.host}:{args.port} (review page /, API docs /docs)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, workers=1, access_log=args.access_log, log_level=args.log_level)
    return 0


def cmd_load_test(args: argparse.Namespace) -> int:
    from .deployment import serving_stores
    from .serving.auth import api_key_from_env
    from .serving.load_test import check_loopback, functional_check, run_load_test

    url = check_loopback(args.url)
    stores = serving_stores()
    target = args.target or next(iter(stores))
    if target not in stores:
        raise ValueError(f"unknown target {target!r}; configured: {sorted(stores)}")
    store = stores[target]
    version = store.live_version()
    if version is None:
        raise ValueError(f"{store.describe()} has no live version: materialize the graph first")
    lists = store.read_version(version)
    customers = list(dict.fromkeys(lists["customer_id"].astype(str)))
    if args.customers:
        customers = [line.strip() for line in args.customers.read_text().splitlines() if line.strip()]
    known = customers[0] if customers[0] in set(lists["customer_id"]) else str(lists["customer_id"].iloc[0])
    expected = lists[lists["customer_id"] == known].sort_values("rank")["product_id"].astype(str).tolist()[: args.k]
    api_key = api_key_from_env()
    problems = functional_check(url, api_key, known, expected, version, args.target)
    print(f"functional check: customer {known} of {target} version {version}: " + ("ok" if not problems else "FAILED"))
    for problem in problems:
        print(f"    {problem}")
    result = run_load_test(
        url, customers, api_key, args.duration, args.concurrency, args.max_requests, args.k, args.target
    )
    print(result.report())
    return 1 if problems or result.failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recsys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write synthetic orders, products and customers")
    generate.add_argument("--customers", type=int, default=DEMO_SCALE["customers"])
    generate.add_argument("--products", type=int, default=DEMO_SCALE["products"])
    generate.add_argument("--days", type=int, default=DEMO_SCALE["days"])
    generate.add_argument("--lines-per-day", type=int, default=DEMO_SCALE["lines_per_day"])
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument("--end-date", type=_date, default=None, help="last order day (default yesterday)")
    generate.add_argument("--drift-start", type=_date, default=None, help="inject drift from this day")
    generate.add_argument(
        "--drift-kind", default="category_surge", choices=["segment_mix", "category_surge", "price_shift"]
    )
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

    demo = commands.add_parser("demo", help="generate demo data and materialize everything")
    demo.set_defaults(func=cmd_demo)

    drift = commands.add_parser("demo-drift", help="inject drift, let drift_sensor fire, run the retraining")
    for key, value in DEMO_SCALE.items():
        drift.add_argument(f"--{key.replace('_', '-')}", type=int, default=value)
    drift.add_argument("--seed", type=int, default=7)
    drift.add_argument("--end-date", type=_date, default=None, help="last order day (default yesterday)")
    drift.add_argument("--drift-start", type=_date, default=None, help="first drifted day (default end - 13 days)")
    drift.add_argument(
        "--drift-kind", default="category_surge", choices=["segment_mix", "category_surge", "price_shift"]
    )
    drift.set_defaults(func=cmd_demo_drift)

    serve = commands.add_parser("serve", help="serve the live recommendations and the review page (FastAPI)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--refresh-seconds", type=float, default=10.0, help="how often the live pointer is checked")
    serve.add_argument("--insecure-no-auth", action="store_true", help="serve without RECSYS_API_KEY (local only)")
    serve.add_argument("--access-log", action="store_true", help="log every request (slower)")
    serve.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(func=cmd_serve)

    load = commands.add_parser("load-test", help="bounded load test of a local `recsys serve` (loopback only)")
    load.add_argument("--url", default="http://127.0.0.1:8000", help="base URL (loopback addresses only)")
    load.add_argument("--duration", type=float, default=10.0, help="seconds (upper bound)")
    load.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    load.add_argument("--max-requests", type=int, default=200_000, help="upper bound on requests")
    load.add_argument("--k", type=int, default=10)
    load.add_argument("--target", help="store target (default: the first configured)")
    load.add_argument("--customers", type=Path, help="file of customer ids, one a line (default: the live version's)")
    load.set_defaults(func=cmd_load_test)

    from .cli_operations import add_operations_commands

    add_operations_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Dagster flags the beta/preview features we rely on (single-run backfills, partitioned checks) at import
    warnings.filterwarnings("ignore", message=".*is currently in (beta|preview).*")
    from .core.schema import SchemaError
    from .core.source_db import SourceDataError
    from .deployment import DeploymentError

    try:
        return args.func(args)
    except (SchemaError, SourceDataError, DeploymentError, ValueError) as error:
        print(f"recsys {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
