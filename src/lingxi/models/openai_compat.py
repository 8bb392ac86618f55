"""Any OpenAI-compatible endpoint: OpenAI, Azure OpenAI, vLLM, Ollama, DeepSeek,
llama-cpp-python's server, or another lingxi.

Built on the official `openai` client, which already retries 429/5xx and
connection errors with exponential backoff (``max_retries``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from pydantic import SecretStr

from lingxi.config import ModelSpec, Settings
from lingxi.errors import AuthError, ConfigError, EndpointError, ModelError, ModelNotFound
from lingxi.models.base import (
    MessagesLike,
    ToolCallBuffer,
    as_messages,
    as_params,
    message_dicts,
    parse_tool_calls,
)
from lingxi.models.scripted import ScriptedChat
from lingxi.redact import redact
from lingxi.types import Choice, Completion, Delta, Message, SamplingParams, Token, TokenLogprob, Usage

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIChat:
    provider = "openai"

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | SecretStr | None = None,
        api_version: str | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 3,
    ) -> None:
        self.model = model
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.shown_url = redact(self.base_url)  # what messages, logs and repr may show
        self._key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key or "")
        self.api_version = api_version
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self._client: Any = None
        self._schema_as_json_object = False
        self._init_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.model or "default"

    @classmethod
    def from_spec(cls, spec: ModelSpec, settings: Settings | None = None) -> OpenAIChat:
        key = spec.api_key
        if key is None and spec.api_key_env:
            value = os.environ.get(spec.api_key_env)
            if value is None:
                raise ConfigError(
                    f"The environment variable {spec.api_key_env} (the API key for {spec.base_url}) is not set.",
                    f"export {spec.api_key_env}=... or set api_key in lingxi.toml",
                )
            key = SecretStr(value)
        if key is None and settings is not None:
            key = settings.openai_api_key
        if key is None and os.environ.get("OPENAI_API_KEY"):
            key = SecretStr(os.environ["OPENAI_API_KEY"])
        base = spec.base_url or (settings.openai_base_url if settings else None)
        return cls(spec.model, base_url=base, api_key=key, api_version=spec.api_version,
                   timeout_s=spec.timeout_s, max_retries=spec.max_retries)

    def __repr__(self) -> str:
        return f"OpenAIChat(model={self.model!r}, base_url={self.shown_url!r}, api_key={'***' if self._key.get_secret_value() else None})"

    # -- client ----------------------------------------------------------------
    def _get_client(self) -> Any:
        with self._init_lock:
            if self._client is None:
                import openai

                key = self._key.get_secret_value() or "not-needed"  # local servers accept any key
                common = {"api_key": key, "timeout": self.timeout_s, "max_retries": self.max_retries}
                if self.api_version:  # Azure: base_url is the resource endpoint, model the deployment
                    self._client = openai.AzureOpenAI(
                        azure_endpoint=self.base_url, api_version=self.api_version, azure_deployment=self.model, **common
                    )
                else:
                    self._client = openai.OpenAI(base_url=self.base_url, **common)
            if self.model is None:
                self.model = self._first_model()
            return self._client

    def _first_model(self) -> str:
        models = self._guard(lambda: list(self._client.models.list()))
        if not models:
            raise ModelNotFound(f"{self.shown_url} serves no models.", "name one with openai:MODEL@URL")
        return models[0].id

    def _guard(self, fn: Any) -> Any:
        import openai

        try:
            return fn()
        except openai.AuthenticationError as exc:
            raise AuthError(f"{self.shown_url} refused the API key (401).", "check the key or api_key_env in lingxi.toml") from exc
        except openai.NotFoundError as exc:
            raise ModelNotFound(
                f"{self.shown_url} does not know the model '{self.model}' (404).", "run 'lingxi models list' or check the name"
            ) from exc
        except openai.APITimeoutError as exc:
            raise EndpointError(f"{self.shown_url} did not answer within {self.timeout_s:g}s.", "raise timeout_s or check the server") from exc
        except openai.APIConnectionError as exc:
            raise EndpointError(f"Could not reach {self.shown_url}.", "is the server running and the base_url right?") from exc
        except openai.BadRequestError as exc:
            raise ModelError(f"{self.shown_url} rejected the request: {_detail(exc)}.", "check the sampling values and messages") from exc
        except openai.RateLimitError as exc:
            raise EndpointError(f"{self.shown_url} is rate-limiting (429) after {self.max_retries} retries.", "wait, or raise max_retries") from exc
        except openai.APIStatusError as exc:
            raise EndpointError(f"{self.shown_url} failed with status {exc.status_code}: {_detail(exc)}.", "retry later or check the server's logs") from exc

    # -- chat ------------------------------------------------------------------
    def _request(self, msgs: list[Message], p: SamplingParams, tools: list[dict] | None, stream: bool) -> dict[str, Any]:
        req: dict[str, Any] = {
            "model": self.model, "messages": message_dicts(msgs), "temperature": p.temperature, "top_p": p.top_p,
            "max_tokens": p.max_tokens, "n": p.n, "stream": stream,
        }
        optional = {"stop": p.stop or None, "seed": p.seed, "response_format": p.response_format, "tools": tools or None,
                    "tool_choice": p.tool_choice if tools else None}
        req.update({k: v for k, v in optional.items() if v is not None})
        if p.logprobs:
            req["logprobs"] = True
            req["top_logprobs"] = p.top_logprobs or 0
        if stream:
            req["stream_options"] = {"include_usage": True}
        return req

    def chat(self, messages: MessagesLike, params: SamplingParams | None = None, tools: list[dict] | None = None) -> Completion:
        msgs, p = as_messages(messages), as_params(params)
        started = time.perf_counter()
        client = self._get_client()
        resp = self._create(client, self._request(msgs, p, tools, False))
        choices, usage = self._choices(resp), _usage(resp)
        while len(choices) < p.n:  # servers that ignore `n` (llama.cpp, Ollama): ask again, one by one
            again = p.model_copy(update={"n": 1, "seed": None if p.seed is None else p.seed + len(choices)})
            more = self._create(client, self._request(msgs, again, tools, False))
            choices.append(self._choices(more)[0].model_copy(update={"index": len(choices)}))
            usage.completion_tokens += _usage(more).completion_tokens
        return Completion(model=resp.model or self.name, choices=choices, usage=usage, latency_s=time.perf_counter() - started)

    def _create(self, client: Any, req: dict[str, Any]) -> Any:
        fmt = req.get("response_format") or {}
        if fmt.get("type") == "json_schema" and self._schema_as_json_object:
            req["response_format"] = {"type": "json_object", "schema": fmt["json_schema"]["schema"]}
        try:
            return self._guard(lambda: client.chat.completions.create(**req))
        except ModelError as exc:
            # llama.cpp-style servers know only {"type": "json_object", "schema": ...}: speak their dialect
            if fmt.get("type") != "json_schema" or "json_schema" not in exc.message or self._schema_as_json_object:
                raise
            self._schema_as_json_object = True
            return self._create(client, req)

    @staticmethod
    def _choices(resp: Any) -> list[Choice]:
        return [
            Choice(
                index=c.index,
                message=Message(role="assistant", content=c.message.content or "",
                                tool_calls=parse_tool_calls([t.model_dump() for t in c.message.tool_calls or []])),
                finish_reason=_finish(c.finish_reason),
                logprobs=_logprobs(c.logprobs),
            )
            for c in resp.choices
        ]

    def stream(self, messages: MessagesLike, params: SamplingParams | None = None, tools: list[dict] | None = None) -> Iterator[Delta]:
        msgs, p = as_messages(messages), as_params(params)
        seen: set[int] = set()
        usage = Usage()
        yield from self._stream_once(msgs, p, tools, 0, seen, usage)
        while len(seen) < p.n:  # servers that ignore `n`: stream the missing choices one by one
            again = p.model_copy(update={"n": 1, "seed": None if p.seed is None else p.seed + len(seen)})
            yield from self._stream_once(msgs, again, tools, len(seen), seen, usage)
        yield Delta(index=max(seen, default=0), usage=usage)

    def _stream_once(self, msgs: list[Message], p: SamplingParams, tools: list[dict] | None, offset: int,
                     seen: set[int], usage: Usage) -> Iterator[Delta]:
        client = self._get_client()
        chunks = self._create(client, self._request(msgs, p, tools, True))
        buffers: dict[int, ToolCallBuffer] = {}
        reported, pieces = None, 0
        it = iter(chunks)
        while (chunk := self._guard(lambda: next(it, None))) is not None:
            reported = chunk.usage or reported
            for c in chunk.choices:
                seen.add(c.index + offset)
                buf = buffers.setdefault(c.index, ToolCallBuffer())
                buf.add(c.delta.tool_calls)
                text = c.delta.content or ""
                pieces += 1 if text else 0
                if text or c.finish_reason:
                    calls = buf.calls() if c.finish_reason else None
                    yield Delta(index=c.index + offset, text=text, tool_calls=calls,
                                finish_reason=_finish(c.finish_reason) if c.finish_reason else None, logprobs=_logprobs(c.logprobs))
        if reported is not None:
            usage.prompt_tokens = reported.prompt_tokens
            usage.completion_tokens += reported.completion_tokens
        else:  # servers that ignore stream_options (llama-cpp-python's): estimate
            usage.prompt_tokens = sum(_APPROX.count_tokens(m.content or "") for m in msgs)
            usage.completion_tokens += pieces

    def complete(self, prompt: str, params: SamplingParams | None = None) -> Completion:
        p = as_params(params)
        started = time.perf_counter()
        client = self._get_client()
        req: dict[str, Any] = {"model": self.model, "prompt": prompt, "temperature": p.temperature, "top_p": p.top_p,
                               "max_tokens": p.max_tokens, "n": p.n}
        req.update({k: v for k, v in {"stop": p.stop or None, "seed": p.seed}.items() if v is not None})
        if p.logprobs:
            req["logprobs"] = p.top_logprobs or 1
        resp = self._guard(lambda: client.completions.create(**req))
        choices = [
            Choice(index=c.index, message=Message(role="assistant", content=c.text), finish_reason=_finish(c.finish_reason),
                   logprobs=_text_logprobs(c.logprobs))
            for c in resp.choices
        ]
        return Completion(model=resp.model or self.name, choices=choices, usage=_usage(resp), latency_s=time.perf_counter() - started)

    # -- tokens ----------------------------------------------------------------
    # An OpenAI-compatible API has no tokenizer route; tiktoken is not always right for
    # the served model, so we fall back to lingxi's own word/character tokenizer and say so.
    def tokenize(self, text: str) -> list[Token]:
        return _APPROX.tokenize(text)

    def count_tokens(self, text: str) -> int:
        return _APPROX.count_tokens(text)


_APPROX = ScriptedChat(name="approx")


def _usage(resp: Any) -> Usage:
    u = resp.usage
    return Usage(prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens) if u else Usage()


def _finish(reason: str | None) -> Any:
    return reason if reason in ("stop", "length", "tool_calls") else ("tool_calls" if reason == "function_call" else "stop")


def _logprobs(raw: Any) -> list[TokenLogprob] | None:
    if raw is None or not getattr(raw, "content", None):
        return None
    return [
        TokenLogprob(token=t.token, logprob=t.logprob, top=[(x.token, x.logprob) for x in t.top_logprobs or []])
        for t in raw.content
    ]


def _text_logprobs(raw: Any) -> list[TokenLogprob] | None:
    if raw is None or not raw.tokens:
        return None
    tops = raw.top_logprobs or [None] * len(raw.tokens)
    return [
        TokenLogprob(token=t, logprob=lp or 0.0, top=sorted((top or {}).items(), key=lambda x: -x[1]))
        for t, lp, top in zip(raw.tokens, raw.token_logprobs, tops, strict=False)
    ]


def _detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error", {}).get("message") or body)
    return str(getattr(exc, "message", exc))
