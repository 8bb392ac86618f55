"""The chat page at `/` (static/index.html and its files, all served by this server: no
CDN, works offline), its defaults, and the feedback route it posts thumbs up/down to.

The page's own code is plain ES modules under static/js/; the libraries it uses
(marked, DOMPurify, KaTeX, highlight.js) are vendored, built, under static/vendor/
(see static/vendor/README.md for the versions and how to update them).
"""

from __future__ import annotations

import asyncio
import time
from contextlib import closing
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lingxi import db
from lingxi.guard.hooks import scrub_feedback
from lingxi.serve import static
from lingxi.serve.errors import ApiError, validation_error
from lingxi.serve.sessions import rate_message
from lingxi.serve.state import Caller, read_json

router = APIRouter()
router.include_router(static.router)
# scripts only from this server (no inline script at all), styles from it plus the inline
# style attributes KaTeX writes; no plugins, frames, or foreign forms
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1)
    messages: list[dict[str, Any]]
    answer: str
    rating: int = Field(ge=-1, le=1)
    comment: str | None = None
    correction: str | None = Field(None, min_length=1)  # the answer it should have given (training data)
    message_id: int | None = Field(None, ge=1, le=2**63 - 1)  # the saved answer (in a conversation) this rates


BODIES = {"/api/feedback": Feedback}  # POST bodies, for /openapi.json


def _caller(request: Request) -> Caller:
    return request.app.state.lingxi.authenticate(request)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page() -> HTMLResponse:
    html = static.versioned(static.asset("index.html").body.decode("utf-8"))
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache",
                                       "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})


@router.get("/api/defaults")
async def defaults(request: Request, _who: Caller = Depends(_caller)) -> dict[str, Any]:
    """What the page's pickers start on: the configured default model (and no knowledge base)."""
    srv = request.app.state.lingxi
    return {"model": srv.settings.default_model, "kb": None, "max_tokens": srv.serve.default_max_tokens}


@router.post("/api/feedback")
async def feedback(request: Request, who: Caller = Depends(_caller)) -> dict[str, Any]:
    srv = request.app.state.lingxi
    try:
        fb = Feedback.model_validate(await read_json(request, srv.serve.max_body_bytes))
    except ValidationError as exc:
        raise validation_error(exc.errors()) from exc
    if fb.rating == 0:
        raise ApiError(400, "rating must be 1 (thumbs up) or -1 (thumbs down).", param="rating", code="invalid_value")
    owner = who.key.id if who.key else None
    if fb.message_id is not None:
        def remember() -> bool:
            with closing(db.connect(path=db.target(srv.settings))) as conn:
                return rate_message(conn, fb.message_id, owner, fb.rating)

        if not await asyncio.to_thread(remember):
            raise ApiError(404, f"There is no saved answer {fb.message_id} for this key.", param="message_id",
                           code="message_not_found")
    messages, answer, comment = scrub_feedback(fb.messages, fb.answer, fb.comment, srv.settings)  # PII per the policy
    correction = scrub_feedback([], fb.correction, None, srv.settings)[1] if fb.correction else None
    cur = srv.execute(
        "INSERT INTO feedback (ts, model, messages, answer, rating, comment, correction, key_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (time.time(), fb.model, messages, answer, fb.rating, comment, correction, owner))
    return {"id": cur.lastrowid, "saved": True}
