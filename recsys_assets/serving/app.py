"""The serving API: `create_app(settings)` builds the FastAPI app from a `ServingSettings` (routes in routes.py).

The app owns the long-lived parts: one live reader per store target (refreshed in the background), the
catalogue of product and customer names, and the serving-log writer; it starts and stops them with its
lifespan and turns every error into JSON with a stable `error` code (unauthorized, forbidden, not_found,
method_not_allowed, invalid_request, unavailable, store_unavailable, source_unavailable, internal_error) and a
message without internal details (no store address, path, SDK or exception text: those go to the server log).
"""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..core.stores.store import StoreError
from ..core.stores.store_reader import LiveRecommendations
from .auth import API_KEY_ENV, API_KEY_HEADER, REVIEW_KEY_ENV, AccessDenied
from .catalog import Catalog
from .live_rules import LiveRules
from .log_writer import ServingLogWriter
from .order_intake import OrderIntake
from .routes import InvalidRequest, ServingState, SourceUnavailable, StoreUnavailable, router
from .rule_routes import rule_router
from .serving_settings import ServingSettings

logger = logging.getLogger(__name__)


def create_app(settings: ServingSettings) -> FastAPI:
    """The API over `settings.stores` (the first is the default target); see `ServingSettings` for the rest."""
    state = serving_state(settings)
    app = FastAPI(
        title="recsys serving API",
        version="1",
        description=(
            f"Recommendations of the live model version. Send a key in the `{API_KEY_HEADER}` header: the serving "
            f"key (`{API_KEY_ENV}`) opens `/recommendations` (live lists); the review key (`{REVIEW_KEY_ENV}`) opens "
            "every route (the review page's data: versions, reports, metrics, customers, history)."
        ),
        lifespan=lambda _app: lifespan(state),
        docs_url=None,  # served below from the installed Swagger UI package: no CDN, works on an intranet
        redoc_url=None,
    )
    app.state.serving = state
    add_offline_docs(app)
    add_error_handlers(app)
    app.include_router(router)
    app.include_router(rule_router)
    return app


def serving_state(settings: ServingSettings) -> ServingState:
    """The readers, catalogue and log writer of `settings`, not started yet (the lifespan starts them)."""
    catalog = Catalog(settings.source)

    # called by the readers' threads, which start after `state` below exists: a new live version may rename too
    def reload_catalog(_version: str) -> None:
        if state.started:  # at start the lifespan loads the catalogue once for all targets
            catalog.reload()
            gc.freeze()
            if state.orders is not None:  # the first order after a nightly publish need not wait for the basis
                state.orders.prepare_in_background()

    readers = {
        name: LiveRecommendations(
            store, settings.refresh_seconds, on_reload=reload_catalog, cached_lists=settings.cached_lists
        )
        for name, store in settings.stores.items()
    }
    state = ServingState(
        readers=readers,
        catalog=catalog,
        writer=(
            ServingLogWriter(settings.serving_log or settings.log_dir)
            if settings.serving_log is not None or settings.log_dir is not None
            else None
        ),
        keys=settings.keys,
        source=settings.source,
        page=resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8"),
        control=settings.control,
        clock=settings.clock,
        monitoring_dir=settings.monitoring_dir,
        evidently_url=settings.evidently_url,
        evidently_ui_url=settings.evidently_ui_url,
        rules=LiveRules(settings.source) if settings.source is not None else None,
        orders=order_intake(settings),
    )
    return state


def order_intake(settings: ServingSettings) -> OrderIntake | None:
    """What records POST /events/orders and folds them in: None without a source database or a model registry."""
    if settings.source is None or settings.model_registry is None:
        return None
    target = settings.fold_target if settings.fold_target in settings.stores else next(iter(settings.stores))
    log = settings.serving_log if settings.serving_log is not None else settings.log_dir  # where the fold-in log is
    return OrderIntake(target, settings.stores[target], settings.source, settings.model_registry, log)


