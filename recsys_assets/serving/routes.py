"""The routes of the serving API and the review page (docs: how-to/serve-and-review.md).

Endpoints:
- `GET /recommendations/{customer_id}?list=&k=&target=&version=`  the live list with names, categories, scores,
  model version and explanations; customers absent from the live version get the popularity list flagged
  `"fallback": "popularity"`, customers of the control group the popularity list with `"group": "control"`.
  `version=` reads a kept version instead (review; never logged, no control group). Serving or review key; a
  `version=` needs the review key. `list=buy_again` answers the customer's buy-again list instead of the default
  `for_you` (empty for a customer without purchases; 404 when the live version holds no buy-again list).
- `GET /products/{product_id}/related?kind=&k=&target=`  a product's `bought_together` (default) or `similar` list
  in the live version; 404 for a product without one, or when the live version holds no list of that kind.
  Serving or review key.
- When the local store cannot be read (file deleted, disk unmounted) these list routes still answer 200, from
  memory, flagged `"fallback": "store_unavailable"`: for you the live version's popularity list, related the same
  list without the product, buy again an empty list (store_reader.py); a store of another kind answers 503.
- `GET /customers?q=`, `GET /customers/{customer_id}/history?top=`  customer search and purchase history for the
  review page. Review key.
- `GET /versions`, `GET /reports`  the kept versions, the latest monitoring reports. Review key.
- `GET /reports/{check}/{stamp}.html`  one drift / skew / prediction-drift HTML report, read from the reports'
  location (the monitoring folder locally, Blob storage in dev / prod): the link the monitoring assets show when
  RECSYS_API_URL is set. Review key (the review page opens it with the key it holds).
- `GET /health`  ok / degraded / unavailable, per target its live and model version. No key (load balancers and
  probes), so no store address, path or error text: those go to the server log (a store that cannot be read is
  named by its kind and the root cause of the error, e.g. "local SQLite store: ... unable to open database file").
- `GET /metrics`  per-target reader state, catalogue and serving counters, the control group and the latest online
  metrics (written by the `online_metrics` asset to online/<day>.json of the reports' location; null with
  `online_missing` saying what is missing before the first day). Review key.
- `GET /`  the review page (static; it asks for the review key and sends it with its API calls).
Which key opens what: auth.py.
Every live `/recommendations` answer is queued for the serving log (written by a background thread); requests
carrying the `X-Recsys-Traffic` header (load tests, probes, the review page) are logged apart as synthetic
traffic. The routes read what they serve from `request.app.state.serving` (a `ServingState`, built by
`app.create_app` from a `ServingSettings`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Security
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, Field

from ..core.data.purchase_history import purchase_history
from ..core.lifecycle.control_group import ControlGroup
from ..core.lifecycle.order_fold_in import OrderLinesRefused
from ..core.stores.serving_log import TRAFFIC_HEADER
from ..core.stores.source_db import SourceDatabase
from ..core.stores.state_location import MissingState, as_state
from ..core.stores.store import LISTS_METADATA
from ..core.stores.store_reader import (
    STORE_UNAVAILABLE,
    ListNotPublishedError,
    LiveRecommendations,
    NoLiveVersionError,
)
from ..settings import ONLINE_FOLDER
from .auth import API_KEY_ENV, API_KEY_HEADER, REVIEW_KEY_ENV, ApiKeys, Scope
from .catalog import Catalog
from .live_rules import LiveRules
from .log_writer import ServingLogWriter
from .order_intake import OrderIntake

logger = logging.getLogger(__name__)

CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$"
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,254}$"
MAX_K = 100
CUSTOMER_LISTS = ("for_you", "buy_again")  # ?list= of /recommendations; for_you is the default
RELATED_KINDS = ("bought_together", "similar")  # ?kind= of /products/{product_id}/related; the first the default


class Product(BaseModel):
    product_id: str
    name: str | None
    category: str | None


class RecommendedItem(Product):
    rank: int
    score: float | None
    source: str
    reason: str | None
    because: list[Product]
    explanation: str | None = None  # buy again: "you buy this every ~4 weeks; last bought 5 weeks ago"


class RecommendationsResponse(BaseModel):
    customer_id: str
    list_name: str = Field("for_you", alias="list", description="for_you or buy_again")
    target: str
    model_version: str
    store_version: str
    group: str
    fallback: str | None
    cold_start: bool
    k: int
    items: list[RecommendedItem]


class RelatedItem(Product):
    rank: int
    score: float | None
    source: str
    reason: str | None
    explanation: str | None


class RelatedResponse(Product):
    kind: str
    target: str
    model_version: str
    store_version: str
    fallback: str | None = Field(
        None, description="store_unavailable: the store cannot be read, the items are the popularity list"
    )
    k: int
    items: list[RelatedItem]


class ErrorResponse(BaseModel):
    error: str
    message: str
    details: list | None = None


ERRORS = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
    503: {"model": ErrorResponse},
}


# the query parameters every list endpoint takes
K_PARAMETER = {
    "name": "k",
    "in": "query",
    "required": False,
    "description": "number of products (at most the published list length)",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 10},
}
TARGET_PARAMETER = {
    "name": "target",
    "in": "query",
    "required": False,
    "description": "store target (default: the first configured)",
    "schema": {"type": "string"},
}
RECOMMENDATIONS_PARAMETERS = [
    {
        "name": "customer_id",
        "in": "path",
        "required": True,
        "description": "the shop's customer id",
        "schema": {"type": "string", "pattern": CUSTOMER_ID_PATTERN},
    },
    {
        "name": "list",
        "in": "query",
        "required": False,
        "description": "which list: for_you (products the customer never bought) or buy_again (products they "
        "bought before, by when they are due; not with version=)",
        "schema": {"type": "string", "enum": list(CUSTOMER_LISTS), "default": "for_you"},
    },
    K_PARAMETER,
    TARGET_PARAMETER,
    {
        "name": "version",
        "in": "query",
        "required": False,
        "description": "a kept store version instead of the live one (review key; not logged, no control group)",
        "schema": {"type": "string", "pattern": VERSION_PATTERN},
    },
    {
        "name": TRAFFIC_HEADER,
        "in": "header",
        "required": False,
        "description": "mark the request as synthetic (e.g. load-test, probe): logged apart, not in the figures",
        "schema": {"type": "string"},
    },
]
_CUSTOMER_ID = re.compile(CUSTOMER_ID_PATTERN)
_VERSION = re.compile(VERSION_PATTERN)


class SourceUnavailable(Exception):
    """The source database failed while answering; the client learns that, not the database's message."""


