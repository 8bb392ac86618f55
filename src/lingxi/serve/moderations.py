"""`POST /v1/moderations` in OpenAI's shape, so existing clients (``client.moderations.create``)
can screen text with lingxi's moderation check (Chinese and English).

    {"input": "text" | ["text", ...], "model": "lingxi-moderation"}
    -> {"id": "modr-...", "model": ..., "results": [{"flagged", "categories", "category_scores",
        "category_applied_input_types"}]}

lingxi's five categories map onto OpenAI's names (hate also counts as harassment, illegal as
illicit); the finer OpenAI sub-categories lingxi does not score are false / 0. Each result also
carries ``lingxi``: the injection score and the kinds of personal data found, when asked for
with ``"checks": ["moderation", "injection", "pii"]``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lingxi.serve.errors import ApiError, validation_error
from lingxi.serve.state import Caller, read_json

router = APIRouter()
MODEL = "lingxi-moderation"
MAX_INPUTS = 256
# OpenAI category -> the lingxi category whose score it takes (None: not scored)
OPENAI = {"harassment": "hate", "harassment/threatening": None, "hate": "hate", "hate/threatening": None,
          "illicit": "illegal", "illicit/violent": None, "self-harm": "self_harm", "self-harm/intent": "self_harm",
          "self-harm/instructions": None, "sexual": "sexual", "sexual/minors": None, "violence": "violence",
          "violence/graphic": None}
CHECKS = ("moderation", "injection", "pii")


class ModerationRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    input: str | list[str] | list[dict[str, Any]]
    model: str | None = None
    checks: list[str] = Field(default_factory=lambda: ["moderation"])


def _caller(request: Request) -> Caller:
    return request.app.state.lingxi.authenticate(request)


def texts_of(req: ModerationRequest) -> list[str]:
    raw = [req.input] if isinstance(req.input, str) else req.input
    out = []
    for i, item in enumerate(raw):
        if isinstance(item, dict):
            if item.get("type") != "text" or not isinstance(item.get("text"), str):
                raise ApiError(400, f"input[{i}] is not a text part; this server moderates text only.",
                               param=f"input.{i}", code="unsupported_content")
            item = item["text"]
        out.append(item)
    if not out:
        raise ApiError(400, "input is empty; send a string or a list of strings.", param="input", code="invalid_value")
    if len(out) > MAX_INPUTS:
        raise ApiError(400, f"input has {len(out)} texts; send at most {MAX_INPUTS} per request.", param="input",
                       code="invalid_value")
    return out


def result(verdicts: list[Any]) -> dict[str, Any]:
    by = {v.check: v for v in verdicts}
    mod = by["moderation"]
    cats = {name: bool(mod.categories.get(ours, False)) if ours else False for name, ours in OPENAI.items()}
    scores = {name: float(mod.scores.get(ours, 0.0)) if ours else 0.0 for name, ours in OPENAI.items()}
    out: dict[str, Any] = {"flagged": mod.flagged, "categories": cats, "category_scores": scores,
                           "category_applied_input_types": {name: ["text"] for name in OPENAI}}
    extra: dict[str, Any] = {}
    if "injection" in by:
        extra["injection"] = {"flagged": by["injection"].flagged, "score": by["injection"].scores.get("injection", 0.0)}
    if "pii" in by:
        extra["pii"] = sorted(by["pii"].scores)
    if extra:
        out["lingxi"] = extra
        out["flagged"] = mod.flagged or any(by[c].flagged for c in ("injection", "pii") if c in by)
    return out


@router.post("/v1/moderations")
async def moderations(request: Request, who: Caller = Depends(_caller)) -> dict[str, Any]:
    from lingxi.guard.screen import check_texts
    from lingxi.serve.wire import new_id

    srv = request.app.state.lingxi
    try:
        req = ModerationRequest.model_validate(await read_json(request, srv.serve.max_body_bytes))
    except ValidationError as exc:
        raise validation_error(exc.errors()) from exc
    unknown = [c for c in req.checks if c not in CHECKS]
    if unknown:
        raise ApiError(400, f"Unknown check '{unknown[0]}'; use {', '.join(CHECKS)}.", param="checks", code="invalid_value")
    checks = ["moderation", *[c for c in req.checks if c != "moderation"]]
    texts = texts_of(req)
    verdicts = await asyncio.to_thread(check_texts, texts, checks, "input", srv.settings)
    return {"id": new_id("modr"), "model": req.model or MODEL, "results": [result(v) for v in verdicts]}
