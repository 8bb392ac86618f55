"""The FastAPI application: `create_app(settings, serve)`.

    from lingxi.serve import create_app, serve_settings
    app = create_app(load_settings(), serve_settings(no_auth=True))
    # uvicorn.run(app, host="127.0.0.1", port=8000)

`models` maps extra names to ready ChatModel instances (tests pass scripted fakes
with queued tool-call replies this way); everything else is resolved by name
from the aliases in the settings, lazily, on first use. `embedders` does the same
for /v1/embeddings, whose other models are the registry's embedding models.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from lingxi.config import Settings, load_settings
from lingxi.models.base import ChatModel, EmbeddingModel
from lingxi.serve import audio, errors, openapi, page, passages, sessions
from lingxi.serve.embeddings import Embedders
from lingxi.serve.kb import KnowledgeBases
from lingxi.serve.embeddings import router as embeddings_router
from lingxi.serve.moderations import router as moderations_router
from lingxi.serve.audio import router as audio_router
from lingxi.serve.verify import BODIES as VERIFY_BODIES
from lingxi.serve.verify import router as verify_router
from lingxi.serve.routes import router
from lingxi.serve.settings import OPS_PATHS, ServeSettings
from lingxi.serve.state import Server

log = logging.getLogger("lingxi.serve")
_ROUTES = {"/", "/api/feedback", "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/moderations", "/v1/verify", "/v1/audio/transcriptions", "/v1/audio/translations", "/v1/audio/speech", "/v1/models", "/healthz", "/readyz", "/metrics"}


def create_app(settings: Settings | None = None, serve: ServeSettings | None = None, *,
               models: dict[str, ChatModel] | None = None,
               embedders: dict[str, EmbeddingModel] | None = None) -> FastAPI:
    settings = settings or load_settings()
    serve = (serve or ServeSettings()).check()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        srv = Server.open(settings, serve, models)
        app.state.lingxi = srv
        app.state.embedders = Embedders(srv, embedders)
        app.state.kbs = KnowledgeBases(settings)
        task = asyncio.create_task(_preload(srv))
        try:
            yield
        finally:
            task.cancel()
            srv.close()

    app = FastAPI(title="lingxi", version="0.1.0", lifespan=lifespan, docs_url="/docs", redoc_url=None)
    errors.install(app)
    app.include_router(router)
    app.include_router(embeddings_router)
    app.include_router(moderations_router)
    app.include_router(verify_router)
    app.include_router(audio_router)
    app.include_router(page.router)
    app.include_router(sessions.router)
    app.include_router(passages.router)
    _app_routes(app)
    _ops_routes(app)
    openapi.install(app, {**page.BODIES, **sessions.BODIES, **VERIFY_BODIES}, forms=audio.FORMS)
    if serve.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=serve.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(_OpsNeedKey)
    app.add_middleware(_CountRequests)
    return app


def _app_routes(app: FastAPI) -> None:
    """The routers of registered applications (registry kind "app", e.g. the education app's /edu)."""
    from lingxi.registry import default_registry

    registry = default_registry()
    for name in registry.names("app"):
        app.include_router(registry.get("app", name))


async def _preload(srv: Server) -> None:
    """Load the --preload models (a tiny tokenize call loads the weights), then report ready."""
    try:
        for name in srv.serve.preload:
            served = srv.pool.get(name)
            await srv.pool.call(served, served.model.count_tokens, "hello")
        srv.ready = True
    except Exception as exc:  # noqa: BLE001 - reported by /readyz
        srv.preload_error = errors.from_exception(exc).message
        log.error("preloading failed: %s", srv.preload_error)


def _ops_routes(app: FastAPI) -> None:
    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        srv: Server = request.app.state.lingxi
        body: dict[str, Any] = {"status": "ready" if srv.ready else "starting", "models": srv.pool.status(),
                                "bases": srv.pool.bases()}  # one loaded base per GGUF, with the adapter names it serves
        if srv.preload_error:
            body.update(status="failed", error=srv.preload_error)
        return JSONResponse(body, status_code=200 if srv.ready else 503)

    @app.get("/metrics")
    async def metrics(request: Request) -> PlainTextResponse:
        srv: Server = request.app.state.lingxi
        return PlainTextResponse(srv.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


class _OpsNeedKey:
    """With auth on, the operations routes (/readyz, /metrics, /docs, /openapi.json) need a key too,
    unless listed in the setting public_paths (default: only /healthz)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        srv = getattr(scope["app"].state, "lingxi", None) if scope["type"] == "http" else None
        path = scope.get("path", "")
        if srv is not None and not srv.serve.no_auth and path in OPS_PATHS and path not in srv.serve.public_paths:
            from starlette.requests import Request as StarletteRequest

            try:
                srv.authenticate(StarletteRequest(scope))
            except errors.ApiError as exc:
                await exc.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _CountRequests:
    """Counts responses by route and status for /metrics (pure ASGI: no buffering of streams)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        route = path if path in _ROUTES else ("/v1/models/{id}" if path.startswith("/v1/models/") else "other")

        async def counting_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                srv = scope["app"].state.lingxi if hasattr(scope["app"].state, "lingxi") else None
                if srv is not None:
                    srv.metrics.request(route, message["status"])
            await send(message)

        await self.app(scope, receive, counting_send)