class StoreUnavailable(Exception):
    """A store failed while answering (any exception of its client); the client learns which target, not why."""

    def __init__(self, target: str):
        self.target = target


class InvalidRequest(Exception):
    def __init__(self, details: list[dict]):
        self.details = details


def parse_recommendations_request(path_params, query_params) -> tuple[str, int, str | None, str | None]:
    """customer_id, k, target and version of a /recommendations request, or InvalidRequest naming each bad field."""
    details = []
    customer_id = path_params.get("customer_id", "")
    if not _CUSTOMER_ID.fullmatch(customer_id):
        details.append(
            {
                "location": ["path", "customer_id"],
                "message": f"String should match pattern '{CUSTOMER_ID_PATTERN}'",
                "input": customer_id,
            }
        )
    raw_k = query_params.get("k")
    k = 10
    if raw_k is not None:
        try:
            k = int(raw_k)
        except ValueError:
            details.append({"location": ["query", "k"], "message": "Input should be a valid integer", "input": raw_k})
        else:
            if not 1 <= k <= MAX_K:
                details.append(
                    {"location": ["query", "k"], "message": f"Input should be between 1 and {MAX_K}", "input": raw_k}
                )
    version = query_params.get("version")
    if version is not None and not _VERSION.fullmatch(version):
        details.append(
            {"location": ["query", "version"], "message": f"String should match pattern '{VERSION_PATTERN}'",
             "input": version}
        )  # fmt: skip
    if details:
        raise InvalidRequest(details)
    return customer_id, k, query_params.get("target"), version


