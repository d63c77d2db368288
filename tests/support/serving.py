"""Helpers for the serving tests: a tiny source database, lists published to a local store, a server process."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd

from recsys_assets.core.data.generator import GeneratedData, GeneratorConfig, generate
from recsys_assets.core.stores.store import LocalRecommendationStore

TINY = GeneratorConfig(customers=150, products=200, days=20, lines_per_day=200, seed=5, end_date=dt.date(2026, 6, 30))
COLD_CUSTOMERS = 3  # the last master-data customers are published as cold starts


def tiny_data() -> GeneratedData:
    return generate(TINY)


def lists_for(data: GeneratedData, k: int = 10, shift: int = 0) -> pd.DataFrame:
    """Deterministic top-k lists for every master-data customer: a rotation of the most ordered products (by
    `shift`, so two versions differ), the last COLD_CUSTOMERS customers getting the plain popularity list.

    Explanations: a known customer's item is "because you bought" the product `rank` places further down the
    popularity order (one product, or two on even ranks); cold starts get "popular_overall"."""
    popular = data.orders["product_id"].value_counts().index.astype(str).tolist()[:50]
    customers = data.customers["customer_id"].astype(str).tolist()
    rows = []
    for i, customer in enumerate(customers):
        cold = i >= len(customers) - COLD_CUSTOMERS
        for rank in range(1, k + 1):
            product = popular[rank - 1] if cold else popular[(i + shift + rank * 3) % len(popular)]
            because = [] if cold else [popular[(i + rank + 1) % 50], popular[(i + rank + 2) % 50]][: 1 + rank % 2]
            reason = "popular_overall" if cold else "because_you_bought"
            source = "popularity_fallback" if cold else "als"
            rows.append((customer, rank, product, round(1.0 / rank, 6), source, reason, json.dumps(because)))
    return pd.DataFrame(rows, columns=["customer_id", "rank", "product_id", "score", "source", "reason", "because"])


def publish(
    store: LocalRecommendationStore,
    lists: pd.DataFrame,
    version: str,
    model_version: str,
    side_lists: pd.DataFrame | None = None,
) -> None:
    metadata = {"model_version": model_version, "target": "test"}
    store.publish(version, lists, metadata, keep_versions=3, side_lists=side_lists)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def app_server(app) -> Iterator[str]:
    """Serve `app` with uvicorn in a thread on a free loopback port (lifespan on); yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


class ServerProcess:
    """`recsys serve` in its own session on a free loopback port; stopped by PID (SIGKILL after a timeout)."""

    def __init__(self, env: dict, extra_args: list[str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        recsys = Path(sys.executable).parent / "recsys"
        self.process = subprocess.Popen(
            [str(recsys), "serve", "--port", str(self.port), "--refresh-seconds", "0.2", *(extra_args or [])],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            restore_signals=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"recsys serve exited with {self.process.returncode}: {self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"recsys serve did not become healthy on {self.url} in {timeout}s")

    def stop(self) -> str:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        return self.output()

    def output(self) -> str:
        if self.process.stdout is None or self.process.poll() is None:
            return ""
        text = self.process.stdout.read().decode(errors="replace")
        self.process.stdout.close()
        self.process.stdout = None
        return text


def side_lists_for(data: GeneratedData, k: int = 5, similar: bool = True) -> pd.DataFrame:
    """The buy-again and related lists of `data` as the publishing assets build them (core/modeling/shop_lists.py):
    interactions cleaned from the orders; "similar" from seeded random item factors (the serving tests need lists,
    not a good model) unless `similar` is false."""
    import numpy as np

    from recsys_assets.core.data.cleaning import CleaningRules, clean_orders
    from recsys_assets.core.modeling.shop_lists import buy_again_lists, related_lists

    interactions = clean_orders(data.orders, data.products, data.customers, CleaningRules()).interactions
    active = data.products.loc[data.products["active"].astype(bool), "product_id"]
    products = pd.Index(interactions["product_id"].unique())
    factors = (products, np.random.default_rng(7).normal(size=(len(products), 4))) if similar else None
    return pd.concat(
        [
            buy_again_lists(interactions, active, "buy_again", k),
            related_lists(interactions, data.products, k, 5.0, factors),
        ],
        ignore_index=True,
    )
