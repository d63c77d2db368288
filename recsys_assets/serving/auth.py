"""API key check: the key comes from the environment (`RECSYS_API_KEY`) and travels in the `X-API-Key` header."""

from __future__ import annotations

import hmac
import os

API_KEY_ENV = "RECSYS_API_KEY"
API_KEY_HEADER = "X-API-Key"


class MissingApiKeyError(RuntimeError):
    """The server was asked to start with authentication but no key is configured."""


def api_key_from_env() -> str | None:
    key = os.environ.get(API_KEY_ENV, "")
    return key or None


def key_matches(expected: str, presented: str | None) -> bool:
    """Constant-time comparison of the presented key with the expected one (no early exit on the first byte)."""
    if presented is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8"))