def parse_choice(query_params, name: str, allowed: tuple[str, ...], version: str | None = None) -> str:
    """The value of query parameter `name` (default the first of `allowed`), or InvalidRequest naming the allowed
    values; a `version` (review of a kept version) reads the default list only."""
    value = query_params.get(name, allowed[0])
    if value not in allowed:
        message = f"Input should be one of {', '.join(repr(v) for v in allowed)}"
        raise InvalidRequest([{"location": ["query", name], "message": message, "input": value}])
    if version is not None and value != allowed[0]:
        message = f"version= reads the {allowed[0]} list of a kept version only; leave out {name}= or version="
        raise InvalidRequest([{"location": ["query", name], "message": message, "input": value}])
    return value


@dataclass(kw_only=True)
class ServingState:
    """What the routes serve from: one live reader per target (the first is the default), the catalogue of
    names, the serving log writer, the API keys (`ApiKeys()`: no auth), the source database (purchase history), the
    control group and the clock that timestamps the serving log (time.time; a demo may simulate days).
    `started`: the app's lifespan has loaded the catalogue and started the readers."""

    readers: dict[str, LiveRecommendations]
    catalog: Catalog
    writer: ServingLogWriter | None
    keys: ApiKeys
    source: SourceDatabase | None
    page: str
    control: ControlGroup = field(default_factory=ControlGroup)
    clock: Callable[[], float] = time.time
    # the reports' location (a folder path or a core/stores/state_location.StateLocation): the monitors' summaries
    # and HTML reports, online_metrics' online/<day>.json
    monitoring_dir: Path | object | None = None
    evidently_url: str = ""  # a remote `evidently ui` holding the workspace ("" : the folder summaries)
    evidently_ui_url: str = ""  # where people open the Evidently UI
    rules: LiveRules | None = None  # the business rules of the moment, applied to every live list
    orders: OrderIntake | None = None  # POST /events/orders (None: no source database or model registry)
    started: bool = False

    @property
    def reports_location(self):
        """The reports' location (None: none configured)."""
        return as_state(self.monitoring_dir) if self.monitoring_dir is not None else None

    def latest_online(self) -> dict | None:
        """The figures of the newest day online_metrics has materialized (None: none yet, see `online_missing`)."""
        location = self.reports_location
        names = [n for n in location.names(ONLINE_FOLDER) if n.endswith(".json")] if location else []
        for name in reversed(names):
            try:
                return json.loads(location.read_bytes(name))
            except (OSError, ValueError):  # being replaced right now: the previous day will do
                continue
        return None

    def online_missing(self) -> str:
        """Why /metrics has no online figures: what is missing (where it was looked for goes to the server log
        only: no answer names a folder or a container)."""
        if self.reports_location is None:
            return "no online_metrics figures: this server has no monitoring location configured"
        logger.info("no online_metrics day file in %s yet", self.reports_location.child(ONLINE_FOLDER).describe())
        return "no online_metrics figures yet: the online_metrics asset has written no day (the server log says where)"

    @property
    def default_target(self) -> str:
        return next(iter(self.readers))

    def reader_for(self, target: str | None) -> tuple[str, LiveRecommendations]:
        name = target or self.default_target
        if name not in self.readers:
            raise HTTPException(404, f"unknown target {name!r}; the targets are {sorted(self.readers)}")
        return name, self.readers[name]


def _state(request: Request) -> ServingState:
    return request.app.state.serving


key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description=f"the serving key (${API_KEY_ENV}: /recommendations only) or the review key (${REVIEW_KEY_ENV})",
)


async def require_review_key(request: Request, presented: str | None = Security(key_header)) -> None:
    """401 without a known key, 403 with the serving key (async: no threadpool hop); see auth.ApiKeys.check."""
    _state(request).keys.check(Scope.REVIEW, presented)


router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def review_page(request: Request) -> HTMLResponse:
    return HTMLResponse(_state(request).page)


