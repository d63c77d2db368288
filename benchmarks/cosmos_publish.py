"""Cosmos DB publish throughput: the store's publish path vs a bare async `azure-cosmos` upsert loop.

Both run in the same process against the same emulator (`@vercel/cosmosdb-server`, plain HTTP), with the
same concurrency. The bare loop is split in two halves run before and after the publish, so a drift of the
emulator or of the machine's load during the run affects both sides alike. Memory: the publish path's peak
RSS growth (sampled) next to the size of the whole version built at once (what the bare loop holds).

    .venv/bin/python benchmarks/cosmos_publish.py [--customers 50000] [--concurrency 32] [--write-results]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recsys_assets.core.stores.cosmos_documents import recommendation_documents  # noqa: E402
from recsys_assets.core.stores.cosmos_store import CosmosRecommendationStore, CosmosSettings, client_options  # noqa: E402
from tests.support.emulators import start_cosmos, stop  # noqa: E402

K = 10


def synthetic_lists(customers: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": np.repeat([f"C{i:07d}" for i in range(customers)], K),
            "rank": np.tile(np.arange(1, K + 1), customers),
            "product_id": [f"P{x:06d}" for x in rng.integers(0, 20_000, customers * K)],
            "score": rng.random(customers * K),
            "source": "als",
            "model_version": "bench",
        }
    )


async def bare_loop(settings: CosmosSettings, documents: list[dict]) -> float:
    """The reference: every document built up front, `upsert_item` under a semaphore, nothing else."""
    from azure.cosmos import PartitionKey
    from azure.cosmos.aio import CosmosClient

    async with CosmosClient(settings.endpoint, credential=settings.key, **client_options(settings)) as client:
        database = await client.create_database_if_not_exists(settings.database)
        container = await database.create_container_if_not_exists(
            settings.container, partition_key=PartitionKey(path="/customer_id")
        )
        semaphore = asyncio.Semaphore(settings.concurrency)

        async def upsert(document):
            async with semaphore:
                await container.upsert_item(document)

        started = time.perf_counter()
        await asyncio.gather(*(upsert(d) for d in documents))
        return time.perf_counter() - started


class PeakRss:
    def __init__(self):
        self.process = psutil.Process()
        self.baseline = self.process.memory_info().rss
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--write-results", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args()

    lists = synthetic_lists(args.customers)
    workdir = Path(tempfile.mkdtemp(prefix="cosmos-bench-"))
    emulator = start_cosmos(workdir, ssl=False)
    try:
        base = dict(endpoint=emulator.endpoint, key=emulator.key, concurrency=args.concurrency)
        bare_settings = CosmosSettings(database="bare", **base)
        half = args.customers // 2
        # documents of the bare loop, built outside its timer (it gets the easiest possible job)
        built_before = psutil.Process().memory_info().rss
        all_docs = [d for batch in recommendation_documents("bare-1", "bench", lists) for d in batch]
        all_docs_mb = (psutil.Process().memory_info().rss - built_before) / 2**20
        first = asyncio.run(bare_loop(bare_settings, all_docs[:half]))
        del all_docs[:half]
        store = CosmosRecommendationStore(CosmosSettings(database="publish", **base))
        store.live_version()  # database, container and pointer exist before the timer starts, as for the bare loop
        with PeakRss() as rss:
            report = store.publish("v-bench", lists, {"model_version": "bench"}, keep_versions=2)
        second = asyncio.run(bare_loop(bare_settings, all_docs))
    finally:
        stop(emulator.process)

    bare_rate = args.customers / (first + second)
    publish_rate = report.documents / report.seconds
    ratio = publish_rate / bare_rate
    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, load average {os.getloadavg()[0]:.1f}, "
        f"Python {platform.python_version()}"
    )
    lines = [
        f"- {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine}; emulator `@vercel/cosmosdb-server` "
        f"1.0.1 over HTTP, concurrency {args.concurrency}, {args.customers} documents of {K} items",
        f"  - bare async upsert loop: {bare_rate:,.0f} documents/s "
        f"({args.customers} documents in {first + second:.1f} s, two halves around the publish)",
        f"  - store publish path: {publish_rate:,.0f} documents/s ({report.documents} documents in "
        f"{report.seconds:.1f} s, pointer switch included, retries {report.retries or 'none'}) = "
        f"**{ratio:.0%} of the bare loop** (target >= 80 %)",
        f"  - memory: publish peak RSS growth {rss.growth_mb:.0f} MiB (documents streamed in batches of "
        f"{store.settings.batch_customers} customers) vs {all_docs_mb:.0f} MiB for the whole version built at once",
    ]
    print("\n".join(lines))
    if args.write_results:
        results = ROOT / "benchmarks" / "RESULTS.md"
        text = results.read_text() if results.exists() else "# Benchmark results\n"
        heading = "## Cosmos DB publish (issue 8)"
        if heading not in text:
            text = text.rstrip() + f"\n\n{heading}\n\n`make benchmark-cosmos` (benchmarks/cosmos_publish.py).\n"
        results.write_text(text.rstrip() + "\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
