"""`POST /v1/verify`: the entailment verifier over HTTP (what `lingxi verify` does).

    {"pairs": [{"sentence": "...", "passage": "..."[, "question": "..."]}, ...]}
      -> {"object": "verify", "results": [{"sentence", "supported", "verdict", "score", "check", "passage"}, ...]}
    {"text": "a draft to fact-check", "kb": "docs"[, "k": 4]}
      -> each sentence with its best supporting (or contradicting) passage of the knowledge base:
         the same fields plus "source", "chunk_id", "page"

``verdict`` is entailed / contradicted / not stated; ``check`` names the check that decided
(empty, number, negation, subject, lexical, nli). Results keep the order of the input.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lingxi.serve.errors import ApiError, validation_error
from lingxi.serve.state import Caller, read_json

router = APIRouter()
MAX_PAIRS = 64
MAX_TEXT = 20_000


class VerifyPair(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sentence: str = Field(min_length=1, max_length=4000)
    passage: str = Field(min_length=1, max_length=20_000)
    question: str = Field(default="", max_length=2000)


class VerifyRequest(BaseModel):
    """Either ``pairs`` (sentence, passage), or ``text`` with ``kb`` (fact-check a draft against a KB)."""

    model_config = ConfigDict(extra="forbid")

    pairs: list[VerifyPair] | None = Field(default=None, max_length=MAX_PAIRS)
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    kb: str | None = Field(default=None, max_length=200)
    question: str = Field(default="", max_length=2000)
    k: int = Field(default=4, ge=1, le=20)


BODIES = {"/v1/verify": VerifyRequest}


def _caller(request: Request) -> Caller:
    return request.app.state.lingxi.authenticate(request)


@router.post("/v1/verify")
async def verify(request: Request, who: Caller = Depends(_caller)) -> dict[str, Any]:
    srv = request.app.state.lingxi
    try:
        req = VerifyRequest.model_validate(await read_json(request, srv.serve.max_body_bytes))
    except ValidationError as exc:
        raise validation_error(exc.errors()) from exc
    if (req.pairs is None) == (req.text is None):
        raise ApiError(400, "Send either 'pairs' (a list of {sentence, passage}) or 'text' with 'kb'.",
                       param="pairs", code="invalid_value")  # fmt: skip
    if req.pairs is not None:
        if not req.pairs:
            raise ApiError(400, "'pairs' is empty; send at least one {sentence, passage}.", param="pairs", code="invalid_value")
        results = await asyncio.to_thread(_pairs, req)
    else:
        if not req.kb:
            raise ApiError(400, "'text' is checked against a knowledge base: add 'kb' (GET /v1/models lists kb:NAME).",
                           param="kb", code="invalid_value")  # fmt: skip
        kb = request.app.state.kbs.get(req.kb, f"kb:{req.kb}")
        results = await asyncio.to_thread(_text, req, kb)
    return {"object": "verify", "results": results}


def _pairs(req: VerifyRequest) -> list[dict[str, Any]]:
    from lingxi.rag.claims import verify_pairs

    pairs = [p.model_dump() for p in req.pairs or []]
    return [c.model_dump(exclude={"source", "chunk_id", "page"}) for c in verify_pairs(pairs, question=req.question)]


def _text(req: VerifyRequest, kb: Any) -> list[dict[str, Any]]:
    import os

    from lingxi.rag.claims import verify_claims

    out = []
    for c in verify_claims(req.text or "", kb, question=req.question, k=req.k):
        d = c.model_dump()
        d["source"] = os.path.basename(d["source"])  # never this server's absolute paths
        out.append(d)
    return out
