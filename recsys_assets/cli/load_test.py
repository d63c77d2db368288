"""A bounded load test of the serving API, for this machine only (loopback addresses), plus a functional check.

`run_load_test` keeps `concurrency` requests in flight (closed loop) for at most `duration` seconds and at most
`max_requests` requests, cycling through the given customer ids, and reports throughput, latency percentiles and
failed requests (transport errors and any status other than 200). `functional_check` asks for a known customer
and compares the answer with the list the store holds (the seed system's smoke test).

Every request carries `X-Recsys-Traffic: load-test` (the functional check: `probe`): the server logs it apart from
the shop's traffic, so a load test never shows up in the skew monitor or the online metrics.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from ..core.stores.serving_log import TRAFFIC_HEADER
from ..serving.auth import API_KEY_HEADER

LOAD_TEST_TRAFFIC = "load-test"
PROBE_TRAFFIC = "probe"


class NotLoopbackError(ValueError):
    """The load test only targets servers on this machine."""


def check_loopback(url: str) -> str:
    """`url` without a trailing slash, if its host is a loopback address (127.0.0.0/8, ::1) or `localhost`.

    Host names other than `localhost` are refused without resolving them, so no traffic can leave the machine.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotLoopbackError(f"load-test URL must be http(s)://<loopback host>[:port], got {url!r}")
    host = parts.hostname
    if host != "localhost":
        try:
            address = ipaddress.ip_address(host)
        except ValueError as error:
            raise NotLoopbackError(
                f"load-test URL host {host!r} is not a loopback address (use 127.0.0.1, ::1 or localhost)"
            ) from error
        if not address.is_loopback:
            raise NotLoopbackError(f"load-test URL host {host} is not a loopback address: refusing to send load")
    return url.rstrip("/")


@dataclass
class LoadTestResult:
    requests: int
    failed: int
    seconds: float
    concurrency: int
    latencies_ms: list[float] = field(repr=False, default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, q: float) -> float:
        """Latency percentile in ms (nearest rank)."""
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]

    def summary(self) -> dict:
        return {
            "requests": self.requests,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "concurrency": self.concurrency,
            "requests_per_second": round(self.requests_per_second, 1),
            "p50_ms": round(self.percentile(50), 3),
            "p95_ms": round(self.percentile(95), 3),
            "p99_ms": round(self.percentile(99), 3),
            "max_ms": round(max(self.latencies_ms), 3) if self.latencies_ms else None,
            "statuses": dict(self.statuses),
        }

    def report(self) -> str:
        s = self.summary()
        lines = [
            f"requests:        {s['requests']} in {s['seconds']:.1f}s at concurrency {s['concurrency']}",
            f"throughput:      {s['requests_per_second']:.1f} requests/s",
            f"latency (ms):    p50 {s['p50_ms']:.2f}  p95 {s['p95_ms']:.2f}  p99 {s['p99_ms']:.2f}  max {s['max_ms']}",
            f"failed requests: {s['failed']}" + (f"  statuses {s['statuses']}" if s["failed"] else ""),
        ]
        lines += [f"  error: {e}" for e in self.errors[:5]]
        return "\n".join(lines)


class _Connection:
    """One keep-alive HTTP/1.1 connection: a minimal client (GET only; Content-Length or chunked bodies).

    A load generator that shares the machine's cores with the server must be cheap: this costs a fraction of a
    general-purpose client's CPU per request, which leaves that CPU to the server under test.
    """

    def __init__(self, host: str, port: int, headers: dict, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.head = f"HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}\r\n".encode("latin-1")
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        async with asyncio.timeout(self.timeout):
            return await self._get(path)

    async def _get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(b"GET " + path.encode("ascii") + b" " + self.head)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
        if "content-length" in fields:
            body = await self.reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16):
                chunks.append(await self.reader.readexactly(size + 2))
            await self.reader.readuntil(b"\r\n")
            body = b"".join(chunk[:-2] for chunk in chunks)
        else:
            body = await self.reader.read()
            fields["connection"] = "close"
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer, self.reader = None, None


async def _load(
    base: str, paths: list[str], headers: dict, duration: float, concurrency: int, max_requests: int
) -> LoadTestResult:
    parts = urlsplit(base)
    if parts.scheme != "http":
        raise ValueError(f"the load generator speaks plain HTTP only, got {base!r}")
    host, port = parts.hostname, parts.port or 80
    result = LoadTestResult(0, 0, 0.0, concurrency)
    issued = 0
    started = time.perf_counter()
    deadline = started + duration

    async def worker() -> None:
        nonlocal issued
        connection = _Connection(host, port, headers, timeout=10.0)
        try:
            while issued < max_requests and time.perf_counter() < deadline:
                path = paths[issued % len(paths)]
                issued += 1
                begin = time.perf_counter()
                try:
                    status, _body = await connection.get(path)
                except Exception as error:  # a transport failure is a failed request, not a crash
                    status = type(error).__name__
                    await connection.close()
                    if len(result.errors) < 20:
                        result.errors.append(f"{path}: {error!r}")
                result.latencies_ms.append((time.perf_counter() - begin) * 1000)
                result.requests += 1
                result.statuses[status] += 1
                if status != 200:
                    result.failed += 1
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


