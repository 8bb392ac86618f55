"""The OpenAI-compatible routes: chat, text completions, models (embeddings: see embeddings.py;
knowledge-base answers for the model names ``kb:NAME[@MODEL]``, with their extra
``citations`` and ``abstained`` fields: see kb.py)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from lingxi.models.base import TextModel
from lingxi.serve import kb, schema, wire
from lingxi.serve.embeddings import embedders
from lingxi.serve.errors import ApiError, from_exception
from lingxi.serve.pool import Served
from lingxi.serve.state import Caller, Server, read_json
from lingxi.types import Completion, Delta, Message, SamplingParams

router = APIRouter()
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def server(request: Request) -> Server:
    return request.app.state.lingxi


def caller(request: Request) -> Caller:
    return server(request).authenticate(request)


def sse(obj: Any) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False, separators=(',', ':'))}\n\n"


@router.post("/v1/chat/completions")
async def chat_completions(request: Request, who: Caller = Depends(caller)) -> Any:
    srv = server(request)
    req = wire.parse(schema.ChatRequest, await read_json(request, srv.serve.max_body_bytes))
    params = wire.sampling(req, srv.serve.default_max_tokens)
    msgs, tools = wire.messages(req.messages), wire.tools_for(req)
    with srv.calling("/v1/chat/completions", who):
        if kb.is_kb(req.model):
            return await _kb_chat(request, srv, req, msgs)  # sampling was validated above
        served = srv.pool.get(req.model)
        if req.stream:
            return await _stream_chat(srv, served, req, msgs, params, tools)
        try:
            comp, _queue_s = await srv.pool.call(served, served.model.chat, msgs, params, tools)
        except BaseException as exc:
            raise from_exception(exc) from exc
    return JSONResponse(wire.chat_body(comp, req.model, wire.new_id("chatcmpl"), int(time.time())))


async def _stream_chat(srv: Server, served: Served, req: schema.ChatRequest, msgs: list[Message],
                       params: SamplingParams, tools: list[dict] | None) -> StreamingResponse:
    stream, _queue_s = await srv.pool.stream(served, lambda: served.model.stream(msgs, params, tools))
    batches = stream.batches()
    try:  # an error before the first piece still gets a proper status code
        first = await anext(batches, [])
    except BaseException as exc:
        stream.cancel()
        raise from_exception(exc) from exc
    chunks = wire.ChatChunks(req.model, req.include_usage())

    def render(deltas: list[Any]) -> str:
        return "".join(sse(chunk) for delta in deltas for chunk in chunks.feed(delta))

    async def body() -> AsyncIterator[str]:
        try:
            try:
                batch = first
                while batch:
                    if text := render(batch):
                        yield text  # what has arrived goes out in one write
                    batch = await anext(batches, [])
                if tail := "".join(sse(chunk) for chunk in chunks.end()):
                    yield tail
            except Exception as exc:  # after the headers: report in the stream, as OpenAI does
                yield sse(from_exception(exc).body())
            yield "data: [DONE]\n\n"
        finally:  # a client that went away stops the generation (traced as cancelled)
            stream.cancel()

    return StreamingResponse(body(), media_type="text/event-stream", headers=SSE_HEADERS)


async def _kb_chat(request: Request, srv: Server, req: schema.ChatRequest, msgs: list[Message]) -> Any:
    """`kb:NAME[@MODEL]`: a grounded answer from the knowledge base, in MODEL's queue (see kb.py)."""
    name, model_name = kb.split_name(req.model, srv.settings.default_model)
    base = await asyncio.to_thread(request.app.state.kbs.get, name, req.model)
    served = srv.pool.get(model_name)
    try:
        wanted = kb.options(req.temperature, req.max_completion_tokens or req.max_tokens)
        ans, _queue_s = await srv.pool.call(served, kb.answer, base, served.model, msgs, wanted)
    except BaseException as exc:
        raise from_exception(exc) from exc
    extra = {"citations": kb.citations_json(ans), "abstained": ans.abstained}
    text = kb.content(ans)
    if not req.stream:
        body = {"id": wire.new_id("chatcmpl"), "object": "chat.completion", "created": int(time.time()),
                "model": req.model, "choices": [{"index": 0, "message": {"role": "assistant", "content": text,
                                                                          "refusal": None},
                                                 "logprobs": None, "finish_reason": "stop"}],
                "usage": wire.usage_json(ans.usage), "system_fingerprint": None, **extra}
        return JSONResponse(body)
    chunks = wire.ChatChunks(req.model, req.include_usage())

    async def body_stream() -> AsyncIterator[str]:
        for piece in kb.pieces(text):
            for chunk in chunks.feed(Delta(text=piece)):
                yield sse(chunk)
        last = chunks.feed(Delta(finish_reason="stop", usage=ans.usage))
        last[-1].update(extra)  # the finish chunk carries the citations
        for chunk in [*last, *chunks.end()]:
            yield sse(chunk)
        yield "data: [DONE]\n\n"

    return StreamingResponse(body_stream(), media_type="text/event-stream", headers=SSE_HEADERS)


