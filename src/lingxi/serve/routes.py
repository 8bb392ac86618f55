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
from lingxi.serve import kb, wire
from lingxi.serve.embeddings import embedders
from lingxi.serve.errors import ApiError, from_exception
from lingxi.serve.pool import Served
from lingxi.serve.state import Caller, Server, read_json
from lingxi.tracing import Trace
from lingxi.types import Completion, Delta, Message, SamplingParams, Usage

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
    req = wire.parse(wire.ChatRequest, await read_json(request, srv.serve.max_body_bytes))
    params = wire.sampling(req, srv.serve.default_max_tokens)
    msgs, tools = wire.messages(req.messages), wire.tools_for(req)
    if kb.is_kb(req.model):
        return await _kb_chat(request, srv, who, req, msgs)  # sampling was validated above
    served = srv.pool.get(req.model)
    started = time.perf_counter()
    trace = srv.start_trace(served, "/v1/chat/completions", who, req.stream)
    if req.stream:
        return await _stream_chat(srv, served, trace, started, req, msgs, params, tools)
    queue_s = 0.0
    try:
        comp, queue_s = await srv.pool.call(served, served.model.chat, msgs, params, tools)
    except BaseException as exc:
        srv.finish(trace, started, queue_s=queue_s, error=exc)
        raise from_exception(exc) from exc
    srv.finish(trace, started, usage=comp.usage, queue_s=queue_s)
    return JSONResponse(wire.chat_body(comp, req.model, wire.new_id("chatcmpl"), int(time.time())))


async def _stream_chat(srv: Server, served: Served, trace: Trace, started: float, req: wire.ChatRequest,
                       msgs: list[Message], params: SamplingParams, tools: list[dict] | None) -> StreamingResponse:
    stream, queue_s = await srv.pool.stream(served, lambda: served.model.stream(msgs, params, tools))
    batches = stream.batches()
    try:  # an error before the first piece still gets a proper status code
        first = await anext(batches, [])
    except BaseException as exc:
        stream.cancel()
        srv.finish(trace, started, queue_s=queue_s, error=exc)
        raise from_exception(exc) from exc
    chunks = wire.ChatChunks(req.model, req.include_usage())

    def render(deltas: list[Any]) -> str:
        out = []
        for delta in deltas:
            if trace.ttft_s is None and (delta.text or delta.tool_calls):
                trace.ttft_s = time.perf_counter() - started
            out.extend(sse(chunk) for chunk in chunks.feed(delta))
        return "".join(out)

    async def body() -> AsyncIterator[str]:
        error, status = None, "cancelled"
        try:
            try:
                batch = first
                while batch:
                    if text := render(batch):
                        yield text  # what has arrived goes out in one write
                    batch = await anext(batches, [])
                status = "ok"
                if tail := "".join(sse(chunk) for chunk in chunks.end()):
                    yield tail
            except Exception as exc:  # after the headers: report in the stream, as OpenAI does
                error, status = exc, "error"
                yield sse(from_exception(exc).body())
            yield "data: [DONE]\n\n"
        finally:  # after [DONE]: the client has its whole answer before the trace is made
            stream.cancel()
            srv.finish(trace, started, usage=chunks.usage, queue_s=queue_s, error=error, status=status)

    return StreamingResponse(body(), media_type="text/event-stream", headers=SSE_HEADERS)


async def _kb_chat(request: Request, srv: Server, who: Caller, req: wire.ChatRequest, msgs: list[Message]) -> Any:
    """`kb:NAME[@MODEL]`: a grounded answer from the knowledge base, in MODEL's queue (see kb.py)."""
    name, model_name = kb.split_name(req.model, srv.settings.default_model)
    base = await asyncio.to_thread(request.app.state.kbs.get, name, req.model)
    served = srv.pool.get(model_name)
    started = time.perf_counter()
    trace = srv.start_trace(served, "/v1/chat/completions", who, req.stream)
    queue_s = 0.0
    try:
        wanted = kb.options(req.temperature, req.max_completion_tokens or req.max_tokens)
        ans, queue_s = await srv.pool.call(served, kb.answer, base, served.model, msgs, wanted)
    except BaseException as exc:
        srv.finish(trace, started, queue_s=queue_s, error=exc)
        raise from_exception(exc) from exc
    trace.ttft_s = time.perf_counter() - started
    srv.finish(trace, started, usage=ans.usage, queue_s=queue_s)
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
    req = wire.parse(wire.CompletionRequest, await read_json(request, srv.serve.max_body_bytes))
    if req.suffix:
        raise ApiError(400, "'suffix' (fill-in-the-middle) is not supported by this server.", param="suffix",
                       code="unsupported_parameter")
    params = wire.sampling(req, srv.serve.default_max_tokens)
    served = srv.pool.get(req.model)
    if not isinstance(served.model, TextModel):
        raise ApiError(400, f"The model '{req.model}' only chats; use /v1/chat/completions.", param="model",
                       code="unsupported_model")
    prompts = [req.prompt] if isinstance(req.prompt, str) else req.prompt
    started = time.perf_counter()
    trace = srv.start_trace(served, "/v1/completions", who, req.stream)
    results: list[tuple[str, Completion]] = []
    queue_s = 0.0
    try:
        for prompt in prompts:
            comp, waited = await srv.pool.call(served, served.model.complete, prompt, params)
            queue_s += waited
            results.append((prompt, comp))
    except BaseException as exc:
        srv.finish(trace, started, queue_s=queue_s, error=exc)
        raise from_exception(exc) from exc
    usage = Usage(prompt_tokens=sum(c.usage.prompt_tokens for _, c in results),
                  completion_tokens=sum(c.usage.completion_tokens for _, c in results))
    srv.finish(trace, started, usage=usage, queue_s=queue_s)
    body = wire.text_body(results, req.model, wire.new_id("cmpl"), int(time.time()), req.echo)
    if not req.stream:
        return JSONResponse(body)
    return StreamingResponse(_text_chunks(body, req.include_usage()), media_type="text/event-stream",
                             headers=SSE_HEADERS)


async def _text_chunks(body: dict[str, Any], include_usage: bool) -> AsyncIterator[str]:
    """A finished text completion as a stream: one chunk per choice (the model does not stream raw text)."""
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
