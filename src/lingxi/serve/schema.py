"""OpenAI's request bodies as strict pydantic models: every malformed field is a 400 naming it.

Fields OpenAI clients send that this server does not use (user, presence_penalty,
metadata, ...) are accepted and ignored; fields it uses are validated by type, so
``content: [{"type": "text", "text": 5}]``, ``tool_calls: "abc"`` or ``arguments`` given as an
object are refused before any model runs. The same models declare the request bodies in
``/openapi.json``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, field_validator

Number = StrictInt | StrictFloat
NAME = r"^[a-zA-Z0-9_.:-]{1,64}$"  # OpenAI: a function name of letters, digits, _ and -, at most 64


class _Open(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TextPart(_Open):
    type: Literal["text", "input_text"]
    text: StrictStr


class OtherPart(_Open):
    """Any non-text content part (image_url, input_audio, file): refused with a clear message by the route."""

    type: Literal["image_url", "input_image", "input_audio", "file", "refusal"]


class FunctionCall(_Open):
    name: StrictStr = Field(min_length=1, max_length=64)
    arguments: StrictStr = "{}"  # JSON text, as OpenAI sends it (not an object)


class ToolCallIn(_Open):
    id: StrictStr | None = None
    type: Literal["function"] = "function"
    function: FunctionCall


class MessageIn(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: StrictStr | list[Annotated[TextPart | OtherPart, Field(discriminator="type")]] | None = None
    name: StrictStr | None = Field(None, max_length=256)
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: StrictStr | None = None


class FunctionDef(_Open):
    name: StrictStr = Field(pattern=NAME)
    description: StrictStr | None = None
    parameters: dict[str, Any] | None = None
    strict: StrictBool | None = None


class ToolIn(_Open):
    type: Literal["function"]
    function: FunctionDef


class NamedFunction(_Open):
    name: StrictStr = Field(min_length=1)


class NamedToolChoice(_Open):
    type: Literal["function"]
    function: NamedFunction


class JsonSchemaSpec(_Open):
    name: StrictStr = Field("response", max_length=64)
    description: StrictStr | None = None
    schema_: dict[str, Any] = Field(alias="schema")
    strict: StrictBool | None = None

    @field_validator("schema_")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as exc:
            raise ValueError(f"json_schema.schema is not a valid JSON Schema: {exc.message}") from None
        return value


class ResponseFormat(_Open):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaSpec | None = None

    def as_dict(self) -> dict[str, Any] | None:
        if self.type == "json_schema":
            if self.json_schema is None:
                raise ValueError("a json_schema response_format needs json_schema.schema (a JSON Schema object)")
            return {"type": "json_schema", "json_schema": {"name": self.json_schema.name,
                                                           "schema": self.json_schema.schema_}}
        return {"type": self.type}


class StreamOptions(_Open):
    include_usage: StrictBool | None = None


class _Request(_Open):
    model: StrictStr = Field(min_length=1, max_length=512)
    temperature: Number | None = None
    top_p: Number | None = None
    max_tokens: StrictInt | None = None
    stop: StrictStr | list[StrictStr] | None = None
    seed: StrictInt | None = None
    n: StrictInt | None = None
    stream: StrictBool = False
    stream_options: StreamOptions | None = None

    def include_usage(self) -> bool:
        return bool(self.stream and self.stream_options and self.stream_options.include_usage)


class ChatRequest(_Request):
    messages: list[MessageIn] = Field(min_length=1)
    max_completion_tokens: StrictInt | None = None
    logprobs: StrictBool | None = None
    top_logprobs: StrictInt | None = None
    response_format: ResponseFormat | None = None
    tools: list[ToolIn] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: StrictBool | None = None


class CompletionRequest(_Request):
    prompt: StrictStr | list[StrictStr]
    logprobs: StrictInt | None = Field(None, ge=0, le=20)  # an integer in the legacy completions API
    echo: StrictBool = False
    suffix: StrictStr | None = None


class EmbeddingRequest(_Open):
    model: StrictStr = Field(min_length=1, max_length=512)
    input: StrictStr | list[StrictStr] | list[StrictInt] | list[list[StrictInt]]
    encoding_format: StrictStr = "float"
    dimensions: StrictInt | None = Field(None, ge=1)
    input_type: StrictStr = "passage"
    user: StrictStr | None = None
