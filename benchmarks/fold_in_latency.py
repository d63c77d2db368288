"""Fresh lists (issue 23): order -> updated list served, through `POST /events/orders` and through the source sensor.

    .venv/bin/python benchmarks/fold_in_latency.py            (6-10 min on 2 cores; hand-run, not in `make test`)
    add --home DIR --keep to build the home once and reuse it (a later run skips generate + materialize)

1. A home at scale M (run_graph.py's M: 50 000 customers, 20 000 products, 365 days to yesterday, ~1 M lines, seed 1)
   with the generator's business rules (stock-outs, contracts, blocks, campaigns), materialized by
   `recsys materialize` into the embedded local deployment (RECSYS_HOME in a temporary folder).
2. Baseline, in this process: the fold-in basis loaded once, then `fold_customers` for single customers (one new
   line each) and for a batch of customers, each piece timed (source reads, cleaning, rules, fold_in_lists and its
   parts, the upsert) by wrapping the functions fold_customers calls.
3. API path: `recsys serve` (1 worker) with the three keys; one order after the other for distinct random customers
   (one line, then a few three-line orders), each timed from the POST until the customer's GET /recommendations no
   longer holds the bought products (polled; products taken from the list, never a campaign-pinned one); then a burst
   (one POST with one order each for many customers).
4. Sensor path: `dagster-daemon run` on workspace.yaml (every sensor of the code location running, as deployed); once
   the fold-in sensor's first run (the replay) is done, order lines are written straight into the source database at
   random moments and each is timed from its write until the store's live version no longer lists the bought product
   (`get_items`, the server's point read). Each order's time is split by its fold-in run (created, started, ended).

Prints Markdown for benchmarks/RESULTS.md; writes the raw figures to benchmarks/.data/fold_in_latency.json.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from run_graph import SCALES  # noqa: E402  (benchmarks/ is not a package)
from serving import free_port, machine, recsys  # noqa: E402

DATA = ROOT / "benchmarks" / ".data"


# --- measuring --------------------------------------------------------------------------------------------------


class Pieces:
    """Wall time of named calls: `wrap` replaces an attribute by a timing wrapper, `restore` puts them back."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self._patched: list[tuple[object, str, object]] = []

    def wrap(self, owner, name: str, label: str | None = None) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label or name].append(time.perf_counter() - started)

        self._patched.append((owner, name, original))
        setattr(owner, name, timed)

    def restore(self) -> None:
        for owner, name, original in reversed(self._patched):
            setattr(owner, name, original)
        self._patched.clear()

    def clear(self) -> None:
        self.seconds.clear()


def quantiles(values: list[float]) -> dict:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}

    def at(share: float) -> float:  # nearest rank
        return ordered[max(0, math.ceil(share * len(ordered)) - 1)]

    return {"n": len(ordered), "p50": statistics.median(ordered), "p95": at(0.95), "max": ordered[-1]}


def load() -> dict:
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    return {"loadavg": [round(x, 2) for x in os.getloadavg()], "uptime": uptime}


def now_naive() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def order_line(order_id: str, line_no: int, customer: str, product: str) -> dict:
    return {
        "order_id": order_id, "line_no": line_no, "order_ts": now_naive().isoformat(), "customer_id": customer,
        "product_id": product, "quantity": 1.0, "unit_price": 10.0, "currency": "EUR", "order_status": "completed",
    }  # fmt: skip


def modelled_products(items: list[tuple], count: int) -> list[str]:
    """The first `count` listed products a campaign did not pin (a pinned product stays listed, bought or not)."""
    return [str(item[1]) for item in items if item[4] != "campaign"][:count]


# --- the home -----------------------------------------------------------------------------------------------------


def build_home(home: Path, env: dict) -> float:
    """Generate scale M up to yesterday with the generator's rule tables and materialize the graph; seconds taken."""
    from recsys_assets.core.stores.rule_tables import write_generated_rules
    from recsys_assets.core.stores.source_db import SourceDatabase
    from recsys_assets.settings import local_source_url

    started = time.perf_counter()
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "recsys_assets" / "instance" / "dagster.yaml", dagster_home / "dagster.yaml")
    scale = SCALES["M"]
    recsys(
        "generate", "--customers", str(scale["customers"]), "--products", str(scale["products"]),
        "--days", str(scale["days"]), "--lines-per-day", str(scale["lines_per_day"]), "--seed", "1", env=env,
    )  # fmt: skip
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    written = write_generated_rules(SourceDatabase(local_source_url()), yesterday, 1)
    print(f"    rule tables: {written}", flush=True)
    recsys("materialize", env=env)
    return time.perf_counter() - started


