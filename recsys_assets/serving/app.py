"""The serving API: `create_app(stores, source, api_key, log_dir)` builds the FastAPI app (routes in routes.py).

The app owns the long-lived parts: one live reader per store target (refreshed in the background), the
catalogue of product and customer names, and the serving-log writer; it starts and stops them with its
lifespan and turns every error into JSON with a stable `error` code (unauthorized, not_found, invalid_request,
unavailable, store_unavailable, source_unavailable, internal_error) and a message without internal details.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..core.lifecycle.control_group import ControlGroup
from ..core.stores.source_db import SourceDatabase
from ..core.stores.store import RecommendationStore, StoreError
from ..core.stores.store_reader import LiveRecommendations
from .auth import API_KEY_ENV, API_KEY_HEADER, MissingApiKeyError
from .catalog import Catalog
from .log_writer import ServingLogWriter
from .routes import InvalidRequest, ServingState, SourceUnavailable, router

logger = logging.getLogger(__name__)


def _error(status: int, error: str, message: str, details: list | None = None, headers: dict | None = None):
    return JSONResponse(
        {"error": error, "message": message, "details": details}, status_code=status, headers=headers or None
    )


def _page() -> str:
    return resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")


def create_app(
    stores: dict[str, RecommendationStore],
    source: SourceDatabase | None,
    api_key: str | None,
    log_dir: str | Path | None,
    refresh_seconds: float = 10.0,
    allow_no_auth: bool = False,
    control: ControlGroup | None = None,
    clock: Callable[[], float] | None = None,
    monitoring_dir: str | Path | None = None,
    evidently: tuple[str, str] = ("", ""),
) -> FastAPI:
    """The API over `stores` (target name -> store; the first is the default target).

    `api_key` None is refused unless `allow_no_auth` (a deliberate, logged choice for local experiments).
    `log_dir` None disables the serving log (tests of other parts); `refresh_seconds` is how often each store's
    live pointer is checked in the background. `control` is the control group (default: none); `clock` stamps
    the serving log (default `time.time`; the online demo serves on simulated days); `monitoring_dir` holds the
    monitors' summaries and the online_metrics figures (/reports, /metrics, /health); `evidently` is the remote
    `evidently ui` URL ("" for none) and the URL people open it at.
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
    writer = ServingLogWriter(log_dir) if log_dir is not None else None

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
        docs_url=None,  # served below from the installed Swagger UI package: no CDN, works on an intranet
        redoc_url=None,
    )
    add_offline_docs(app)
    app.state.serving = ServingState(
        readers,
        catalog,
        writer,
        api_key,
        source,
        _page(),
        control or ControlGroup(),
        clock or time.time,
        Path(monitoring_dir) if monitoring_dir is not None else None,
        *evidently,
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

    app.include_router(router)
    return app


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


def app_from_environment(refresh_seconds: float = 10.0, allow_no_auth: bool = False) -> FastAPI:
    """The app of the configured deployment: its serving stores, source database and serving log folder."""
    from ..settings import (
        control_salt,
        control_share,
        evidently_ui_url,
        evidently_url,
        monitoring_dir,
        serving_log_dir,
    )
    from .auth import api_key_from_env
    from .stores import serving_source, serving_stores

    return create_app(
        serving_stores(),
        serving_source(),
        api_key_from_env(),
        serving_log_dir(),
        refresh_seconds=refresh_seconds,
        allow_no_auth=allow_no_auth,
        control=ControlGroup(control_share(), control_salt()),
        monitoring_dir=monitoring_dir(),
        evidently=(evidently_url(), evidently_ui_url(evidently_url())),
    )