@asynccontextmanager
async def lifespan(state: ServingState):
    """Load the catalogue, start the readers and the log writer; stop them when the server stops."""
    await run_in_threadpool(state.catalog.reload)
    for reader in state.readers.values():
        await run_in_threadpool(reader.start)
    if state.rules is not None:
        await run_in_threadpool(state.rules.start)
    state.started = True
    if state.orders is not None:
        state.orders.prepare_in_background()
    # The loaded lists are long-lived and hold no reference cycles: move them out of the cyclic collector's
    # sight so full collections stay short (no multi-10-ms pauses on the request path).
    gc.freeze()
    if state.writer is not None:
        state.writer.start()
    log_key_rules(state)
    try:
        yield
    finally:
        for reader in state.readers.values():
            reader.stop()
        if state.rules is not None:
            state.rules.stop()
        if state.writer is not None:
            state.writer.close()


def log_key_rules(state: ServingState) -> None:
    """Say at start which doors are open, so an operator sees a closed review page before a user does."""
    keys = state.keys
    if keys.open:
        logger.warning("serving WITHOUT API keys (--insecure-no-auth): every client can read every route")
        return
    if keys.review is None:
        logger.warning("no %s: the review endpoints (review page data) are closed; set it to open them", REVIEW_KEY_ENV)
    if keys.serving is None:
        logger.warning("no %s: /recommendations opens with the review key only", API_KEY_ENV)
    elif keys.serving == keys.review:
        logger.warning("%s equals %s: the shop's key opens the review endpoints too", API_KEY_ENV, REVIEW_KEY_ENV)


def _error(status: int, error: str, message: str, details: list | None = None, headers: dict | None = None):
    return JSONResponse(
        {"error": error, "message": message, "details": details}, status_code=status, headers=headers or None
    )


def add_error_handlers(app: FastAPI) -> None:
    """Every error as JSON `{"error": <stable code>, "message", "details"}`; internal details go to the log only."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException):
        names = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 503: "unavailable"}
        return _error(error.status_code, names.get(error.status_code, "error"), str(error.detail), None, error.headers)

    @app.exception_handler(AccessDenied)
    async def access_denied(_request: Request, denied: AccessDenied):
        if denied.status == 401:
            return _error(401, "unauthorized", denied.message, None, {"WWW-Authenticate": "ApiKey"})
        return _error(403, "forbidden", denied.message)

    @app.exception_handler(StoreUnavailable)
    async def target_store_error(_request: Request, error: StoreUnavailable):
        message = f"the recommendation store of target {error.target} cannot be read right now; try again later"
        return _error(503, "store_unavailable", message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError):
        details = [
            {"location": list(e.get("loc", ())), "message": e.get("msg"), "input": e.get("input")}
            for e in error.errors()
        ]
        message = "; ".join(f"{'.'.join(map(str, d['location']))}: {d['message']}" for d in details)
        return _error(422, "invalid_request", message, details)

    @app.exception_handler(SourceUnavailable)
    async def source_error(_request: Request, _exception: SourceUnavailable):
        return _error(503, "source_unavailable", "the order history cannot be read right now; try again later")

    @app.exception_handler(StoreError)
    async def store_error(request: Request, error: StoreError):
        # the details (endpoint, database, SDK message) go to the server log, never to the client
        logger.error("serving %s: %s", request.url.path, error)
        return _error(503, "store_unavailable", "the recommendation store cannot be read right now; try again later")

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, error: Exception):
        logger.exception("serving %s failed", request.url.path)
        return _error(500, "internal_error", "the request failed on the server; the error is logged there")

    @app.exception_handler(InvalidRequest)
    async def invalid_request(_request: Request, error: InvalidRequest):
        message = "; ".join(f"{'.'.join(map(str, d['location']))}: {d['message']}" for d in error.details)
        return _error(422, "invalid_request", message, error.details)


DOCS_ASSETS = "/docs/assets"


def add_offline_docs(app: FastAPI) -> None:
    """`/docs`: Swagger UI with its JavaScript, CSS and icon served by this app from the `swagger-ui-bundle-v2`
    package (FastAPI's default page loads them from a CDN, which a shop's intranet may not reach)."""
    from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} - docs",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_ui_parameters={"validatorUrl": None},  # no badge from the public validator
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def docs_redirect():
        return get_swagger_ui_oauth2_redirect_html()
