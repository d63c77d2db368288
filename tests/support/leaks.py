"""What an API answer must not carry: addresses, file paths, SDK or exception names and messages, stack traces.

`internal_details(text, specific)` returns every match (empty: clean); `scan_routes` asks every route with every
key and collects them. `specific` adds the strings a test knows
are internal (its store's address and port, its data folder, the text its broken parts raise). `SCANNED_ROUTES`
lists a request for every route of the serving app (the key matrix in tests/serving/test_keys.py checks the list
is complete).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping

PATTERNS = {
    "url": re.compile(r"\b[a-z][a-z0-9+.-]*://", re.I),
    "ipv4": re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])"),
    "localhost": re.compile(r"\blocalhost\b", re.I),
    "host:port": re.compile(r"\b[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)+:\d{2,5}\b", re.I),
    "file path": re.compile(r"(?<![\w.])/(?:tmp|home|work|var|usr|etc|root|opt|srv|mnt|proc|dev|data)/"),
    "windows path": re.compile(r"\b[A-Z]:\\"),
    "file name": re.compile(r"\.(?:sqlite|db|py|jsonl|parquet|html)\b"),
    "stack trace": re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+"),
    "exception name": re.compile(r"\b[A-Z][A-Za-z0-9]*(?:Error|Exception|Timeout|Refused)\b"),
    "sdk": re.compile(r"\b(?:azure|cosmos|sqlalchemy|sqlite3?|psycopg2?|httpx|urllib3|aiohttp|errno)\b", re.I),
}

# a request for every route of the serving app: (name, path); "{c}" is replaced with a customer id
SCANNED_ROUTES = [
    ("page", "/"),
    ("docs", "/docs"),
    ("openapi", "/openapi.json"),
    ("health", "/health"),
    ("recommendations", "/recommendations/{c}?k=5"),
    ("unknown customer", "/recommendations/NOT-A-CUSTOMER"),
    ("kept version", "/recommendations/{c}?version=v1"),
    ("missing version", "/recommendations/{c}?version=nope"),
    ("unknown target", "/recommendations/{c}?target=nope"),
    ("invalid", "/recommendations/{c}?k=0"),
    ("buy again", "/recommendations/{c}?list=buy_again"),
    ("unknown list", "/recommendations/{c}?list=nope"),
    ("related of an unknown product", "/products/NOT-A-PRODUCT/related?kind=similar"),
    ("customers", "/customers?q=C0"),
    ("history", "/customers/{c}/history"),
    ("versions", "/versions"),
    ("reports", "/reports"),
    ("report", "/reports/data_drift/20260630T080000000000Z.html"),
    ("missing report", "/reports/serving_skew/20260630T080000000000Z.html"),
    ("metrics", "/metrics"),
    ("no such route", "/no/such/route"),
]
STATIC = {"page", "docs", "openapi", "report"}  # HTML pages and the schema: checked for the specific strings only


def internal_details(
    text: str, specific: Iterable[str] = (), generic: bool = True, allowed: Iterable[str] = ()
) -> list[str]:
    """Every internal detail found in `text`: the `specific` strings, and (with `generic`) the PATTERNS; the
    `allowed` strings (links configured for people, such as the Evidently UI's address) are not internals."""
    for value in allowed:
        text = text.replace(value, "")
    found = [f"{value!r}" for value in specific if value and value in text]
    if generic:
        found += [f"{name}: {m.group(0)!r}" for name, pattern in PATTERNS.items() for m in pattern.finditer(text)]
    return found


def scan_routes(
    get: Callable[[str, dict], object],
    customer: str,
    keys: Mapping[str, dict],
    specific: list[str],
    allowed: Iterable[str] = (),
) -> dict[str, list[str]]:
    """Every route of SCANNED_ROUTES with every key (name -> headers), through `get(path, headers)` returning a
    response with `.text`, `.headers` and `.status_code`: {"<route> with <key> -> <status>": the internals found},
    only the dirty ones (body and headers)."""
    found = {}
    for name, path in SCANNED_ROUTES:
        for key_name, headers in keys.items():
            response = get(path.replace("{c}", customer), headers)
            details = internal_details(response.text, specific, generic=name not in STATIC, allowed=allowed)
            details += internal_details(json.dumps(dict(response.headers)), specific)
            if details:
                found[f"{name} with {key_name} -> {response.status_code}"] = details
    return found
