"""Serving benchmark: `recsys serve` (1 uvicorn worker, local store) under `recsys load-test`'s load generator.

1. Generate source data and materialize the whole graph into benchmarks/.data/serving (skipped when that folder
   already has a live version; `--fresh` regenerates).
2. Start `recsys serve` on a free loopback port (subprocess, own session; stopped by PID with a SIGKILL fallback).
3. Check one known customer's list against the store, warm up, then run the closed-loop load test at each
   concurrency, cycling through every published customer plus a share of unknown ids (popularity fallback).

The load generator runs on the same 2 cores as the server, so the figures are a floor for the server alone.
Prints a Markdown table for benchmarks/RESULTS.md and writes the raw figures to benchmarks/.data/serving.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / ".data" / "serving"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def recsys(*args: str, env: dict) -> None:
    command = [str(Path(sys.executable).parent / "recsys"), *args]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True)
    print(f"    ({' '.join(args[:1])} took {time.perf_counter() - started:.1f}s)", flush=True)


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> dict:
    memory = next(
        (
            int(line.split()[1]) // 1024**2
            for line in Path("/proc/meminfo").read_text().splitlines()
            if "MemTotal" in line
        ),
        None,
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {
        "cpus": os.cpu_count(),
        "memory_gib": memory,
        "cpu": cpu,
        "python": platform.python_version(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--lines-per-day", type=int, default=2_740)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per concurrency level")
    parser.add_argument("--unknown-share", type=float, default=0.05, help="share of requests for unknown ids")
    parser.add_argument(
        "--hot",
        type=int,
        default=0,
        help="ask for the first HOT ids only, over and over (repeated requests, what a list cache serves); "
        "default 0: every id once per cycle, each level going on where the previous one stopped",
    )
    parser.add_argument(
        "--cached-lists", type=int, default=0, help="RECSYS_SERVING_CACHED_LISTS of the server (0: no list cache)"
    )
    parser.add_argument("--fresh", action="store_true", help="regenerate and rematerialize")
    parser.add_argument(
        "--nice", type=int, default=0, help="niceness of the benchmark and its server (negative: ahead of other jobs)"
    )
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)
    load_before = os.getloadavg()

    from recsys_assets.cli.load_test import functional_check, run_load_test
    from recsys_assets.core.stores.store import LocalRecommendationStore

    env = {**os.environ, "RECSYS_HOME": str(DATA), "DAGSTER_HOME": str(DATA / "dagster")}
    env.pop("RECSYS_SOURCE_URL", None)
    env.pop("RECSYS_DEPLOYMENT", None)
    store = LocalRecommendationStore(DATA / "store.sqlite")
    if args.fresh or not (DATA / "store.sqlite").exists() or store.live_version() is None:
        (DATA / "dagster").mkdir(parents=True, exist_ok=True)
        (DATA / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        scale = [
            "--customers", str(args.customers), "--products", str(args.products), "--days", str(args.days),
            "--lines-per-day", str(args.lines_per_day), "--seed", "1",
        ]  # fmt: skip
        print("==> generating and materializing the graph", flush=True)
        recsys("generate", *scale, env=env)
        recsys("materialize", env=env)
    version = store.live_version()
    lists = store.read_version(version)
    customers = list(dict.fromkeys(lists["customer_id"].astype(str)))
    unknown = [f"UNKNOWN-{i:06d}" for i in range(int(len(customers) * args.unknown_share))]
    ids = customers + unknown
    random.Random(0).shuffle(ids)  # unknown ids spread over the run
    if args.hot:
        ids = ids[: args.hot]
    print(f"==> live version {version}: {len(customers)} customers, {len(lists)} rows; +{len(unknown)} unknown ids")

    key = secrets.token_urlsafe(24)
    review_key = secrets.token_urlsafe(24)  # reads /metrics (the serving-log counters) at the end
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_env = env | {
        "RECSYS_API_KEY": key,
        "RECSYS_REVIEW_KEY": review_key,
        "RECSYS_SERVING_CACHED_LISTS": str(args.cached_lists),
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "recsys"), "serve", "--port", str(port)],
        env=server_env,
        start_new_session=True,
        restore_signals=True,
    )
    results = []
    try:
        import httpx

        started = time.perf_counter()
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"recsys serve exited with {server.returncode}")
            try:
                health = httpx.get(f"{url}/health", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - started > 120:
                raise TimeoutError("recsys serve did not become healthy in 120 s")
            time.sleep(0.2)
        ready_s = time.perf_counter() - started
        print(f"==> server healthy after {ready_s:.1f}s: {json.dumps(health.json()['targets'])}", flush=True)
        known = customers[0]
        expected = lists[lists["customer_id"] == known].sort_values("rank")["product_id"].astype(str).tolist()
        problems = functional_check(url, key, known, expected, version)
        print(f"==> functional check ({known}): {problems or 'ok'}", flush=True)
        if problems:
            return 1
        # each run goes on where the previous one stopped: a list is asked for again only after every other id
        # was (each run starting over would serve a list cache the ids the previous run just read)
        asked = run_load_test(url, ids, key, duration=3, concurrency=8).requests  # warm-up
        for concurrency in args.concurrency:
            server_cpu, client_cpu = process_cpu_seconds(server.pid), time.process_time()
            start = asked % len(ids)
            result = run_load_test(
                url, ids[start:] + ids[:start], key, duration=args.duration, concurrency=concurrency, max_requests=10**7
            )
            asked += result.requests
            summary = result.summary()
            summary["server_cpu_us_per_request"] = round(
                1e6 * (process_cpu_seconds(server.pid) - server_cpu) / result.requests
            )
            summary["client_cpu_us_per_request"] = round(1e6 * (time.process_time() - client_cpu) / result.requests)
            results.append(summary)
            print(f"==> concurrency {concurrency}\n{result.report()}", flush=True)
        served = httpx.get(f"{url}/metrics", headers={"X-API-Key": review_key}).json()
        status = Path(f"/proc/{server.pid}/status").read_text()
        server_rss_mib = next(int(line.split()[1]) // 1024 for line in status.splitlines() if line.startswith("VmRSS"))
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()

    import importlib.util

    info = machine() | {
        "customers": len(customers),
        "rows": len(lists),
        "server_ready_s": round(ready_s, 2),
        "server_rss_mib": server_rss_mib,
        "uvloop": importlib.util.find_spec("uvloop") is not None,
        "httptools": importlib.util.find_spec("httptools") is not None,
        "serving_log": served["serving_log"],
        "list_cache": {name: target.get("list_cache") for name, target in served["targets"].items()},
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "nice": args.nice,
        "hot": args.hot,
        "cached_lists": args.cached_lists,
    }
    (DATA.parent / "serving.json").write_text(json.dumps({"machine": info, "results": results}, indent=2))
    print(
        "\n| concurrency | requests | requests/s | p50 ms | p95 ms | p99 ms | max ms | failed "
        "| server CPU µs/req | load generator CPU µs/req |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s in results:
        print(
            f"| {s['concurrency']} | {s['requests']} | {s['requests_per_second']:.0f} | {s['p50_ms']:.2f} | "
            f"{s['p95_ms']:.2f} | {s['p99_ms']:.2f} | {s['max_ms']:.1f} | {s['failed']} | "
            f"{s['server_cpu_us_per_request']} | {s['client_cpu_us_per_request']} |"
        )
    print(f"\nmachine: {json.dumps(info)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