# The hot path takes the raw request and validates by hand: FastAPI's parameter machinery costs more than the
# lookup itself. The parameters are declared for the OpenAPI docs in RECOMMENDATIONS_PARAMETERS.
@router.get(
    "/recommendations/{customer_id}",
    response_model=RecommendationsResponse,
    responses=ERRORS | {404: {"model": ErrorResponse}},
    openapi_extra={"parameters": RECOMMENDATIONS_PARAMETERS, "security": [{"APIKeyHeader": []}]},
)
async def recommendations(request: Request):
    """The live recommendations of one customer; unknown customers get the popularity list, flagged."""
    state = _state(request)
    # a kept version (`version=`) is for review, the live list for the shop
    needed = Scope.SERVING if request.query_params.get("version") is None else Scope.REVIEW
    state.keys.check(needed, request.headers.get(API_KEY_HEADER))
    customer_id, k, target, version = parse_recommendations_request(request.path_params, request.query_params)
    list_name = parse_choice(request.query_params, "list", CUSTOMER_LISTS, version)
    name, reader = state.reader_for(target)
    if list_name == "buy_again":
        return await serve_buy_again(request, state, name, reader, customer_id, k)
    if version is not None:  # review of a kept version: not served to the shop, so not logged
        try:
            lookup = await run_in_threadpool(reader.lookup_version, customer_id, version)
        except KeyError as error:
            logger.info("serving %s: %s", name, error.args[0])  # it names the store: the log only
            raise HTTPException(
                404, f"version {version!r} is not kept for target {name!r}; GET /versions lists the kept ones"
            ) from error
        except Exception as error:  # any client or driver error of the store: its text stays in the server log
            logger.error("reading version %s of %s failed: %s", version, reader.store.describe(), error)
            raise StoreUnavailable(name) from error
        body, _ = state.catalog.encoder.encode(lookup, k, name)
        return Response(body, media_type="application/json")
    in_control = state.control.group_of(customer_id) == "control"
    try:
        if in_control:
            lookup = reader.lookup_control(customer_id)
        else:
            lookup = (
                await run_in_threadpool(reader.lookup, customer_id) if reader.blocking else reader.lookup(customer_id)
            )
    except NoLiveVersionError as error:
        logger.warning("serving %s: %s", name, error)  # the store's address and error stay in the server log
        raise HTTPException(503, f"target {name} has no live version of the recommendations yet") from error
    except Exception as error:
        logger.error("serving %s from %s failed: %s", customer_id, reader.store.describe(), error)
        raise StoreUnavailable(name) from error
    if state.rules is not None:  # the rules of the moment (stock changes during the day): live_rules.py
        lookup = state.rules.apply(lookup, (state.catalog.customer(customer_id) or {}).get("segment"))
    body, served = state.catalog.encoder.encode(lookup, k, name)
    if state.writer is not None:
        state.writer.record(
            customer_id,
            lookup.model_version,
            served,
            lookup.cold_start,
            name,
            state.clock(),
            lookup.version,
            lookup.group,
            lookup.log_source,
            request.headers.get(TRAFFIC_HEADER),
        )
    return Response(body, media_type="application/json")


async def side_lookup(name: str, reader: LiveRecommendations, what: str, lookup: Callable, *args):
    """`lookup(*args)`, a side-list lookup of `reader` (off the event loop for point reads), with its errors as the
    API answers them: 503 without a live version, 404 when the live version holds no such list, a store failure as
    store_unavailable (its text, naming `what` was read, in the server log only)."""
    try:
        return await run_in_threadpool(lookup, *args) if reader.blocking else lookup(*args)
    except NoLiveVersionError as error:
        logger.warning("serving %s: %s", name, error)
        raise HTTPException(503, f"target {name} has no live version of the recommendations yet") from error
    except ListNotPublishedError as error:
        raise HTTPException(404, f"{error} of target {name}") from error
    except Exception as error:
        logger.error("serving %s from %s failed: %s", what, reader.store.describe(), error)
        raise StoreUnavailable(name) from error


async def serve_buy_again(request: Request, state: ServingState, name: str, reader, customer_id: str, k: int):
    """The customer's buy-again list of the live version (no control group: it compares the "for you" lists)."""
    what = f"the buy-again list of {customer_id}"
    lookup = await side_lookup(name, reader, what, reader.lookup_buy_again, customer_id)
    if state.rules is not None:  # stock, contract and blocks of the moment (core/rules/side_lists.py)
        lookup = state.rules.apply(lookup, (state.catalog.customer(customer_id) or {}).get("segment"), "buy_again")
    body, served = state.catalog.encoder.encode(lookup, k, name)
    if state.writer is not None:
        state.writer.record(
            customer_id, lookup.model_version, served, lookup.cold_start, name, state.clock(), lookup.version,
            lookup.group, "model", request.headers.get(TRAFFIC_HEADER), "buy_again",
        )  # fmt: skip
    return Response(body, media_type="application/json")


