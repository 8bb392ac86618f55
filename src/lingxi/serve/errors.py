"""Errors in OpenAI's JSON shape: {"error": {"message", "type", "param", "code"}}.

Every failure the server reports goes through `ApiError`, so that any OpenAI
client raises its matching exception (BadRequestError, AuthenticationError,
NotFoundError, RateLimitError, ...) with our sentence as the message.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lingxi.errors import (
    AuthError,
    ConfigError,
    ContextLengthError,
    EndpointError,
    LingxiError,
    ModelCrashed,
    ModelNotFound,
)
from lingxi.redact import redact

log = logging.getLogger("lingxi.serve")

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "upstream_error",
    503: "overloaded_error",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        message = redact(message)  # no credential from a base URL or DSN ever reaches a client
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        kind = _TYPES.get(self.status, "server_error" if self.status >= 500 else "invalid_request_error")
        return {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def from_exception(exc: BaseException) -> ApiError:
    """The ApiError for anything a route or a model may raise."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, LingxiError):
        text = str(exc)  # message and hint, as sentences
        if isinstance(exc, ModelNotFound):
            return ApiError(404, text, param="model", code="model_not_found")
        if isinstance(exc, ContextLengthError):
            return ApiError(400, text, param="messages", code="context_length_exceeded")
        if isinstance(exc, ModelCrashed):
            return ApiError(503, text, code="model_crashed", headers={"Retry-After": "1"})
        if isinstance(exc, ConfigError):
            return ApiError(400, text, code="invalid_value")
        if isinstance(exc, AuthError | EndpointError):
            return ApiError(502, text, code="upstream_error")
        return ApiError(500, text, code=type(exc).__name__)
    log.exception("unexpected error while serving a request", exc_info=exc)
    return ApiError(500, f"The server failed unexpectedly ({type(exc).__name__}: {exc}).", code="internal_error")


def install(app: FastAPI) -> None:
    """Route every error through OpenAI's error JSON."""

    @app.exception_handler(ApiError)
    async def _api(_req: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            msg = "There is no such route. The API lives under /v1 (see GET /v1/models)."
        else:
            msg = str(exc.detail)
        return ApiError(exc.status_code, msg, headers=dict(exc.headers or {})).response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error(exc.errors()).response()

    @app.exception_handler(LingxiError)
    async def _lingxi(_req: Request, exc: LingxiError) -> JSONResponse:
        return from_exception(exc).response()

    @app.exception_handler(Exception)
    async def _any(_req: Request, exc: Exception) -> JSONResponse:
        return from_exception(exc).response()


def validation_error(errors: Any) -> ApiError:
    """A 400 naming the first bad field, from pydantic's error list."""
    first = list(errors)[0] if errors else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body",)]
    param = ".".join(loc) or None
    where = f" for '{param}'" if param else ""
    return ApiError(400, f"Invalid value{where}: {first.get('msg', 'invalid')}.", param=param, code="invalid_value")