# --- 2. baseline in process ---------------------------------------------------------------------------------------


def baseline(store, registry, source, customers: list[str], batch: list[str], tag: str) -> dict:
    """The bare fold-in: the basis loaded once, then fold_customers per customer and for `batch`, pieces timed."""
    import pandas as pd

    from recsys_assets.core.lifecycle import order_fold_in
    from recsys_assets.core.modeling import fold_in

    pieces = Pieces()
    pieces.wrap(order_fold_in, "load_basis")
    pieces.wrap(registry, "load", "basis: model registry load")
    pieces.wrap(source, "read_orders", "basis: source read_orders (window)")
    pieces.wrap(order_fold_in, "_clean", "basis: clean window")
    pieces.wrap(order_fold_in, "buy_again_rhythm", "basis: buy-again rhythm")
    pieces.wrap(order_fold_in, "checked_order_lines", "API check of the lines")
    pieces.wrap(source, "write", "source write of the lines")
    pieces.wrap(source, "read_customer_orders", "source read_customer_orders")
    pieces.wrap(source, "read_master", "source read_master (per call)")
    pieces.wrap(order_fold_in, "clean_orders", "clean the customers' lines")
    pieces.wrap(order_fold_in, "read_rule_tables", "read_rule_tables")
    pieces.wrap(order_fold_in, "fold_in_lists")
    pieces.wrap(fold_in, "folded_model", "  folded_model (ALS solve)")
    pieces.wrap(fold_in, "compile_rules", "  compile_rules")
    pieces.wrap(fold_in, "rule_filtered_lists", "  rule_filtered_lists")
    pieces.wrap(fold_in, "explain_lists", "  explain_lists")
    pieces.wrap(fold_in, "_buy_again", "  _buy_again (buy-again lists)")
    pieces.wrap(store, "upsert_customers", "store upsert_customers")
    pieces.wrap(order_fold_in, "fold_customers")
    try:
        basis = order_fold_in.load_basis(store, registry, source)
        basis_pieces = {name: sum(values) for name, values in pieces.seconds.items()}
        pieces.clear()
        live = basis.store_version
        singles = []
        for number, customer in enumerate(customers):
            product = modelled_products(store.get_items(customer, live), 1)[0]
            lines = [order_line(f"{tag}-BASE-{number}", 1, customer, product)]
            started = time.perf_counter()
            source.write("orders", order_fold_in.checked_order_lines(lines, source), replace=False)
            order_fold_in.fold_customers(basis, store, source, [customer])
            singles.append(time.perf_counter() - started)
            assert product not in modelled_products(store.get_items(customer, live), 10), (customer, product)
        single_pieces = {name: statistics.median(values) for name, values in pieces.seconds.items()}
        pieces.clear()
        lines = [
            order_line(f"{tag}-BASEB-{number}", 1, customer, modelled_products(store.get_items(customer, live), 1)[0])
            for number, customer in enumerate(batch)
        ]
        started = time.perf_counter()
        source.write("orders", order_fold_in.checked_order_lines(lines, source), replace=False)
        order_fold_in.fold_customers(basis, store, source, batch)
        batch_seconds = time.perf_counter() - started
        batch_pieces = {name: sum(values) for name, values in pieces.seconds.items()}
    finally:
        pieces.restore()
    return {
        "history_rows": len(basis.history),
        "model": basis.model.config.model,
        "store_version": basis.store_version,
        "basis_seconds": basis_pieces["load_basis"],
        "basis_pieces": basis_pieces,
        "single": quantiles(singles),
        "single_pieces_median": single_pieces,
        "batch_customers": len(batch),
        "batch_seconds": batch_seconds,
        "batch_pieces": batch_pieces,
        "batch_customers_per_second": len(batch) / batch_seconds,
        "trained_until": str(pd.Timestamp(basis.model.trained_until)),
    }


# --- 3. API path --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def server(env: dict, log_path: Path):
    """`recsys serve` on a free loopback port in its own session; stopped by PID (SIGKILL after 20 s)."""
    import httpx

    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "recsys"), "serve", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, restore_signals=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"recsys serve exited with {process.returncode}: {log_path.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError("recsys serve did not become healthy in 180 s")
            time.sleep(0.2)
        yield url, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def served(client, customer: str) -> list[dict]:
    answer = client.get(f"/recommendations/{customer}")
    answer.raise_for_status()
    return answer.json()["items"]