def run_load_test(
    url: str,
    customer_ids: list[str],
    api_key: str | None,
    duration: float = 10.0,
    concurrency: int = 8,
    max_requests: int = 200_000,
    k: int = 10,
    target: str | None = None,
) -> LoadTestResult:
    """GET /recommendations for `customer_ids` in turn, bounded by `duration` seconds and `max_requests`."""
    base = check_loopback(url)
    if not customer_ids:
        raise ValueError("the load test needs at least one customer id")
    if duration <= 0 or concurrency < 1 or max_requests < 1:
        raise ValueError("duration, concurrency and max_requests must be positive")
    query = f"?k={k}" + (f"&target={quote(target)}" if target else "")
    paths = [f"/recommendations/{quote(c, safe='')}{query}" for c in customer_ids]
    headers = {TRAFFIC_HEADER: LOAD_TEST_TRAFFIC} | ({API_KEY_HEADER: api_key} if api_key else {})
    return _run(_load(base, paths, headers, duration, concurrency, max_requests))


def _run(coroutine):
    """Run on uvloop when it is installed (a cheaper event loop leaves more CPU to the server), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def _after_rules(base: str, customer_id: str, stored: list[str], headers: dict, review_key: str | None) -> list[str]:
    """The stored list as the business rules of the moment leave it (a product out of stock since the publish left
    out, a campaign's products pinned), read from `/customers/{id}/rules` (review key); the stored list when that
    cannot be read."""
    import httpx

    review_headers = headers | ({API_KEY_HEADER: review_key} if review_key else {})
    response = httpx.get(f"{base}/customers/{quote(customer_id, safe='')}/rules", headers=review_headers)
    if response.status_code != 200:
        return stored
    rules = response.json()  # what the rules remove and pin, applied here to what the store holds
    pinned = [p["product_id"] for p in rules["pinned"]]
    removed = {r["product_id"] for r in rules["removed"]} | set(pinned)
    return (pinned + [p for p in stored if p not in removed])[: len(stored)]


def functional_check(
    url: str,
    api_key: str | None,
    customer_id: str,
    expected_products: list[str],
    expected_version: str | None = None,
    target: str | None = None,
    review_key: str | None = None,
) -> list[str]:
    """Problems found when asking for `customer_id` (an empty list means the API served the expected list).

    A customer of the control group is served the popularity list on purpose; its stored list is then read by
    version, which needs the review key (`review_key`, else `api_key` is tried)."""
    import httpx

    base = check_loopback(url)
    params = {"k": len(expected_products)} | ({"target": target} if target else {})
    headers = {TRAFFIC_HEADER: PROBE_TRAFFIC} | ({API_KEY_HEADER: api_key} if api_key else {})
    path = f"{base}/recommendations/{quote(customer_id, safe='')}"
    response = httpx.get(path, params=params, headers=headers)
    if response.status_code != 200:
        return [f"GET /recommendations/{customer_id} answered {response.status_code}: {response.text[:300]}"]
    body = response.json()
    if body.get("group") == "control":  # served the popularity list on purpose: check the stored list by version
        version = {"version": body["store_version"]}
        review_headers = headers | ({API_KEY_HEADER: review_key} if review_key else {})
        kept = httpx.get(path, params=params | version, headers=review_headers)
        if kept.status_code != 200:
            return [
                f"customer {customer_id} is in the control group; reading its stored list by version answered "
                f"{kept.status_code}: {kept.text[:300]}"
            ]
        body = {**kept.json(), "store_version": version["version"]}
    problems = []
    served = [item["product_id"] for item in body["items"]]
    after_rules = _after_rules(base, customer_id, expected_products, headers, review_key)
    if served not in (expected_products, after_rules):
        problems.append(f"customer {customer_id}: served {served}, the store holds {expected_products}")
    if body.get("fallback"):
        problems.append(f"customer {customer_id} is in the store but got the {body['fallback']} fallback")
    if expected_version and body.get("store_version") != expected_version:
        problems.append(f"served version {body.get('store_version')}, the store's live version is {expected_version}")
    return problems