RELATED_PARAMETERS = [
    {
        "name": "product_id",
        "in": "path",
        "required": True,
        "description": "the shop's product id",
        "schema": {"type": "string", "pattern": CUSTOMER_ID_PATTERN},
    },
    {
        "name": "kind",
        "in": "query",
        "required": False,
        "description": "bought_together (products bought in the same orders, by lift) or similar (products bought "
        "by the same kind of customers: ALS item factors; published when the model is an ALS)",
        "schema": {"type": "string", "enum": list(RELATED_KINDS), "default": RELATED_KINDS[0]},
    },
    K_PARAMETER,
    TARGET_PARAMETER,
    RECOMMENDATIONS_PARAMETERS[-1],  # the synthetic-traffic header
]


@router.get(
    "/products/{product_id}/related",
    response_model=RelatedResponse,
    responses=ERRORS | {404: {"model": ErrorResponse}},
    openapi_extra={"parameters": RELATED_PARAMETERS, "security": [{"APIKeyHeader": []}]},
)
async def related_products(request: Request):
    """The products related to one product in the live version: bought together with it, or similar to it; each
    with its explanation ("bought together with X in 38 % of the orders with X"). 404 names an unknown product, a
    product without a list of that kind, or a live version without lists of that kind."""
    state = _state(request)
    state.keys.check(Scope.SERVING, request.headers.get(API_KEY_HEADER))
    params = {"customer_id": request.path_params.get("product_id", "")}
    try:
        product_id, k, target, _ = parse_recommendations_request(params, request.query_params)
    except InvalidRequest as error:  # the same checks, named for this route
        for detail in error.details:
            if detail["location"] == ["path", "customer_id"]:
                detail["location"] = ["path", "product_id"]
        raise
    kind = parse_choice(request.query_params, "kind", RELATED_KINDS)
    name, reader = state.reader_for(target)
    what = f"the {kind} list of {product_id}"
    lookup = await side_lookup(name, reader, what, reader.lookup_related, product_id, kind)
    if not lookup.items:
        if product_id not in state.catalog.data.products:
            raise HTTPException(404, f"unknown product {product_id!r}: not in the catalogue nor in the live version")
        raise HTTPException(
            404,
            f"product {product_id!r} has no {kind} list in the live version {lookup.version} (inactive, or not bought "
            "in the training window)",
        )
    if state.rules is not None:  # stock of the moment (core/rules/side_lists.py)
        lookup = state.rules.apply(lookup, None, kind)
    body, served = state.catalog.encoder.encode_related(lookup, k, name)
    if state.writer is not None:
        state.writer.record(
            None, lookup.model_version, served, False, name, state.clock(), lookup.version, None, None,
            request.headers.get(TRAFFIC_HEADER), kind, product_id,
        )  # fmt: skip
    return Response(body, media_type="application/json")


@router.get("/customers", responses=ERRORS, dependencies=[Depends(require_review_key)])
def search_customers(
    request: Request,
    q: str = Query(..., min_length=1, max_length=64, description="id prefix or part of the name"),
    limit: int = Query(20, ge=1, le=100),
) -> dict:
    """Customers of the master data whose id starts with `q` or whose name contains it."""
    return {"customers": _state(request).catalog.search_customers(q, limit)}


