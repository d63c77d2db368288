"""API keys and their scopes. Both keys travel in the `X-API-Key` header and are compared in constant time.

- The serving key (`RECSYS_API_KEY`) opens the live recommendations only: what a shop's front end needs.
- The review key (`RECSYS_REVIEW_KEY`) opens the review page's data (kept versions, reports, metrics, customer
  search, purchase history, `?version=` lists) and, because the page shows a customer's live list next to the
  history, the live recommendations too.

Without a review key the review endpoints are closed (403 naming the setting that opens them): a key handed to a
shop front end never reads the data team's endpoints. Without any key the server refuses to start unless it was
told `--insecure-no-auth` (every route open, logged).
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from enum import Enum

API_KEY_ENV = "RECSYS_API_KEY"
REVIEW_KEY_ENV = "RECSYS_REVIEW_KEY"
ORDERS_KEY_ENV = "RECSYS_ORDERS_KEY"
API_KEY_HEADER = "X-API-Key"


class MissingApiKeyError(RuntimeError):
    """The server was asked to start with authentication but no key is configured."""


class Scope(Enum):
    SERVING = "serving"  # GET /recommendations/{customer_id} (the live list)
    REVIEW = "review"  # the review page's endpoints (and the live list)
    ORDERS = "orders"  # POST /events/orders only: a shop's back end records orders, reads nothing


_EVERY_SCOPE = frozenset({Scope.SERVING, Scope.REVIEW})  # the review key reads everything, records no order
_ORDERS_SCOPE = frozenset({Scope.ORDERS})
_SERVING_SCOPE = frozenset({Scope.SERVING})
_NO_SCOPE: frozenset[Scope] = frozenset()


def api_key_from_env() -> str | None:
    """The serving key, `RECSYS_API_KEY` (None when unset or empty)."""
    return os.environ.get(API_KEY_ENV, "") or None


def review_key_from_env() -> str | None:
    """The review key, `RECSYS_REVIEW_KEY` (None when unset or empty)."""
    return os.environ.get(REVIEW_KEY_ENV, "") or None


def orders_key_from_env() -> str | None:
    """The orders key, `RECSYS_ORDERS_KEY` (None when unset or empty: POST /events/orders is closed)."""
    return os.environ.get(ORDERS_KEY_ENV, "") or None


def key_matches(expected: str, presented: str | None) -> bool:
    """Constant-time comparison of the presented key with the expected one (no early exit on the first byte)."""
    if presented is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8"))


class AccessDenied(Exception):
    """A request refused by `ApiKeys.check`: 401 (no or unknown key) or 403 (a valid key of the wrong scope)."""

    def __init__(self, status: int, message: str):
        super().__init__(status, message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class ApiKeys:
    """The configured keys; `open` (no key at all) lets every request through (`--insecure-no-auth`)."""

    serving: str | None = None
    review: str | None = None
    orders: str | None = None

    @property
    def open(self) -> bool:
        return self.serving is None and self.review is None and self.orders is None

    def scopes_of(self, presented: str | None) -> frozenset[Scope]:
        """The scopes the presented key opens (empty: none). Both keys are always compared, so the time taken
        does not tell which key came closer."""
        serving = key_matches(self.serving, presented) if self.serving is not None else False
        review = key_matches(self.review, presented) if self.review is not None else False
        orders = key_matches(self.orders, presented) if self.orders is not None else False
        return _EVERY_SCOPE if review else _SERVING_SCOPE if serving else _ORDERS_SCOPE if orders else _NO_SCOPE

    def check(self, needed: Scope, presented: str | None) -> None:
        """Return when `presented` opens `needed`, else raise AccessDenied with a message a user can act on."""
        if self.open:
            return
        scopes = self.scopes_of(presented)
        if needed in scopes:
            return
        if needed is Scope.REVIEW and self.review is None:
            raise AccessDenied(
                403,
                f"the review endpoints are closed on this server: it has no review key (set {REVIEW_KEY_ENV} "
                "where the server runs, then send that key)",
            )
        if needed is Scope.ORDERS:
            if self.orders is None:
                raise AccessDenied(
                    403, f"recording orders is closed on this server: it has no orders key (set {ORDERS_KEY_ENV})"
                )
            state = "missing API key" if presented is None else "this key does not record orders"
            raise AccessDenied(401 if not scopes else 403, f"{state}: send the orders key ({ORDERS_KEY_ENV})")
        if scopes == _ORDERS_SCOPE:
            raise AccessDenied(403, "the orders key records orders only; it reads no recommendation")
        if scopes:  # a valid serving key on a review endpoint
            raise AccessDenied(
                403, f"this key opens the live recommendations only; send the review key ({REVIEW_KEY_ENV})"
            )
        wanted = (
            f"the review key ({REVIEW_KEY_ENV})"
            if needed is Scope.REVIEW
            else f"the serving key ({API_KEY_ENV}) or the review key ({REVIEW_KEY_ENV})"
        )
        state = "missing API key" if presented is None else "wrong API key"
        raise AccessDenied(401, f"{state}: send {wanted} in the {API_KEY_HEADER} header")
