"""What one running server holds: settings, models, keys, limits, traces, metrics."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.requests import ClientDisconnect

from lingxi import db
from lingxi.config import Settings
from lingxi.models.base import ChatModel
from lingxi.models.funnel import calling
from lingxi.serve.errors import ApiError
from lingxi.serve.keys import KeyInfo, RateLimiter, SharedRateLimiter, verify_key
from lingxi.serve.metrics import Metrics
from lingxi.serve.pool import ModelPool, Served
from lingxi.serve.settings import ServeSettings
from lingxi.tracing import Trace, TraceWriter, writer

log = logging.getLogger("lingxi.serve")
_AUTH_HINT = "send 'Authorization: Bearer lx-...' (create a key with: lingxi keys create NAME)"


@dataclass
class Caller:
    key: KeyInfo | None
    who: str  # rate-limit bucket: the key id, or the client address without auth


@dataclass
class Server:
    settings: Settings
    serve: ServeSettings
    pool: ModelPool
    conn: Any  # the home database (lingxi.db): SQLite, or PostgreSQL shared by every replica
    traces: TraceWriter | None
    metrics: Metrics = field(default_factory=Metrics)
    limiter: RateLimiter | SharedRateLimiter = field(default_factory=RateLimiter)
    ready: bool = False
    preload_error: str | None = None
    _db_lock: threading.Lock = field(default_factory=threading.Lock)
    _last_used: dict[int, float] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: Settings, serve: ServeSettings, models: dict[str, ChatModel] | None) -> Server:
        path = db.target(settings)
        shared = db.is_postgres(path)  # replicas share this database: name this one in /metrics and traces
        if shared and not settings.replica:
            settings = settings.model_copy(update={"replica": f"{socket.gethostname()}:{serve.port}"})
        conn = db.connect(path=path)
        srv = cls(settings=settings, serve=serve, pool=ModelPool(settings, serve, models), conn=conn,
                  traces=writer(path) if serve.trace and settings.trace else None)
        srv.metrics.gauges = srv.pool.gauges
        srv.metrics.replica = settings.replica
        if shared:  # counted in the database, so that N replicas enforce one limit, not N
            srv.limiter = SharedRateLimiter(srv.execute)
        return srv

    def close(self) -> None:
        self.pool.close()
        if self.traces:
            self.traces.flush()  # the writer is shared with library calls in this process
        with self._db_lock:
            self.conn.close()

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        """One statement on the shared home-database connection (serialised between threads)."""
        with self._db_lock:
            return self.conn.execute(sql, args)

    # -- auth and limits -------------------------------------------------------
    def authenticate(self, request: Request) -> Caller:
        if self.serve.no_auth:
            caller = Caller(None, f"client:{request.client.host if request.client else '?'}")
        else:
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ApiError(401, f"This server needs an API key; {_AUTH_HINT}.", code="missing_api_key")
            with self._db_lock:
                key = verify_key(self.conn, token.strip())
            if key is None:
                raise ApiError(401, f"The API key is wrong or has been revoked; {_AUTH_HINT}.", code="invalid_api_key")
            self._touch(key)
            caller = Caller(key, f"key:{key.id}")
        limit = caller.key.rate_limit if caller.key and caller.key.rate_limit is not None else self.serve.rate_limit
        wait = self.limiter.allow(caller.who, limit)
        if wait > 0:
            raise ApiError(429, f"Rate limit reached: {limit} requests per minute for this key. Retry in {wait:.1f}s.",
                           code="rate_limit_exceeded", headers={"Retry-After": str(max(1, round(wait)))})
        return caller

    def _touch(self, key: KeyInfo) -> None:
        now = time.time()
        if now - self._last_used.get(key.id, 0.0) > 60:
            self._last_used[key.id] = now
            self.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (now, key.id))

    # -- tracing: the funnel's trace wrapper records each model call; the server adds its context ----
    def calling(self, route: str, caller: Caller) -> contextlib.AbstractContextManager[Any]:
        """Model calls made inside the block are traced as this request's (route, key) and counted in /metrics."""
        return calling(source="server", route=route, key_id=caller.key.id if caller.key else None,
                       observe=self.observe, guard=self.settings.guard.for_key(caller.key.name if caller.key else None))

    def observe(self, trace: Trace, label: str | None = None) -> None:
        """Count a finished model call in /metrics (labelled from a bounded set: see ModelPool.label)."""
        self.metrics.model_call(label or self.pool.label(trace.model), trace.status, trace.latency_s, trace.ttft_s,
                                trace.prompt_tokens, trace.completion_tokens)


async def read_json(request: Request, limit: int) -> Any:
    """The request body as JSON, refusing bodies over `limit` bytes before reading them whole."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    body = bytearray()
    try:
        async for part in request.stream():
            body += part
            if len(body) > limit:
                raise _too_large(len(body), limit)
    except ClientDisconnect:
        log.info("a client disconnected while sending its request body (%d bytes received)", len(body))
        raise ApiError(400, "The client disconnected before sending the whole body.",
                       code="client_disconnected") from None
    if not body:
        raise ApiError(400, "The request body is empty; send a JSON object.", code="invalid_json")
    try:
        data = json.loads(body)
    except RecursionError:
        raise ApiError(400, "The request body nests JSON too deeply.", code="invalid_json") from None
    except ValueError as exc:
        raise ApiError(400, f"The request body is not valid JSON: {exc}.", code="invalid_json") from exc
    _check_tree(data)
    return data


MAX_DEPTH = 64  # JSON nesting a request may have (tool parameter schemas included)


def _check_tree(data: Any) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH and strings that are not valid Unicode (a lone
    surrogate such as "\\ud800" parses but can be neither tokenised nor stored)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ApiError(400, "The request holds a string that is not valid Unicode (a lone surrogate "
                               "such as \\ud800); send UTF-8 text.", code="invalid_unicode") from None
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise ApiError(400, f"The request body nests JSON more than {MAX_DEPTH} levels deep.",
                               code="invalid_json")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    stack.append((key, depth))
                stack.append((item, depth + 1))


def _too_large(size: int, limit: int) -> ApiError:
    return ApiError(413, f"The request body is {size} bytes or more; this server accepts at most {limit} bytes. "
                    "Send less text, or raise --max-body.", code="request_too_large")
