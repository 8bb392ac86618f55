"""@tool: schemas from hints and docstrings, validation before the call, errors as results."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import BaseModel

from lingxi.agents.tools import Tool, parse_docstring, tool
from lingxi.errors import ToolError


class Point(BaseModel):
    x: float
    y: float


@tool
def distance(a: Point, b: Point, unit: Literal["m", "km"] = "m") -> float:
    """Distance between two points.

    Args:
        a: the first point
        b: the second point
        unit: the unit of the answer
    """
    d = ((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5
    return d / 1000 if unit == "km" else d


@tool(name="boom")
def explode(n: int) -> int:
    """Always fails."""
    raise RuntimeError(f"kaboom {n}")


def test_schema_from_hints_and_docstring() -> None:
    fn = distance.schema["function"]
    assert fn["name"] == "distance"
    assert fn["description"] == "Distance between two points."
    params = fn["parameters"]
    assert params["type"] == "object"
    assert params["required"] == ["a", "b"]
    assert params["properties"]["unit"]["enum"] == ["m", "km"]
    assert params["properties"]["a"]["description"] == "the first point"
    assert "Point" in params["$defs"] and params["$defs"]["Point"]["properties"]["x"]["type"] == "number"
    assert "title" not in json.dumps(params)


def test_validated_call_builds_pydantic_models() -> None:
    r = distance.run('{"a": {"x": 0, "y": 0}, "b": {"x": 3, "y": 4}}')
    assert r.ok and r.value == 5.0 and r.content == "5.0"
    assert distance(Point(x=0, y=0), Point(x=0, y=1)) == 1.0  # still a plain function


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ('{"a": {"x": 0}, "b": {"x": 1, "y": 1}}', "a.y"),
        ('{"a": {"x": 0, "y": 0}, "b": {"x": 1, "y": 1}, "unit": "mile"}', "unit"),
        ('{"a": 1', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"a": {"x": 0, "y": 0}, "b": {"x": 1, "y": 1}, "extra": 1}', "extra"),
    ],
)
def test_bad_arguments_become_error_results(args: str, needle: str) -> None:
    r = distance.run(args)
    assert not r.ok and r.content.startswith("Error:") and needle in r.content


def test_exceptions_inside_the_tool_become_error_results() -> None:
    r = explode.run({"n": 3})
    assert not r.ok and "RuntimeError: kaboom 3" in r.content
    assert explode.name == "boom"


def test_docstring_styles_and_bad_tools() -> None:
    desc, args = parse_docstring("Search things.\n\n:param q: the query\n:param k: how many")
    assert desc == "Search things." and args == {"q": "the query", "k": "how many"}
    desc, args = parse_docstring("查找资料。\n\n参数:\n    query: 查询内容\n\nReturns:\n    text")
    assert desc == "查找资料。" and args == {"query": "查询内容"}
    with pytest.raises(ToolError, match="named parameters"):
        Tool(lambda *xs: 0, name="varargs")
    with pytest.raises(ToolError, match="not a valid tool name"):
        Tool(lambda: 0, name="bad name!")
    assert tool(lambda: 1, name="one").run(None).content == "1"
