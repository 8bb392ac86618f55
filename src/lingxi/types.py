"""The shared vocabulary of lingxi: plain data, no behaviour.

Every provider, store and command speaks in these types, so a value made by one
part can be handed to any other.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ToolCall(_Data):
    """A function call requested by a model; `arguments` is the raw JSON text.

    OpenAI's shape (``{"id", "type": "function", "function": {"name", "arguments"}}``) is accepted too."""

    id: str
    name: str
    arguments: str = "{}"

    @model_validator(mode="before")
    @classmethod
    def _openai_shape(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("function"), dict):
            fn = value["function"]
            value = {"id": value.get("id") or "call_0", "name": fn.get("name"), "arguments": fn.get("arguments", "{}")}
        return value


class Message(_Data):
    role: Role
    content: str | None = ""
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None


class SamplingParams(_Data):
    """How to sample; every chat provider honours the same fields.

    `response_format` follows OpenAI: {"type": "json_object"} or
    {"type": "json_schema", "json_schema": {"name": ..., "schema": {...}}}.
    """

    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int | None = Field(256, ge=1)
    stop: list[str] = Field(default_factory=list, max_length=8)
    seed: int | None = None
    n: int = Field(1, ge=1, le=16)
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=20)
    response_format: dict[str, Any] | None = None
    tool_choice: Literal["auto", "none", "required"] | None = None  # "required": the reply must call a tool

    @field_validator("stop", mode="before")
    @classmethod
    def _one_stop(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [value]
        return [] if value is None else value

    @field_validator("response_format")
    @classmethod
    def _known_format(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        kind = value.get("type")
        if kind not in ("text", "json_object", "json_schema"):
            raise ValueError("response_format.type must be 'text', 'json_object' or 'json_schema'")
        if kind == "json_schema" and not isinstance(value.get("json_schema", {}).get("schema"), dict):
            raise ValueError("a json_schema response_format needs json_schema.schema (a JSON Schema object)")
        return None if kind == "text" else value

    @model_validator(mode="after")
    def _logprobs_need_flag(self) -> SamplingParams:
        if self.top_logprobs and not self.logprobs:
            self.logprobs = True
        return self


class TokenLogprob(_Data):
    token: str
    logprob: float
    top: list[tuple[str, float]] = Field(default_factory=list)


class Usage(_Data):
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Choice(_Data):
    index: int = 0
    message: Message
    finish_reason: FinishReason = "stop"
    logprobs: list[TokenLogprob] | None = None


class Completion(_Data):
    """What a chat or text completion returns (one or more choices)."""

    model: str
    choices: list[Choice]
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    ttft_s: float | None = None

    @property
    def text(self) -> str:
        return self.choices[0].message.content or ""


class Delta(_Data):
    """One piece of a streamed completion. The last piece of each choice carries
    its `finish_reason`; the very last piece of the stream carries `usage`."""

    index: int = 0
    text: str = ""
    tool_calls: list[ToolCall] | None = None
    finish_reason: FinishReason | None = None
    logprobs: list[TokenLogprob] | None = None
    usage: Usage | None = None


class Token(_Data):
    """One token as a model sees it: its id and the text it stands for."""

    id: int
    text: str


class Document(_Data):
    id: str
    source: str
    text: str
    metadata: dict[str, Any] = Field(default_factory=dict)


class Chunk(_Data):
    id: str
    source: str
    text: str
    start: int = 0
    end: int = 0
    page: int | None = None
    headings: list[str] = Field(default_factory=list)
    hash: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)


class Hit(_Data):
    chunk: Chunk
    score: float
    scores: dict[str, float] = Field(default_factory=dict)


class Citation(_Data):
    n: int
    chunk_id: str
    source: str
    quote: str
    score: float = 0.0
    start_s: float | None = None  # audio: the cited passage's time range in the recording
    end_s: float | None = None
