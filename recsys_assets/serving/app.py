"""The serving API and the review page: `create_app(stores, source, api_key, log_dir)` builds the FastAPI app.

Endpoints (see README "Serving API and review page"):
- `GET /recommendations/{customer_id}?k=&target=`  the live list with names, categories, scores, model version;
  customers absent from the live version get the popularity list flagged `"fallback": "popularity"`. Key required.
- `GET /customers?q=`, `GET /customers/{customer_id}/history?top=`  customer search and purchase history for the
  review page. Key required.
- `GET /health`  stores, live versions, catalogue and serving log state. No key (load balancers and probes).
- `GET /`  the review page (static; it asks for the key and sends it with its API calls). `/docs` OpenAPI UI.
Every `/recommendations` answer is queued for the serving log (written by a background thread).
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import re
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import pandas as pd
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Security
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..core.purchase_history import purchase_history
from ..core.source_db import SourceDatabase
from ..core.store import RecommendationStore
from ..core.store_reader import LiveRecommendations, NoLiveVersionError
from .auth import API_KEY_ENV, API_KEY_HEADER, MissingApiKeyError, key_matches
from .catalog import Catalog
from .log_writer import ServingLogWriter

logger = logging.getLogger(__name__)

CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$"
MAX_K = 100


class RecommendedItem(BaseModel):
    rank: int
    product_id: str
    name: str | None
    category: str | None
    score: float | None
    source: str


class RecommendationsResponse(BaseModel):
    customer_id: str
    target: str
    model_version: str
    store_version: str
    fallback: str | None
    cold_start: bool
    k: int
    items: list[RecommendedItem]


class ErrorResponse(BaseModel):
    error: str
    message: str
    details: list | None = None


ERRORS = {401: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}}


def _error(status: int, error: str, message: str, details: list | None = None, headers: dict | None = None):
    return JSONResponse(
        {"error": error, "message": message, "details": details}, status_code=status, headers=headers or None
    )


RECOMMENDATIONS_PARAMETERS = [
    {
        "name": "customer_id",
        "in": "path",
        "required": True,
        "description": "the shop's customer id",
        "schema": {"type": "string", "pattern": CUSTOMER_ID_PATTERN},
    },
    {
        "name": "k",
        "in": "query",
        "required": False,
        "description": "number of products (at most the published list length)",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 10},
    },
    {
        "name": "target",
        "in": "query",
        "required": False,
        "description": "store target (default: the first configured)",
        "schema": {"type": "string"},
    },
]
_CUSTOMER_ID = re.compile(CUSTOMER_ID_PATTERN)


class InvalidRequest(Exception):
    def __init__(self, details: list[dict]):
        self.details = details


def parse_recommendations_request(path_params, query_params) -> tuple[str, int, str | None]:
    """customer_id, k and target of a /recommendations request, or InvalidRequest naming each bad field."""
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
    if details:
        raise InvalidRequest(details)
    return customer_id, k, query_params.get("target")


def _page() -> str:
    return resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")


def create_app(
    stores: dict[str, RecommendationStore],
    source: SourceDatabase | None,
    api_key: str | None,
    log_dir: str | Path | None,
    refresh_seconds: float = 10.0,
    allow_no_auth: bool = False,
) -> FastAPI:
    """The API over `stores` (target name -> store; the first is the default target).

    `api_key` None is refused unless `allow_no_auth` (a deliberate, logged choice for local experiments).
    `log_dir` None disables the serving log (tests of other parts); `refresh_seconds` is how often each store's
    live pointer is checked in the background.
    """
    if not stores:
        raise ValueError("create_app needs at least one store")
    if api_key is None and not allow_no_auth:
        raise MissingApiKeyError(f"set {API_KEY_ENV} (or start with --insecure-no-auth for a local experiment)")
    catalog = Catalog(source)
    started = False

    def reload_catalog(_version: str) -> None:  # a new live version: names may have changed too
        if started:  # at start the lifespan loads the catalogue once for all targets
            catalog.reload()
            gc.freeze()

    readers = {
        name: LiveRecommendations(store, refresh_seconds, on_reload=reload_catalog) for name, store in stores.items()
    }
    default_target = next(iter(stores))
    writer = ServingLogWriter(log_dir) if log_dir is not None else None
    page = _page()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        nonlocal started
        await run_in_threadpool(catalog.reload)
        for reader in readers.values():
            await run_in_threadpool(reader.start)
        started = True
        # The loaded lists are long-lived and hold no reference cycles: move them out of the cyclic collector's
        # sight so full collections stay short (no multi-10-ms pauses on the request path).
        gc.freeze()
        if writer is not None:
            writer.start()
        if api_key is None:
            logger.warning("serving WITHOUT an API key (--insecure-no-auth): every client can read every list")
        try:
            yield
        finally:
            for reader in readers.values():
                reader.stop()
            if writer is not None:
                writer.close()

    app = FastAPI(
        title="recsys serving API",
        version="1",
        description=f"Recommendations of the live model version. Send the API key in the `{API_KEY_HEADER}` header.",
        lifespan=lifespan,
    )
    app.state.readers, app.state.catalog, app.state.writer = readers, catalog, writer
    key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description=f"the value of ${API_KEY_ENV}")

    async def require_key(presented: str | None = Security(key_header)) -> None:  # async: no threadpool hop
        if api_key is not None and not key_matches(api_key, presented):
            raise HTTPException(
                401,
                "missing API key" if presented is None else "wrong API key",
                headers={"WWW-Authenticate": "ApiKey"},
            )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException):
        names = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 503: "unavailable"}
        return _error(error.status_code, names.get(error.status_code, "error"), str(error.detail), None, error.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError):
        details = [
            {"location": list(e.get("loc", ())), "message": e.get("msg"), "input": e.get("input")}
            for e in error.errors()
        ]
        message = "; ".join(f"{'.'.join(map(str, d['location']))}: {d['message']}" for d in details)
        return _error(422, "invalid_request", message, details)

    @app.exception_handler(InvalidRequest)
    async def invalid_request(_request: Request, error: InvalidRequest):
        message = "; ".join(f"{'.'.join(map(str, d['location']))}: {d['message']}" for d in error.details)
        return _error(422, "invalid_request", message, error.details)

    def reader_for(target: str | None) -> tuple[str, LiveRecommendations]:
        name = target or default_target
        if name not in readers:
            raise HTTPException(404, f"unknown target {name!r}; configured targets: {sorted(readers)}")
        return name, readers[name]

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def review_page() -> HTMLResponse:
        return HTMLResponse(page)

    # The hot path takes the raw request and validates by hand: FastAPI's parameter machinery costs more than the
    # lookup itself. The parameters are declared for the OpenAPI docs in RECOMMENDATIONS_PARAMETERS.
    @app.get(
        "/recommendations/{customer_id}",
        response_model=RecommendationsResponse,
        responses=ERRORS | {404: {"model": ErrorResponse}},
        openapi_extra={"parameters": RECOMMENDATIONS_PARAMETERS, "security": [{"APIKeyHeader": []}]},
    )
    async def recommendations(request: Request):
        """The live recommendations of one customer; unknown customers get the popularity list, flagged."""
        if api_key is not None and not key_matches(api_key, request.headers.get(API_KEY_HEADER)):
            missing = request.headers.get(API_KEY_HEADER) is None
            raise HTTPException(401, "missing API key" if missing else "wrong API key", {"WWW-Authenticate": "ApiKey"})
        customer_id, k, target = parse_recommendations_request(request.path_params, request.query_params)
        name, reader = reader_for(target)
        try:
            lookup = (
                await run_in_threadpool(reader.lookup, customer_id) if reader.blocking else reader.lookup(customer_id)
            )
        except NoLiveVersionError as error:
            raise HTTPException(503, str(error)) from error
        body, served = catalog.encoder.encode(lookup, k, name)
        if writer is not None:
            writer.record(customer_id, lookup.model_version, served, lookup.cold_start, name)
        return Response(body, media_type="application/json")

    @app.get("/customers", responses=ERRORS, dependencies=[Depends(require_key)])
    def search_customers(
        q: str = Query(..., min_length=1, max_length=64, description="id prefix or part of the name"),
        limit: int = Query(20, ge=1, le=100),
    ) -> dict:
        """Customers of the master data whose id starts with `q` or whose name contains it."""
        return {"customers": catalog.search_customers(q, limit)}

    @app.get("/customers/{customer_id}/history", responses=ERRORS, dependencies=[Depends(require_key)])
    def customer_history(
        customer_id: str = PathParam(..., pattern=CUSTOMER_ID_PATTERN),
        top: int = Query(10, ge=1, le=50, description="how many products and categories"),
    ) -> dict:
        """The customer's master data and top products and categories by number of orders."""
        if source is None:
            raise HTTPException(503, "no source database configured: purchase history is unavailable")
        try:
            orders = source.read_customer_orders(customer_id)
        except Exception as error:
            raise HTTPException(503, f"reading the orders of {customer_id} failed: {error}") from error
        product_frame = pd.DataFrame(
            [(p, *catalog.product(p)) for p in orders["product_id"].dropna().unique()],
            columns=["product_id", "name", "category"],
        )
        history = purchase_history(customer_id, orders, product_frame, top)
        return {"customer": catalog.customer(customer_id), **history.__dict__}

    @app.get("/health")
    def health() -> JSONResponse:
        """Liveness and readiness: 200 when every target has a live version loaded, else 503."""
        targets = {}
        for name, reader in readers.items():
            snapshot, status = reader.snapshot, reader.status
            targets[name] = {
                "store": reader.store.describe(),
                "strategy": reader.strategy,
                "live_version": snapshot.version if snapshot else None,
                "model_version": snapshot.model_version if snapshot else None,
                "customers": snapshot.customers if snapshot else None,
                "loaded_at": _iso(snapshot.loaded_at) if snapshot else None,
                "checked_at": _iso(status.checked_at),
                "error": status.error,
            }
        ready = all(t["live_version"] for t in targets.values())
        body = {
            "status": "ok" if ready else "unavailable",
            "default_target": default_target,
            "targets": targets,
            "catalog": catalog.stats() | {"loaded_at": _iso(catalog.data.loaded_at)},
            "serving_log": writer.stats() if writer is not None else None,
            "auth": api_key is not None,
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    return app


def _iso(timestamp: float | None) -> str | None:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat() if timestamp else None


def app_from_environment(refresh_seconds: float = 10.0, allow_no_auth: bool = False) -> FastAPI:
    """The app of the configured deployment: its serving stores, source database and serving log folder."""
    from ..deployment import serving_log_dir, serving_source, serving_stores
    from .auth import api_key_from_env

    return create_app(
        serving_stores(),
        serving_source(),
        api_key_from_env(),
        serving_log_dir(),
        refresh_seconds=refresh_seconds,
        allow_no_auth=allow_no_auth,
    )