def served_modelled(client, customer: str, count: int) -> list[str]:
    return [item["product_id"] for item in served(client, customer) if item.get("reason") != "campaign"][:count]


def post_and_wait(client, orders_key: str, lines: list[dict], timeout: float = 60.0) -> dict:
    """POST `lines`, then poll each customer's list until none of their bought products is listed."""
    bought = defaultdict(set)
    for line in lines:
        bought[line["customer_id"]].add(line["product_id"])
    started = time.perf_counter()
    answer = client.post("/events/orders", json={"lines": lines}, headers={"X-API-Key": orders_key}, timeout=300)
    posted = time.perf_counter() - started
    answer.raise_for_status()
    body = answer.json()
    pending, updated = dict(bought), {}
    while pending and time.perf_counter() - started < timeout:
        for customer in list(pending):
            listed = {item["product_id"] for item in served(client, customer)}
            if not listed & pending[customer]:
                updated[customer] = time.perf_counter() - started
                del pending[customer]
        if pending:
            time.sleep(0.02)
    return {
        "post_seconds": posted,
        "server_seconds": body.get("seconds"),
        "folded": body.get("folded"),
        "customers": len(bought),
        "updated": len(updated),
        "until_all_served": max(updated.values()) if not pending else None,
        "not_updated": sorted(pending),
    }


def api_path(env: dict, home: Path, sequential: list[str], multi: list[str], burst: list[str], tag: str) -> dict:
    import httpx

    keys = {name: secrets.token_urlsafe(24) for name in ("RECSYS_API_KEY", "RECSYS_REVIEW_KEY", "RECSYS_ORDERS_KEY")}
    # the polls (a few hundred customers asked thousands of times) go to a serving log of their own: in the default
    # one, skew_sensor sees skewed customer activity and starts a retraining in the middle of the sensor path
    log_dir = {"RECSYS_SERVING_LOG_DIR": str(home / "benchmark_serving_log")}
    with server(env | keys | log_dir, home / "serve.log") as (url, process):
        client = httpx.Client(base_url=url, headers={"X-API-Key": keys["RECSYS_API_KEY"]}, timeout=30)
        orders_key = keys["RECSYS_ORDERS_KEY"]

        def single(order_id: str, customer: str, count: int) -> dict:
            products = served_modelled(client, customer, count)
            lines = [order_line(order_id, n + 1, customer, p) for n, p in enumerate(products)]
            return post_and_wait(client, orders_key, lines)

        first = single(f"{tag}-API-FIRST", sequential[0], 1)  # a warm-up, not counted
        print(f"    first POST: {first['post_seconds']:.2f}s", flush=True)
        results = []
        for number, customer in enumerate(sequential[1:]):
            results.append(single(f"{tag}-API-{number}", customer, 1))
        print(f"    {len(results)} one-line orders: p50 {quantiles([r['until_all_served'] for r in results])}")
        multi_results = [single(f"{tag}-APIM-{n}", customer, 3) for n, customer in enumerate(multi)]
        lines = []
        for number, customer in enumerate(burst):
            lines.append(order_line(f"{tag}-APIB-{number}", 1, customer, served_modelled(client, customer, 1)[0]))
        burst_result = post_and_wait(client, orders_key, lines, timeout=300)
        metrics = client.get("/metrics", headers={"X-API-Key": keys["RECSYS_REVIEW_KEY"]}).json().get("fold_ins")
        rss = next(
            int(line.split()[1]) // 1024
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines()
            if line.startswith("VmRSS")
        )
    missed = [r for r in results + multi_results if r["until_all_served"] is None or not r["folded"]]
    return {
        "first": first,
        "single": results,
        "multi": multi_results,
        "burst": burst_result,
        "metrics": metrics,
        "server_rss_mib": rss,
        "missed": len(missed),
    }


# --- 4. sensor path -----------------------------------------------------------------------------------------------


