"""`/v1/embeddings`: the knowledge base's embedding models in OpenAI's format.

The model names are the registry's embedding names (``e5``: multilingual-e5-small,
``minilm``: all-MiniLM-L6-v2, and any plugin's); an embedder's Hugging Face id
(``intfloat/multilingual-e5-small`` or just ``multilingual-e5-small``) is accepted too.

    client.embeddings.create(model="e5", input=["北京是中国的首都。"])

``encoding_format`` is ``float`` (lists of numbers) or ``base64`` (little-endian
float32 bytes, what the official client asks for by default). Vectors are
L2-normalised. An extra field ``input_type`` (``query`` or ``passage``, default
``passage``) chooses e5's prefix; OpenAI clients send it with ``extra_body``.
Each embedding model computes one request at a time, behind the same fair,
bounded queue as a local chat model.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from lingxi.errors import PluginError
from lingxi.registry import default_registry
from lingxi.serve.errors import ApiError, from_exception, validation_error
from lingxi.serve.gate import Gate
from lingxi.serve.pool import Served
from lingxi.serve.schema import EmbeddingRequest
from lingxi.serve.state import Caller, Server, read_json
from lingxi.tracing import Trace

router = APIRouter()
MAX_INPUTS = 2048  # OpenAI's limit per request


class Embedders:
    """The embedding models one server offers: registry entries, loaded on first use, plus extra instances."""

    def __init__(self, srv: Server, extra: dict[str, Any] | None = None) -> None:
        self.srv, self.extra = srv, dict(extra or {})
        self._served: dict[str, Served] = {}

    def names(self) -> list[str]:
        return sorted({*default_registry().names("embedding"), *self.extra})

    def get(self, name: str) -> Served:
        name = self._canonical(name)
        if name not in self._served:
            model = self.extra[name] if name in self.extra else default_registry().get("embedding", name)()
            gate = Gate(1, self.srv.serve.queue_size, self.srv.serve.queue_timeout_s)
            self._served[name] = Served(name=name, model=model, provider=getattr(model, "provider", name), gate=gate)
        return self._served[name]

    def _canonical(self, name: str) -> str:
        names = self.names()
        if name in names:
            return name
        for known in names:  # a Hugging Face id names the same model
            try:
                cls = self.extra.get(known) or default_registry().get("embedding", known)
            except PluginError:
                continue
            full = str(getattr(cls, "model_id", "")).partition("@")[0]
            if full and name in (full, full.rpartition("/")[2]):
                return known
        raise ApiError(404, f"The embedding model '{name}' does not exist on this server. Embedding models: "
                       f"{', '.join(names) or 'none'} (GET /v1/models lists them).", param="model",
                       code="model_not_found")


def embedders(request: Request) -> Embedders:
    return request.app.state.embedders


def _caller(request: Request) -> Caller:
    return request.app.state.lingxi.authenticate(request)


@router.post("/v1/embeddings")
async def create_embeddings(request: Request, who: Caller = Depends(_caller)) -> Any:
    srv: Server = request.app.state.lingxi
    body = await read_json(request, srv.serve.max_body_bytes)
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    try:
        req = EmbeddingRequest.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc.errors()) from exc
    texts, kind = _texts(req.input), _kind(req.input_type)
    if req.encoding_format not in ("float", "base64"):
        raise ApiError(400, f"encoding_format must be 'float' or 'base64', not '{req.encoding_format}'.",
                       param="encoding_format", code="invalid_value")
    served = embedders(request).get(req.model)
    dim = getattr(served.model, "dim", None)
    if req.dimensions is not None and dim is not None and req.dimensions != dim:
        raise ApiError(400, f"The model '{served.name}' makes {dim}-dimensional vectors and cannot shorten them; "
                       f"leave out 'dimensions' or send {dim}.", param="dimensions", code="invalid_value")
    started = time.perf_counter()
    trace = Trace(model=served.name, provider=served.provider, route="/v1/embeddings",
                  key_id=who.key.id if who.key else None)
    queue_s = 0.0
    try:
        (vectors, tokens), queue_s = await srv.pool.call(served, _embed, served.model, texts, kind)
    except BaseException as exc:
        _finish(srv, trace, started, queue_s, exc)
        raise from_exception(exc) from exc
    trace.prompt_tokens = tokens
    _finish(srv, trace, started, queue_s, None)
    encode = _base64 if req.encoding_format == "base64" else _floats
    data = [{"object": "embedding", "index": i, "embedding": encode(v)} for i, v in enumerate(vectors)]
    return {"object": "list", "data": data, "model": req.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _texts(raw: Any) -> list[str]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "'input' must be a non-empty string or a non-empty list of strings.", param="input",
                       code="invalid_value")
    if len(raw) > MAX_INPUTS:
        raise ApiError(400, f"'input' has {len(raw)} items; send at most {MAX_INPUTS} per request.", param="input",
                       code="invalid_value")
    for i, item in enumerate(raw):
        if not isinstance(item, str):
            raise ApiError(400, f"input[{i}] is not a string: this server embeds text, not token ids; send the text.",
                           param="input", code="unsupported_input")
        if not item.strip():
            raise ApiError(400, f"input[{i}] is empty; every input must contain some text.", param="input",
                           code="invalid_value")
    return raw


def _kind(value: str) -> str:
    kind = {"query": "query", "search_query": "query", "passage": "passage", "document": "passage",
            "search_document": "passage"}.get(value)
    if kind is None:
        raise ApiError(400, f"input_type must be 'query' or 'passage', not '{value}'.", param="input_type",
                       code="invalid_value")
    return kind


def _embed(model: Any, texts: Sequence[str], kind: str) -> tuple[np.ndarray, int]:
    vectors = np.asarray(model.embed(texts, kind), dtype=np.float32)
    count = getattr(model, "count_tokens", None)
    tokens = sum(count(t) for t in texts) if count else sum(len(t.split()) for t in texts)
    return vectors, tokens


def _floats(v: np.ndarray) -> list[float]:
    return v.tolist()


def _base64(v: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(v, dtype="<f4").tobytes()).decode("ascii")


def _finish(srv: Server, trace: Trace, started: float, queue_s: float, error: BaseException | None) -> None:
    trace.latency_s = time.perf_counter() - started
    trace.queue_s = queue_s
    trace.compute_s = max(0.0, trace.latency_s - queue_s)
    if error is not None:
        trace.status, trace.error = "error", from_exception(error).message
    srv.observe(trace, label=trace.model)  # an embedder's canonical name: one of a bounded set
    if srv.traces:
        srv.traces.record(trace)
