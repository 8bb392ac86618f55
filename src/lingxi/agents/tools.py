"""`@tool`: a typed Python function becomes a tool a model can call.

    @tool
    def add(a: int, b: int = 1) -> int:
        '''Add two integers.

        Args:
            a: the first number
            b: the second number
        '''
        return a + b

    add.schema          # OpenAI-style {"type": "function", "function": {...}}
    add.run('{"a": 2}') # ToolResult(ok=True, content="3")

The JSON schema comes from the type hints (pydantic models are allowed as
parameters) and the docstring (first paragraph = description, `Args:` or
`:param x:` lines = parameter descriptions). Arguments are validated before the
function runs; every failure becomes a ToolResult with ok=False and a sentence
the model can act on, never an exception in the agent loop.
"""

from __future__ import annotations

import inspect
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from lingxi.errors import LingxiError, ToolError

MAX_RESULT_CHARS = 4000
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")


@dataclass
class ToolResult:
    """What a tool call gave back: `content` is what the model reads."""

    ok: bool
    content: str
    value: Any = None
    seconds: float = 0.0


class Tool:
    """A callable with a name, a description and a JSON schema for its arguments."""

    def __init__(self, fn: Callable[..., Any], name: str | None = None, description: str | None = None) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        if not _NAME.match(self.name):
            raise ToolError(f"'{self.name}' is not a valid tool name.", "use letters, digits, '_' or '-' (at most 64)")
        doc, arg_docs = parse_docstring(inspect.getdoc(fn) or "")
        self.description = description or doc or self.name
        self.args_model = _args_model(fn, self.name, arg_docs)
        self.parameters = _clean_schema(self.args_model.model_json_schema())

    def __repr__(self) -> str:
        return f"Tool({self.name!r})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    @property
    def schema(self) -> dict[str, Any]:
        """The OpenAI `tools` entry for this tool."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}

    def signature(self) -> str:
        """A one-line human/model-readable description, used by the ReAct prompt."""
        props = self.parameters.get("properties", {})
        args = ", ".join(f"{k}: {v.get('type', 'object')}" for k, v in props.items())
        return f"{self.name}({args}): {self.description.splitlines()[0]}"

    def run(self, arguments: str | dict[str, Any] | None) -> ToolResult:
        """Validate the arguments, call the function, and turn any failure into an error result."""
        started = time.perf_counter()
        try:
            kwargs = self.validate(arguments)
            value = self.fn(**kwargs)
        except ToolError as exc:
            return ToolResult(False, f"Error: {exc}", seconds=time.perf_counter() - started)
        except LingxiError as exc:
            return ToolResult(False, f"Error: {exc}", seconds=time.perf_counter() - started)
        except Exception as exc:  # the tool's own bug or bad input: the model should see it, not crash
            return ToolResult(False, f"Error: {type(exc).__name__}: {exc}", seconds=time.perf_counter() - started)
        return ToolResult(True, format_value(value), value, time.perf_counter() - started)

    def validate(self, arguments: str | dict[str, Any] | None) -> dict[str, Any]:
        """Parsed, validated keyword arguments (pydantic-model parameters become model instances)."""
        data = _parse_arguments(arguments, self.name)
        try:
            parsed = self.args_model.model_validate(data)
        except ValidationError as exc:
            raise ToolError(f"Invalid arguments for tool '{self.name}': {_first_errors(exc)}.",
                            f"expected arguments matching {json.dumps(self.parameters, ensure_ascii=False)}") from exc
        return {name: getattr(parsed, name) for name in type(parsed).model_fields}


def tool(fn: Callable[..., Any] | None = None, *, name: str | None = None, description: str | None = None) -> Any:
    """Decorator: `@tool` or `@tool(name="x", description="...")`."""
    if fn is None:
        return lambda f: Tool(f, name=name, description=description)
    return Tool(fn, name=name, description=description)


def as_tool(obj: Tool | Callable[..., Any]) -> Tool:
    return obj if isinstance(obj, Tool) else Tool(obj)


def format_value(value: Any, limit: int = MAX_RESULT_CHARS) -> str:
    if isinstance(value, BaseModel):
        text = value.model_dump_json()
    elif isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = str(value)
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more characters cut]"


# -- schema ---------------------------------------------------------------------------
def _args_model(fn: Callable[..., Any], name: str, arg_docs: dict[str, str]) -> type[BaseModel]:
    try:
        hints = get_type_hints(fn)
    except Exception as exc:
        raise ToolError(f"The type hints of tool '{name}' could not be read: {exc}.",
                        "import every type the signature uses at module level") from exc
    fields: dict[str, Any] = {}
    for pname, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolError(f"Tool '{name}' takes *{pname}; tools need named parameters.", "list each argument")
        hint = hints.get(pname, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[pname] = (hint, Field(default, description=arg_docs.get(pname)))
    config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    return create_model(f"{name}_args", __config__=config, **fields)


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop pydantic's 'title' noise; keep $defs for nested models."""
    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    out = strip(schema)
    out.setdefault("properties", {})
    out["type"] = "object"
    return out


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The description (text before any Args section) and per-argument descriptions."""
    args: dict[str, str] = {}
    lines, desc, in_args = doc.splitlines(), [], False
    for line in lines:
        stripped = line.strip()
        if re.match(r"^(Returns?|Raises|Examples?|Yields|Notes?|返回)\s*[:：]$", stripped):
            break
        if m := re.match(r":param\s+(\w+):\s*(.*)", stripped):
            args[m.group(1)] = m.group(2)
            continue
        if re.match(r"^(Args|Arguments|Parameters|参数)\s*[:：]$", stripped):
            in_args = True
            continue
        if in_args:
            if m := re.match(r"(\w+)\s*(?:\([^)]*\))?\s*[:：]\s*(.*)", stripped):
                args[m.group(1)] = m.group(2)
            elif stripped and not line.startswith((" ", "\t")):
                in_args = False
            if in_args:
                continue
        desc.append(line)
    return "\n".join(desc).strip(), args


def _parse_arguments(arguments: str | dict[str, Any] | None, name: str) -> dict[str, Any]:
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, dict):
        return arguments
    try:
        data = json.loads(arguments)
    except ValueError as exc:
        raise ToolError(f"The arguments for tool '{name}' are not valid JSON: {exc}.",
                        'send a JSON object such as {"x": 1}') from exc
    if not isinstance(data, dict):
        raise ToolError(f"The arguments for tool '{name}' must be a JSON object, not {type(data).__name__}.",
                        'send a JSON object such as {"x": 1}')
    return data


def _first_errors(exc: ValidationError, n: int = 3) -> str:
    parts = []
    for e in exc.errors()[:n]:
        loc = ".".join(str(p) for p in e["loc"]) or "arguments"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)