def fold_runs(instance, since: float) -> list[dict]:
    """The fold_in_job runs created after `since`: times, customers, the op's own fold seconds (from its log)."""
    from dagster import RunsFilter

    rows = []
    for record in instance.get_run_records(RunsFilter(job_name="fold_in_job")):
        if record.create_timestamp.timestamp() < since:
            continue
        config = record.dagster_run.run_config["ops"]["fold_in_orders"]["config"]
        fold_seconds = None
        for entry in instance.all_logs(record.dagster_run.run_id):
            message = entry.user_message or ""
            if message.startswith("fold_in_orders:") and " in " in message and "customer(s) folded" in message:
                fold_seconds = float(message.split(" in ")[-1].split("s ")[0].rstrip("s"))
        rows.append(
            {
                "run_id": record.dagster_run.run_id,
                "status": record.dagster_run.status.value,
                "replay": config.get("replay", False),
                "customers": config.get("customers", []),
                "created": record.create_timestamp.timestamp(),
                "started": record.start_time,
                "ended": record.end_time,
                "fold_seconds": fold_seconds,
            }
        )
    return sorted(rows, key=lambda row: row["created"])


def other_runs(instance, since: float) -> dict:
    from dagster import RunsFilter

    counts = defaultdict(int)
    for record in instance.get_run_records(RunsFilter()):
        if record.create_timestamp.timestamp() >= since and record.dagster_run.job_name != "fold_in_job":
            counts[record.dagster_run.job_name] += 1
    return dict(counts)


def sensor_path(home: Path, store, source, customers: list[str], gap: tuple[float, float], tag: str) -> dict:
    import pandas as pd
    from dagster import DagsterInstance

    from recsys_assets.core.data.schema import conform
    from tests.support.dagster_processes import daemon

    instance = DagsterInstance.get()
    live = store.live_version()
    started_at = time.time()
    with daemon(home):  # logs to home/daemon.log
        # the sensor's first tick on a version it has not seen replays (every line newer than the model's training
        # data folded in): wait for that run to end. A reused home's sensor has seen the version: no replay then
        deadline, replay = time.monotonic() + 240, None
        while time.monotonic() < deadline:
            replays = [r for r in fold_runs(instance, started_at) if r["replay"]]
            if replays and replays[0]["ended"]:
                replay = replays[0]
                print(f"    replay run {replay['status']} after {replay['ended'] - started_at:.1f}s", flush=True)
                break
            if not replays and time.time() - started_at > 60:
                print("    no replay in the first minute: the sensor had folded into this version before", flush=True)
                break
            time.sleep(1)
        else:
            raise TimeoutError(f"the replay run did not end in 240 s: see {home / 'daemon.log'}")
        pending: dict[str, tuple[str, float]] = {}
        done: dict[str, float] = {}

        def poll_until(moment: float) -> None:
            """Poll the pending customers' lists every 0.1 s until `moment` (time.monotonic)."""
            while True:
                for customer, (product, written) in list(pending.items()):
                    if product not in {str(item[1]) for item in store.get_items(customer, live)}:
                        done[customer] = time.time() - written
                        del pending[customer]
                if time.monotonic() >= moment:
                    return
                time.sleep(0.1)

        rng = random.Random(7)
        writes = {}
        for number, customer in enumerate(customers):
            poll_until(time.monotonic() + rng.uniform(*gap))
            product = modelled_products(store.get_items(customer, live), 1)[0]
            frame = pd.DataFrame([order_line(f"{tag}-SRC-{number}", 1, customer, product)])
            source.write("orders", conform(frame, "orders", "benchmark order line"), replace=False)
            written = time.time()
            writes[customer] = written
            pending[customer] = (product, written)
        deadline = time.monotonic() + 150
        while pending and time.monotonic() < deadline:
            poll_until(time.monotonic() + 1)
        deadline = time.monotonic() + 60  # the last run has written its lists; let it record its end
        while any(r["ended"] is None for r in fold_runs(instance, started_at)) and time.monotonic() < deadline:
            time.sleep(0.5)
        runs = fold_runs(instance, started_at)
        others = other_runs(instance, started_at)
    assert store.live_version() == live, "another version went live during the sensor path"
    split = []
    for customer, written in writes.items():
        run = next((r for r in runs if customer in r["customers"]), None)
        if run is None or customer not in done or run["started"] is None or run["ended"] is None:
            continue
        split.append(
            {
                "served": done[customer],
                "to_run_created": run["created"] - written,
                "created_to_started": run["started"] - run["created"],
                "run_process": run["ended"] - run["started"],
                "fold_seconds": run["fold_seconds"],
                "run_customers": len(run["customers"]),
            }
        )
    return {
        "orders": len(customers),
        "served": quantiles(list(done.values())),
        "not_served": sorted(pending),
        "split": split,
        "runs": [{k: v for k, v in r.items() if k != "customers"} | {"n_customers": len(r["customers"])} for r in runs],
        "other_runs": others,
        "replay_seconds": replay["ended"] - replay["started"] if replay else None,
        "replay_fold_seconds": replay["fold_seconds"] if replay else None,
        "daemon_to_replay_end": replay["ended"] - started_at if replay else None,
    }


