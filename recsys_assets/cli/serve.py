"""`recsys serve` (the FastAPI app over the live recommendations) and `recsys load-test` (loopback only)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..serving.app import create_app
    from ..serving.auth import MissingApiKeyError
    from ..serving.serving_settings import ServingSettings

    try:
        settings = ServingSettings.from_env(refresh_seconds=args.refresh_seconds, allow_no_auth=args.insecure_no_auth)
    except MissingApiKeyError as error:
        print(f"recsys serve: error: {error}", file=sys.stderr)
        return 2
    app = create_app(settings)
    for line in key_rules(settings.api_key, settings.review_key):
        print(f"    {line}", flush=True)
    print(f"==> serving on http://{args.host}:{args.port} (review page /, API docs /docs)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, workers=1, access_log=args.access_log, log_level=args.log_level)
    return 0


def key_rules(api_key: str | None, review_key: str | None) -> list[str]:
    """What each configured key opens, as `recsys serve` prints it at start."""
    from ..serving.auth import API_KEY_ENV, REVIEW_KEY_ENV

    if api_key is None and review_key is None:
        return ["no API key (--insecure-no-auth): every route is open to every client"]
    lines = [
        f"serving key ({API_KEY_ENV}): " + ("opens /recommendations" if api_key else "not set"),
        f"review key ({REVIEW_KEY_ENV}): "
        + (
            "opens the review page's data and /recommendations"
            if review_key
            else f"not set: the review page's data is closed (403); set {REVIEW_KEY_ENV} to open it"
        ),
    ]
    if api_key is not None and api_key == review_key:
        lines.append(f"warning: {API_KEY_ENV} equals {REVIEW_KEY_ENV}, so the shop's key opens the review data too")
    return lines


def functional_check_customer(customers: list[str], stored: list[str]) -> str:
    """The customer the functional check asks for: the first of `customers` in the store and outside the control
    group (whose stored list can only be read by version, with the review key), else the first stored one."""
    from ..core.lifecycle.control_group import ControlGroup
    from ..settings import control_salt, control_share

    control, in_store = ControlGroup(control_share(), control_salt()), set(stored)
    candidates = [c for c in customers if c in in_store] or stored
    return next((c for c in candidates if control.group_of(c) != "control"), candidates[0])


def cmd_load_test(args: argparse.Namespace) -> int:
    from ..serving.auth import api_key_from_env, review_key_from_env
    from ..serving.stores import serving_stores
    from .load_test import check_loopback, functional_check, run_load_test

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
    known = functional_check_customer(customers, lists["customer_id"].astype(str).tolist())
    expected = lists[lists["customer_id"] == known].sort_values("rank")["product_id"].astype(str).tolist()[: args.k]
    review_key = review_key_from_env()
    api_key = api_key_from_env() or review_key  # a server with the review key only opens /recommendations with it
    problems = functional_check(url, api_key, known, expected, version, args.target, review_key)
    print(f"functional check: customer {known} of {target} version {version}: " + ("ok" if not problems else "FAILED"))
    for problem in problems:
        print(f"    {problem}")
    result = run_load_test(
        url, customers, api_key, args.duration, args.concurrency, args.max_requests, args.k, args.target
    )
    print(result.report())
    return 1 if problems or result.failed else 0


def add_commands(commands) -> None:
    """Register `serve` and `load-test` on the `recsys` sub-command parser."""
    serve = commands.add_parser("serve", help="serve the live recommendations and the review page (FastAPI)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--refresh-seconds", type=float, default=10.0, help="how often the live pointer is checked")
    serve.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="serve without any key (neither RECSYS_API_KEY nor RECSYS_REVIEW_KEY set; local only)",
    )
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