@router.post("/v1/completions")
async def completions(request: Request, who: Caller = Depends(caller)) -> Any:
    srv = server(request)
    req = wire.parse(schema.CompletionRequest, await read_json(request, srv.serve.max_body_bytes))
    if req.suffix:
        raise ApiError(400, "'suffix' (fill-in-the-middle) is not supported by this server.", param="suffix",
                       code="unsupported_parameter")
    params = wire.sampling(req, srv.serve.default_max_tokens)
    served = srv.pool.get(req.model)
    if not isinstance(served.model, TextModel):
        raise ApiError(400, f"The model '{req.model}' only chats; use /v1/chat/completions.", param="model",
                       code="unsupported_model")
    prompts = [req.prompt] if isinstance(req.prompt, str) else req.prompt
    if req.stream and len(prompts) == 1 and params.n == 1 and not params.logprobs and \
            hasattr(served.model, "stream_complete"):
        with srv.calling("/v1/completions", who):
            return await _stream_text(srv, served, req, prompts[0], params)
    results: list[tuple[str, Completion]] = []
    with srv.calling("/v1/completions", who):
        try:
            for prompt in prompts:
                comp, _waited = await srv.pool.call(served, served.model.complete, prompt, params)
                results.append((prompt, comp))
        except BaseException as exc:
            raise from_exception(exc) from exc
    body = wire.text_body(results, req.model, wire.new_id("cmpl"), int(time.time()), req.echo)
    if not req.stream:
        return JSONResponse(body)
    return StreamingResponse(_text_chunks(body, req.include_usage()), media_type="text/event-stream",
                             headers=SSE_HEADERS)


async def _stream_text(srv: Server, served: Served, req: schema.CompletionRequest, prompt: str,
                       params: SamplingParams) -> StreamingResponse:
    """A text completion streamed as the model writes it."""
    stream, _queue_s = await srv.pool.stream(served, lambda: served.model.stream_complete(prompt, params))
    batches = stream.batches()
    try:
        first = await anext(batches, [])
    except BaseException as exc:
        stream.cancel()
        raise from_exception(exc) from exc
    chunks = wire.TextChunks(req.model, req.include_usage(), prompt if req.echo else "")

    async def body() -> AsyncIterator[str]:
        try:
            try:
                batch = first
                while batch:
                    if text := "".join(sse(c) for d in batch for c in chunks.feed(d)):
                        yield text
                    batch = await anext(batches, [])
                yield "".join(sse(c) for c in chunks.end())
            except Exception as exc:  # after the headers: report in the stream, as OpenAI does
                yield sse(from_exception(exc).body())
            yield "data: [DONE]\n\n"
        finally:
            stream.cancel()

    return StreamingResponse(body(), media_type="text/event-stream", headers=SSE_HEADERS)


async def _text_chunks(body: dict[str, Any], include_usage: bool) -> AsyncIterator[str]:
    """A finished text completion as a stream: one chunk per choice (several prompts, n > 1 or logprobs)."""
    head = {k: body[k] for k in ("id", "object", "created", "model", "system_fingerprint")}
    for choice in body["choices"]:
        yield sse({**head, "choices": [choice], **({"usage": None} if include_usage else {})})
    if include_usage:
        yield sse({**head, "choices": [], "usage": body["usage"]})
    yield "data: [DONE]\n\n"


@router.get("/v1/models")
async def list_models(request: Request, _who: Caller = Depends(caller)) -> Any:
    catalog = _catalog(request)
    return {"object": "list", "data": [_model_card(n, p) for n, p in sorted(catalog.items())]}


@router.get("/v1/models/{model_id:path}")
async def get_model(model_id: str, request: Request, _who: Caller = Depends(caller)) -> Any:
    catalog = _catalog(request)
    if kb.is_kb(model_id) and "@" in model_id and model_id.partition("@")[0] in catalog:
        return _model_card(model_id, "kb")
    if model_id not in catalog:
        raise ApiError(404, f"The model '{model_id}' does not exist on this server; GET /v1/models lists them.",
                       param="model", code="model_not_found")
    return _model_card(model_id, catalog[model_id])


def _catalog(request: Request) -> dict[str, str]:
    """Chat models with their provider, and embedding models (provider 'embedding')."""
    chat = server(request).pool.catalog()
    kbs = {f"{kb.PREFIX}{name}": "kb" for name in kb.names(server(request).settings)}
    return {**{name: "embedding" for name in embedders(request).names()}, **kbs, **chat}


def _model_card(name: str, provider: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": f"lingxi/{provider}"}
