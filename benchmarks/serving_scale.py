"""Serving at scale L: how long `recsys serve` takes to become healthy on a large local store, and its memory.

    .venv/bin/python benchmarks/serving_scale.py --code /path/to/checkout-a /path/to/checkout-b --rounds 2

1. Builds once (`--fresh` rebuilds) benchmarks/.data/serving-L/: a local store with one live version of
   `--customers` (500 000) "for you" lists of `--k` (10) items with explanations, a buy-again list of 5 items per
   customer and bought-together and similar lists of 10 items per product (`--products`, 100 000), and a source
   database with the products and customers (the catalogue the server loads). The lists are synthetic: the
   server only sees the store's rows, and materializing the graph at L takes about 10 minutes.
2. Each round starts `recsys serve` once from every checkout in `--code`, alternately (its code on PYTHONPATH; one
   uvicorn worker, a free loopback port, its own session, stopped by PID with a SIGKILL fallback), polls /health
   every 0.1 s, records the seconds until it answers 200 and the server's RSS then (VmRSS; VmHWM, the peak), and
   checks one known customer's list and one unknown id (popularity fallback) against the store.
3. Prints each run, the medians per checkout and the ratio of each checkout to the first; writes
   benchmarks/.data/serving-L.json.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / ".data" / "serving-L"
REASONS = np.array(["because_you_bought", "popular_in_segment", "popular_overall"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build(customers: int, products: int, k: int, seed: int = 1) -> None:
    """The store and the source database (see the module docstring), in chunks of 50 000 customers."""
    from recsys_assets.core.stores.source_db import open_for_writing
    from recsys_assets.core.stores.store import LocalRecommendationStore

    DATA.mkdir(parents=True, exist_ok=True)
    for name in ("store.sqlite", "store.sqlite-wal", "store.sqlite-shm", "source.db"):
        (DATA / name).unlink(missing_ok=True)
    rng = np.random.default_rng(seed)
    product_ids = np.array([f"P{i:06d}" for i in range(products)])
    customer_ids = np.array([f"C{i:06d}" for i in range(customers)])
    popular = np.minimum(rng.zipf(1.3, customers * k * 2), products) - 1  # power-law product popularity
    lists = pd.DataFrame(
        {
            "customer_id": np.repeat(customer_ids, k),
            "rank": np.tile(np.arange(1, k + 1), customers),
            "product_id": product_ids[rng.permutation(popular)[: customers * k]],
            "score": rng.random(customers * k).astype(float),
            "source": "als",
            "reason": REASONS[rng.integers(0, 3, customers * k)],
        }
    )
    bought = product_ids[rng.integers(0, products, (customers * k, 3))]
    lists["because"] = ['["' + '","'.join(row) + '"]' for row in bought]
    side = pd.concat(
        [
            pd.DataFrame(
                {
                    "list": "buy_again",
                    "key": np.repeat(customer_ids, 5),
                    "rank": np.tile(np.arange(1, 6), customers),
                    "product_id": product_ids[rng.integers(0, products, customers * 5)],
                    "score": rng.random(customers * 5),
                    "source": "buy_again",
                    "reason": None,
                    "explanation": "you buy this every ~4 weeks; last bought 3 weeks ago",
                }
            ),
            *(
                pd.DataFrame(
                    {
                        "list": kind,
                        "key": np.repeat(product_ids, 10),
                        "rank": np.tile(np.arange(1, 11), products),
                        "product_id": product_ids[rng.integers(0, products, products * 10)],
                        "score": rng.random(products * 10),
                        "source": kind,
                        "reason": None,
                        "explanation": None,
                    }
                )
                for kind in ("bought_together", "similar")
            ),
        ],
        ignore_index=True,
    )
    started = time.perf_counter()
    LocalRecommendationStore(DATA / "store.sqlite").publish("L1", lists, {"model_version": "als-L"}, side_lists=side)
    seconds = time.perf_counter() - started
    print(f"    published {len(lists)} list rows and {len(side)} side-list rows in {seconds:.0f}s")
    source = open_for_writing(f"sqlite:///{DATA / 'source.db'}")
    source.write(
        "products",
        pd.DataFrame(
            {
                "product_id": product_ids,
                "name": [f"Product {i}" for i in range(products)],
                "category": [f"cat{i % 40}" for i in range(products)],
                "brand": [f"brand{i % 300}" for i in range(products)],
                "active": True,
            }
        ),
        replace=True,
    )
    source.write(
        "customers",
        pd.DataFrame(
            {
                "customer_id": customer_ids,
                "name": [f"Customer {i}" for i in range(customers)],
                "segment": [("electrician", "plumber", "hvac")[i % 3] for i in range(customers)],
                "region": [f"R{i % 12}" for i in range(customers)],
            }
        ),
        replace=True,
    )


def status_kib(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith(field + ":"))


def serve_once(code: Path, python: Path, known: str, expected: list[str]) -> dict:
    """Start `recsys serve` from `code`, wait for /health 200, measure, check two answers, stop it."""
    import httpx

    key = secrets.token_urlsafe(24)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "RECSYS_HOME": str(DATA), "PYTHONPATH": str(code), "RECSYS_API_KEY": key}
    for name in ("RECSYS_SOURCE_URL", "RECSYS_DEPLOYMENT", "RECSYS_REVIEW_KEY"):
        env.pop(name, None)
    command = [str(python.parent / "recsys"), "serve", "--port", str(port)]
    started = time.perf_counter()
    server = subprocess.Popen(command, env=env, cwd=code, start_new_session=True, restore_signals=True)
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"recsys serve from {code} exited with {server.returncode}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - started > 900:
                raise TimeoutError(f"recsys serve from {code} did not become healthy in 900 s")
            time.sleep(0.1)
        ready_s = time.perf_counter() - started
        rss, peak = status_kib(server.pid, "VmRSS"), status_kib(server.pid, "VmHWM")
        headers = {"X-API-Key": key}
        answer = httpx.get(f"{url}/recommendations/{known}?k=10", headers=headers, timeout=30).json()
        served = [item["product_id"] for item in answer["items"]]
        unknown = httpx.get(f"{url}/recommendations/NOBODY?k=10", headers=headers, timeout=30).json()
        problems = [] if served == expected else [f"{known}: served {served}, stored {expected}"]
        if unknown.get("fallback") != "popularity":
            problems.append(f"an unknown id got fallback {unknown.get('fallback')!r}")
        rss_after = status_kib(server.pid, "VmRSS")
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
    return {
        "code": str(code),
        "ready_s": round(ready_s, 2),
        "rss_mib": rss // 1024,
        "peak_rss_mib": peak // 1024,
        "rss_after_requests_mib": rss_after // 1024,
        "problems": problems,
        "load_average": os.getloadavg(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", type=Path, nargs="+", default=[ROOT], help="checkouts to serve from, in turn")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--customers", type=int, default=500_000)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--fresh", action="store_true", help="rebuild the store and the source database")
    args = parser.parse_args()
    store_file = DATA / "store.sqlite"
    if args.fresh or not store_file.exists() or not (DATA / "source.db").exists():
        print(f"==> building {args.customers} customers x {args.k} lists, {args.products} products", flush=True)
        build(args.customers, args.products, args.k)
    from recsys_assets.core.stores.store import LocalRecommendationStore

    store = LocalRecommendationStore(store_file)
    live = store.live_version()
    rows = next(info.rows for info in store.versions() if info.version == live)
    known = "C000123"
    expected = [product for _, product, *_ in store.get_items(known, live)]
    size_mib = sum(f.stat().st_size for f in DATA.glob("store.sqlite*")) // 2**20
    print(f"==> live version {live}: {rows} rows, store {size_mib} MiB; load {os.getloadavg()}", flush=True)
    python = Path(sys.executable)
    runs = []
    for round_ in range(args.rounds):
        for code in args.code:
            run = serve_once(code.resolve(), python, known, expected) | {"round": round_}
            runs.append(run)
            print(f"    {json.dumps(run)}", flush=True)
            if run["problems"]:
                return 1
    (DATA.parent / "serving-L.json").write_text(json.dumps({"rows": rows, "store_mib": size_mib, "runs": runs}))
    print("\n| code | runs | healthy after, s (median) | RSS when healthy, MiB | peak RSS, MiB | ready × | RSS × |")
    print("|---|---|---|---|---|---|---|")
    first = None
    for code in args.code:
        mine = [r for r in runs if r["code"] == str(code.resolve())]
        ready = statistics.median(r["ready_s"] for r in mine)
        rss = statistics.median(r["rss_mib"] for r in mine)
        peak = statistics.median(r["peak_rss_mib"] for r in mine)
        first = first or (ready, rss)
        print(
            f"| {code} | {len(mine)} | {ready:.1f} | {rss:.0f} | {peak:.0f} | {ready / first[0]:.3f} | "
            f"{rss / first[1]:.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
