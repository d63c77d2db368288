"""`recsys demo-online`: the online loop on generated data — serve, let customers buy, measure, compare with control.

1. generate orders (the generator's purchase model: segments, tastes, re-orders, baskets) up to yesterday;
2. train and publish on the days before the serving day D (the last `--window-days` + 1 days are the future);
3. serve every customer of the master data once on D, through the real HTTP API and serving log, with a control
   group of `--control-share` (the server's clock is set to D: the demo compresses 15 days into a minute);
4. ingest raw_orders of D and the attribution window after it: what the generated customers bought;
5. materialize `online_metrics` for D and print hit rate, precision@K and the lift of the model over control.

The generated customers do not see the lists: their purchases come from the generator alone. The figures
therefore measure how well each arm's lists anticipate what customers buy next, not what the lists make them
buy — on a real shop the same asset measures both together (docs: explanation/monitoring.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .data import demo_scale, parse_date
from .output import QUIET_LOGS, step


@contextmanager
def serving_in_thread(app, port: int = 0) -> Iterator[str]:
    """Serve `app` with uvicorn in a thread on 127.0.0.1 (a free port unless given); yields the base URL."""
    import socket

    import uvicorn

    if port == 0:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="demo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError("the demo's API server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def serve_customers(base: str, customers: list[str], api_key: str, day: dt.date, clock: list[float], seed: int) -> int:
    """GET /recommendations for every customer, in random order, at random times of `day` 05:00-06:00 (UTC)."""
    import httpx

    rng = random.Random(seed)
    order = customers[:]
    rng.shuffle(order)
    opening = dt.datetime.combine(day, dt.time(5), tzinfo=dt.UTC).timestamp()
    with httpx.Client(base_url=base, headers={"X-API-Key": api_key}, timeout=30) as client:
        for n, customer in enumerate(order):
            clock[0] = opening + 3600 * n / max(1, len(order))
            response = client.get(f"/recommendations/{customer}", params={"k": 10})
            response.raise_for_status()
    return len(order)


def _pct(value) -> str:
    return "    -" if value is None else f"{value:6.2%}"


def print_online(figures: dict) -> None:
    lift = figures["lift"]
    header = f"{'source':<22}{'exposures':>10}{'hit rate':>10}{'precision@K':>13}{'line share':>12}"
    print(f"\n    {header}{'revenue share':>15}")
    for row in figures["by_version"]:
        print(
            f"    {row['source']:<22}{row['exposures']:>10}{_pct(row['hit_rate']):>10}{_pct(row['precision_at_k']):>13}"
            f"{_pct(row['line_share']):>12}{_pct(row['revenue_share']):>15}"
        )
    print(f"\n    {'arm':<22}{'exposures':>10}{'hit rate':>10}{'precision@K':>13}")
    for arm, counts in figures["arms"].items():
        print(
            f"    {arm:<22}{counts['exposures']:>10}{_pct(counts['hit_rate']):>10}{_pct(counts['precision_at_k']):>13}"
        )
    if lift["relative_lift"] is not None:
        interval = (
            f" ({lift['confidence']:.0%} CI {lift['relative_low']:+.1%} to {lift['relative_high']:+.1%})"
            if lift["relative_low"] is not None
            else ""
        )
        print(f"\n    lift of the model over control (hit rate): {lift['relative_lift']:+.1%}{interval}")
    if lift["difference"] is not None:
        print(
            f"    difference of hit rates: {lift['difference']:+.2%} "
            f"({lift['confidence']:.0%} CI {lift['difference_low']:+.2%} to {lift['difference_high']:+.2%})"
        )
    print(f"    verdict: {lift['verdict']} — {lift['reason']}")


def cmd_demo_online(args: argparse.Namespace) -> int:
    """Steps in the module docstring."""
    from dagster import materialize

    from ..assets import ALL_ASSETS
    from ..checks import ALL_CHECKS
    from ..core.lifecycle.control_group import ControlGroup
    from ..serving.app import create_app
    from ..serving.serving_settings import ServingSettings
    from ..serving.stores import serving_source, serving_stores
    from ..settings import control_salt, monitoring_dir, serving_log_dir
    from .demos import generate_then_train
    from .local_run import ingest_range

    end = args.end_date or (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1))
    day = end - dt.timedelta(days=args.window_days)
    first = end - dt.timedelta(days=args.days - 1)
    if day - first < dt.timedelta(days=14):
        raise ValueError(f"--days {args.days} leaves less than 14 days of history before the serving day {day}")
    args.end_date, args.drift_start, args.drift_kind, args.url = end, None, "category_surge", None
    args.bad_data_rate = 0.0
    before = (day - dt.timedelta(days=1)).isoformat()
    trained = generate_then_train(args, first.isoformat(), before, f"(the days before the serving day {day})")
    if trained is None:
        return 1
    instance, resources, run, started = trained
    published = run.downstream.output_for_node("published_recommendations")
    print(f"    published {published['version']} in {time.perf_counter() - started:.1f}s")

    control = ControlGroup(args.control_share, control_salt())
    started = step(f"serving every customer on {day} through the HTTP API ({control.share:.0%} control group)")
    api_key = os.environ.get("RECSYS_API_KEY") or "demo-online-key"
    clock = [dt.datetime.combine(day, dt.time(5), tzinfo=dt.UTC).timestamp()]
    settings = ServingSettings(
        stores=serving_stores(),
        source=serving_source(),
        api_key=api_key,
        log_dir=serving_log_dir(),
        control=control,
        clock=lambda: clock[0],
        monitoring_dir=monitoring_dir(),
    )
    app = create_app(settings)
    customers = serving_source().read_master("customers")["customer_id"].astype(str).tolist()
    with serving_in_thread(app) as base:
        served = serve_customers(base, customers, api_key, day, clock, args.seed)
    print(f"    {served} customers served in {time.perf_counter() - started:.1f}s; log {serving_log_dir()}")

    started = step(f"ingesting what the customers bought from {day} to {end} (raw_orders)")
    ingest_range(instance, resources, day.isoformat(), end.isoformat(), {"loggers": QUIET_LOGS["loggers"]})
    print(f"    done in {time.perf_counter() - started:.1f}s")

    started = step(f"materializing online_metrics for {day} ({args.window_days}-day attribution window)")
    config = {"attribution_days": args.window_days, "alert_period_days": 1}
    result = materialize(
        [*ALL_ASSETS, *ALL_CHECKS],
        selection="online_metrics",
        partition_key=day.isoformat(),
        instance=instance,
        resources=resources,
        run_config={**QUIET_LOGS, "ops": {"online_metrics": {"config": config}}},
    )
    figures = result.output_for_node("online_metrics")
    print(f"    done in {time.perf_counter() - started:.1f}s; window complete: {figures['window_complete']}")
    print_online(figures)
    print("""
    Read it in the docs' Monitoring explanation. `recsys models` lists the figures per model version, the review page
    (`recsys serve`, then /) and `make monitor-ui` show them too; `make ui` plots online_metrics per day.""")
    return 0


def add_commands(commands) -> None:
    """Register `demo-online` on the `recsys` sub-command parser."""
    online = commands.add_parser("demo-online", help="serve, let generated customers buy, measure model vs control")
    for key, value in demo_scale().items():
        online.add_argument(f"--{key.replace('_', '-')}", type=int, default=value)
    online.add_argument("--seed", type=int, default=7)
    online.add_argument("--end-date", type=parse_date, default=None, help="last order day (default yesterday)")
    online.add_argument("--window-days", type=int, default=14, help="attribution window after the serving day")
    online.add_argument(
        "--control-share", type=float, default=0.2, help="control group of the demo (a small sample needs a large one)"
    )
    online.set_defaults(func=cmd_demo_online)