# --- report -------------------------------------------------------------------------------------------------------


def report(result: dict) -> str:
    base, api, sensor = result["baseline"], result["api"], result["sensor"]
    single = quantiles([r["until_all_served"] for r in api["single"] if r["until_all_served"] is not None])
    posts = quantiles([r["post_seconds"] for r in api["single"]])
    multi = quantiles([r["until_all_served"] for r in api["multi"] if r["until_all_served"] is not None])
    burst = api["burst"]
    sequential_rate = len(api["single"]) / sum(r["post_seconds"] for r in api["single"])
    served = sensor["served"]
    out = [
        "| path | measure | n | p50 s | p95 s | max s | goal |",
        "|---|---|---|---|---|---|---|",
        f"| baseline (in-process `fold_customers`, 1 customer, 1 line, incl. check + write) | fold | "
        f"{base['single']['n']} | {base['single']['p50']:.2f} | {base['single']['p95']:.2f} | "
        f"{base['single']['max']:.2f} | — |",
        f"| API, 1-line orders one after the other | POST -> GET no longer lists it | {single['n']} | "
        f"{single['p50']:.2f} | {single['p95']:.2f} | {single['max']:.2f} | p95 ≤ 2 s |",
        f"| API, same orders | POST answered | {posts['n']} | {posts['p50']:.2f} | {posts['p95']:.2f} | "
        f"{posts['max']:.2f} | |",
        f"| API, 3-line orders | POST -> none of the 3 listed | {multi['n']} | {multi.get('p50', 0):.2f} | "
        f"{multi.get('p95', 0):.2f} | {multi.get('max', 0):.2f} | p95 ≤ 2 s |",
        f"| sensor (daemon, tick 30 s), 1-line orders written to the source | write -> store no longer lists it | "
        f"{served['n']} | {served.get('p50', 0):.1f} | {served.get('p95', 0):.1f} | {served.get('max', 0):.1f} | "
        f"p95 ≤ 60 s |",
        "",
        "| folds per second | customers | seconds | customers/s |",
        "|---|---|---|---|",
        f"| baseline, in-process batch | {base['batch_customers']} | {base['batch_seconds']:.2f} | "
        f"{base['batch_customers_per_second']:.1f} |",
        f"| API, one POST of {burst['customers']} one-line orders | {burst['updated']} | {burst['post_seconds']:.2f} | "
        f"{burst['customers'] / burst['post_seconds']:.1f} |",
        f"| API, sequential 1-line POSTs | {len(api['single'])} | "
        f"{sum(r['post_seconds'] for r in api['single']):.1f} | {sequential_rate:.2f} |",
        "",
        f"API / baseline (p50, one customer): {single['p50'] / base['single']['p50']:.2f}×; "
        f"burst API / baseline batch (seconds per customer): "
        f"{(burst['post_seconds'] / burst['customers']) / (base['batch_seconds'] / base['batch_customers']):.2f}×",
    ]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, help="build the home here, or reuse it when it has a live version")
    parser.add_argument("--keep", action="store_true", help="keep the home (default: removed at the end)")
    parser.add_argument("--api-orders", type=int, default=50, help="one-line orders through the API, one by one")
    parser.add_argument("--multi-orders", type=int, default=5, help="three-line orders through the API")
    parser.add_argument("--burst", type=int, default=200, help="customers in the burst POST")
    parser.add_argument("--baseline-orders", type=int, default=8)
    parser.add_argument("--sensor-orders", type=int, default=15)
    parser.add_argument("--sensor-gap", type=float, nargs=2, default=(2.0, 24.0), help="seconds between writes")
    args = parser.parse_args()
    before = load()
    began = time.perf_counter()
    home = args.home.resolve() if args.home else Path(tempfile.mkdtemp(prefix="recsys-foldin-M-"))
    os.environ.update(RECSYS_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    for name in ("RECSYS_SOURCE_URL", "RECSYS_DEPLOYMENT", "MLFLOW_TRACKING_URI"):
        os.environ.pop(name, None)
    # the server, the daemon and their runs import this checkout's code (not whatever the venv was installed from)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ)

    from recsys_assets.core.lifecycle.control_group import ControlGroup
    from recsys_assets.core.stores.mlflow_registry import open_registry
    from recsys_assets.core.stores.source_db import SourceDatabase
    from recsys_assets.core.stores.store import LocalRecommendationStore
    from recsys_assets.settings import (
        control_salt,
        control_share,
        local_source_url,
        local_store_path,
        model_registry_settings,
    )

    store = LocalRecommendationStore(local_store_path())
    build_seconds = None
    if store.live_version() is None:
        print(f"==> building the home at scale M in {home}", flush=True)
        build_seconds = build_home(home, env)
    source, registry = SourceDatabase(local_source_url()), open_registry(**model_registry_settings("local"))
    live = store.live_version()
    lists = store.read_version(live)
    control = ControlGroup(control_share(), control_salt())
    # customers served their own modelled list (not a cold start, not the control group: GET shows their list)
    modelled = lists.loc[lists["source"] != "popularity_fallback", "customer_id"].astype(str).unique().tolist()
    candidates = [c for c in modelled if control.group_of(c) != "control"]
    rng = random.Random(int(time.time()))
    needed = 1 + args.api_orders + args.multi_orders + args.burst + args.baseline_orders + 100 + args.sensor_orders
    chosen = rng.sample(candidates, needed)
    take = iter(chosen)
    pick = lambda n: [next(take) for _ in range(n)]  # noqa: E731
    tag = f"B{int(time.time())}"
    print(f"==> live version {live}: {len(modelled)} modelled customers, {len(lists)} rows", flush=True)

    print("==> baseline: fold_customers in this process", flush=True)
    base = baseline(store, registry, source, pick(args.baseline_orders), pick(100), tag)
    print(f"    basis {base['basis_seconds']:.2f}s, one customer p50 {base['single']['p50']:.2f}s, "
          f"{base['batch_customers']} customers {base['batch_seconds']:.2f}s", flush=True)  # fmt: skip
    print("==> API path: recsys serve", flush=True)
    api = api_path(env, home, pick(1 + args.api_orders), pick(args.multi_orders), pick(args.burst), tag)
    print("==> sensor path: dagster-daemon run", flush=True)
    sensor = sensor_path(home, store, source, pick(args.sensor_orders), tuple(args.sensor_gap), tag)

    after = load()
    result = {
        "machine": machine(),
        "load_before": before,
        "load_after": after,
        "build_seconds": build_seconds,
        "total_seconds": time.perf_counter() - began,
        "home": str(home),
        "live_version": live,
        "baseline": base,
        "api": api,
        "sensor": sensor,
    }
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / "fold_in_latency.json").write_text(json.dumps(result, indent=2, default=str))
    print("\n" + report(result))
    print(
        f"\nbasis load {base['basis_seconds']:.2f}s: "
        + json.dumps({k: round(v, 3) for k, v in base["basis_pieces"].items()})
    )
    print("one-customer fold, median per piece (s): "
          + json.dumps({k: round(v, 3) for k, v in base["single_pieces_median"].items()}))  # fmt: skip
    print(
        f"batch of {base['batch_customers']} (s): "
        + json.dumps({k: round(v, 3) for k, v in base["batch_pieces"].items()})
    )
    if sensor["split"]:
        keys = ("to_run_created", "created_to_started", "run_process", "fold_seconds")
        medians = {k: round(statistics.median(s[k] for s in sensor["split"] if s[k] is not None), 2) for k in keys}
        print(f"sensor path, median split (s): {json.dumps(medians)}")
    print(
        f"sensor runs: {json.dumps(sensor['runs'], default=str)}\n"
        f"other runs started by the daemon: {sensor['other_runs']}"
    )
    if sensor["replay_seconds"] is not None:
        print(
            f"replay: run {sensor['replay_seconds']:.1f}s (fold {sensor['replay_fold_seconds']}s), "
            f"daemon start -> replay done {sensor['daemon_to_replay_end']:.1f}s"
        )
    print(f"API burst: {json.dumps({k: v for k, v in api['burst'].items() if k != 'not_updated'})}; "
          f"server RSS {api['server_rss_mib']} MiB; /metrics fold_ins {json.dumps(api['metrics'])}")  # fmt: skip
    print(f"machine: {json.dumps(result['machine'])}\nload before: {before['uptime']}\nload after: {after['uptime']}")
    print(f"total {result['total_seconds']:.0f}s (home build {build_seconds and round(build_seconds)}s)")
    if not args.keep and not args.home:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