@router.get("/customers/{customer_id}/history", responses=ERRORS, dependencies=[Depends(require_review_key)])
def customer_history(
    request: Request,
    customer_id: str = PathParam(..., pattern=CUSTOMER_ID_PATTERN),
    top: int = Query(10, ge=1, le=50, description="how many products and categories"),
) -> dict:
    """The customer's master data and top products and categories by number of orders."""
    state = _state(request)
    if state.source is None:
        raise HTTPException(503, "no source database configured: purchase history is unavailable")
    try:
        orders = state.source.read_customer_orders(customer_id)
    except Exception as error:
        logger.error("purchase history of %s: the source database failed: %s", customer_id, error)
        raise SourceUnavailable() from error
    catalog = state.catalog
    product_frame = pd.DataFrame(
        [(p, *catalog.product(p)) for p in orders["product_id"].dropna().unique()],
        columns=["product_id", "name", "category"],
    )
    history = purchase_history(customer_id, orders, product_frame, top)
    return {"customer": catalog.customer(customer_id), **history.__dict__}


@router.get("/health")
def health(request: Request) -> JSONResponse:
    """Liveness and readiness, without a key: 200 "ok" or "degraded" (serving, with problems named in `problems`),
    503 "unavailable" (a target has no live version loaded). Per target its status (ok, stale, store_unreachable,
    no_live_version), live and model version; never a store address or path, nor an error text beyond the root
    cause of a store that cannot be read (the full errors go to the server log)."""
    state = _state(request)
    targets, problems = {}, []
    for name, reader in state.readers.items():
        snapshot, status = reader.snapshot, reader.status
        if snapshot is None:
            target_status = "no_live_version"
            problems.append(f"target {name}: no live version loaded")
        elif status.read_error is not None:  # the kind of store and the error's root cause, never its address
            target_status = "store_unreachable"
            problems.append(
                f"target {name}: the store cannot be read since {_iso(status.read_failing_since)} "
                f"({status.read_error}); answering with the popularity list of {snapshot.version}, "
                f'flagged "fallback": "{STORE_UNAVAILABLE}"'
            )
        elif status.error is not None:
            target_status = "stale"
            problems.append(f"target {name}: the last check for a new version failed; serving {snapshot.version}")
        else:
            target_status = "ok"
        targets[name] = {
            "status": target_status,
            "live_version": snapshot.version if snapshot else None,
            "model_version": snapshot.model_version if snapshot else None,
            "loaded_at": _iso(snapshot.loaded_at) if snapshot else None,
            "checked_at": _iso(status.checked_at),
        }
    if state.catalog.status == "unavailable":
        problems.append("product and customer names could not be read; lists are served without them")
    if state.writer is not None and state.writer.failing:
        problems.append("the serving log cannot be written; requests are answered, their log entries are lost")
    rules = state.rules.status() if state.rules is not None else "not_configured"
    if rules == "stale":
        problems.append("the business rules cannot be read from the source; the last rules read still apply")
    elif rules == "unavailable":
        problems.append("the business rules cannot be read from the source; lists are served as published")
    ready = all(t["live_version"] for t in targets.values())
    body = {
        "status": "unavailable" if not ready else "degraded" if problems else "ok",
        "default_target": state.default_target,
        "targets": targets,
        "problems": problems,
        "auth": not state.keys.open,
        "review_key": state.keys.review is not None,
        "rules": rules,
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/versions", responses=ERRORS, dependencies=[Depends(require_review_key)])
def versions(request: Request) -> dict:
    """The kept versions of every target (newest first; `live` marks the served one), for comparing in the page."""
    state = _state(request)
    found = []
    for name, reader in state.readers.items():
        try:
            infos = reader.store.versions()
        except Exception as error:
            logger.error("listing the versions of %s failed: %s", reader.store.describe(), error)
            raise StoreUnavailable(name) from error
        live = reader.version
        found += [
            {"target": name, "version": info.version, "model_version": str(info.metadata.get("model_version", "")),
             "published_at": info.published_at, "customers": info.customers, "live": info.version == live,
             "lists": ["for_you", *(info.metadata.get(LISTS_METADATA) or {})]}
            for info in infos
        ]  # fmt: skip
    return {"versions": found}


@router.get("/reports", responses=ERRORS, dependencies=[Depends(require_review_key)])
def reports(request: Request, limit: int = Query(20, ge=1, le=100)) -> dict:
    """The latest monitoring reports (drift, skew, prediction drift, online metrics) with their Evidently links."""
    from .reports import latest_reports

    state = _state(request)
    if state.reports_location is None:
        return {"reports": [], "ui": state.evidently_ui_url, "error": "no monitoring folder configured"}
    return latest_reports(state.reports_location, state.evidently_url, state.evidently_ui_url, limit)


@router.get(
    "/reports/{check}/{stamp}.html",
    response_class=HTMLResponse,
    responses={**ERRORS, 404: {"model": ErrorResponse}},
    dependencies=[Depends(require_review_key)],
)
def report_html(request: Request, check: str, stamp: str) -> HTMLResponse:
    """One monitoring HTML report (Evidently), from the reports' location: a folder locally, Blob storage in dev /
    prod. 404 naming the report when it is not there."""
    from .reports import report_page

    state = _state(request)
    if state.reports_location is None:
        raise HTTPException(404, "no monitoring folder configured on this server")
    try:
        page = report_page(state.reports_location, check, stamp)
    except ValueError as error:
        raise HTTPException(404, str(error)) from error
    except MissingState as error:  # where it was looked for goes to the server log only
        logger.warning("report asked for and not found: %s", error)
        raise HTTPException(404, f"no {check} report of {stamp} (the monitoring location holds none)") from error
    return HTMLResponse(page)


@router.get("/metrics", responses=ERRORS, dependencies=[Depends(require_review_key)])
def metrics(request: Request) -> dict:
    """Per target the reader's state, the catalogue and serving counters, the control group, and the figures of the
    newest online_metrics day (null: none yet)."""
    state = _state(request)
    online = state.latest_online()
    targets = {}
    for name, reader in state.readers.items():
        snapshot, status = reader.snapshot, reader.status
        targets[name] = {
            "strategy": reader.strategy,
            "live_version": snapshot.version if snapshot else None,
            "model_version": snapshot.model_version if snapshot else None,
            "customers": snapshot.customers if snapshot else None,
            "loaded_at": _iso(snapshot.loaded_at) if snapshot else None,
            "checked_at": _iso(status.checked_at),
            "check_failing": status.error is not None,
            "reloads": status.reloads,
            "store_readable": status.read_error is None,
            "fallback_answers": status.fallback_answers,
            "list_cache": reader.cache.stats() if reader.cache is not None else None,
        }
    return {
        "targets": targets,
        "catalog": state.catalog.stats() | {"loaded_at": _iso(state.catalog.data.loaded_at)},
        "serving_log": state.writer.stats() if state.writer is not None else None,
        "control_group": {"share": state.control.share},
        "online": online,
        "online_missing": None if online is not None else state.online_missing(),
        "fold_ins": state.orders.stats() if state.orders is not None else None,
    }


class OrderLine(BaseModel):
    order_id: str
    line_no: int
    order_ts: dt.datetime
    customer_id: str
    product_id: str
    quantity: float
    unit_price: float
    currency: str
    order_status: str = "completed"


class OrdersRequest(BaseModel):
    lines: list[OrderLine] = Field(min_length=1, max_length=10_000)


async def require_orders_key(request: Request, presented: str | None = Security(key_header)) -> None:
    """The orders key only, checked before the body is read (a refused client learns nothing of the schema)."""
    _state(request).keys.check(Scope.ORDERS, presented)


@router.post("/events/orders", responses=ERRORS, dependencies=[Depends(require_orders_key)])
async def post_orders(request: Request, body: OrdersRequest) -> dict:
    """Record order lines in the source database and fold their customers into the live lists at once (docs: Fresh
    lists). The orders key (RECSYS_ORDERS_KEY) only. 422 names every refused line (nothing recorded then)."""
    state = _state(request)
    if state.orders is None:
        raise HTTPException(503, "this server records no orders: it has no source database or model registry")
    lines = [line.model_dump() for line in body.lines]
    for line in lines:  # the source holds UTC without a zone, as the imports write it
        if line["order_ts"].tzinfo is not None:
            line["order_ts"] = line["order_ts"].astimezone(dt.UTC).replace(tzinfo=None)
    try:
        return await run_in_threadpool(state.orders.record, lines)
    except OrderLinesRefused as error:
        raise InvalidRequest([{"location": ["body", "lines"], "message": str(error), "input": None}]) from error


def _iso(timestamp: float | None) -> str | None:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat() if timestamp else None
