"""Built-in tools: calculator, now, python (the sandbox), kb_search, http_get, sql.

Tools that need configuration are made by factories (`python_tool(files=...)`,
`http_get_tool(allow_hosts=[...])`, `sql_tool(files=[...])`, `kb_search_tool(kb)`);
`builtin_tools("calc,python,http,kb:docs")` builds a list by name, as the CLI does.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

from lingxi.agents.calc import calculate, format_number
from lingxi.agents.sandbox import FilesLike, Sandbox, SandboxLimits
from lingxi.agents.tools import Tool, tool
from lingxi.errors import ConfigError, ToolError


@tool(name="calculator")
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression exactly (big integers welcome), e.g. 2**100 + 17 * 3.

    Args:
        expression: the expression, with numbers, + - * / // % ** ( ) and math functions such as sqrt or log
    """
    return format_number(calculate(expression))


@tool(name="now")
def now(timezone: str = "") -> str:
    """The current date and time (ISO 8601).

    Args:
        timezone: an IANA time zone such as Asia/Shanghai or UTC; empty for the local time
    """
    if not timezone:
        return _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return _dt.datetime.now(ZoneInfo(timezone)).isoformat(timespec="seconds")
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(f"Unknown time zone '{timezone}'.", "use an IANA name such as Asia/Shanghai or UTC") from None


def python_tool(sandbox: Sandbox | None = None, files: FilesLike = None, name: str = "python") -> Tool:
    """A tool that runs Python code in the sandbox (a fresh process and directory per call)."""
    box = sandbox or Sandbox(SandboxLimits())

    def python(code: str) -> str:
        """Run Python code in a sandbox (no network, a private working directory with the input files).

        The value of the last expression is returned; print() output is shown too.

        Args:
            code: the Python program
        """
        result = box.run(code, files)
        python.last = result  # type: ignore[attr-defined]
        if not result.ok:
            raise ToolError(result.summary(), "fix the code and try again")
        return result.summary()

    return Tool(python, name=name)


def kb_search_tool(kb: Any, k: int = 4, name: str = "kb_search") -> Tool:
    """Search a knowledge base: an object with `.search(query, k)` returning hits, or a KB name (opened lazily)."""
    holder: dict[str, Any] = {"kb": kb}

    def kb_search(query: str) -> str:
        """Search the knowledge base for passages relevant to the query.

        Args:
            query: what to look for, in the words the documents would use
        """
        base = holder["kb"]
        if isinstance(base, str):
            try:
                from lingxi.knowledge.kb import KnowledgeBase
            except ImportError as exc:
                raise ToolError("The knowledge base module is not available.", "install lingxi with knowledge support") from exc
            base = holder["kb"] = KnowledgeBase.open(base)
        from lingxi.guard.hooks import screen_hits

        hits = screen_hits(base.search(query, k=k))  # chunks carrying injections are dropped
        if not hits:
            return "No passages found."
        return "\n\n".join(_hit_text(i, h) for i, h in enumerate(hits, 1))

    return Tool(kb_search, name=name)


def _hit_text(n: int, hit: Any) -> str:
    chunk = getattr(hit, "chunk", hit)
    source = getattr(chunk, "source", "")
    text = getattr(chunk, "text", str(chunk))
    return f"[{n}] ({source}) {text[:800]}"


_NAMES = {"calc": "calculator", "calculator": "calculator", "now": "now", "time": "now", "python": "python",
          "code": "python", "http": "http_get", "http_get": "http_get", "sql": "sql"}


def builtin_tools(spec: str | Sequence[str], *, files: FilesLike = None, allow_hosts: Sequence[str] = (),
                  sandbox: Sandbox | None = None) -> list[Tool]:
    """Tools by name: calc, now, python, http, sql, kb:NAME (comma-separated or a list)."""
    from lingxi.agents.web_sql import http_get_tool, sql_tool

    names = [n.strip() for n in (spec.split(",") if isinstance(spec, str) else spec) if n.strip()]
    out: list[Tool] = []
    for raw in names:
        if raw.startswith("kb:"):
            out.append(kb_search_tool(raw[3:]))
            continue
        key = _NAMES.get(raw.lower())
        if key is None:
            raise ConfigError(f"Unknown tool '{raw}'.", "choose from: calc, now, python, http, sql, kb:NAME")
        if key == "calculator":
            out.append(calculator)
        elif key == "now":
            out.append(now)
        elif key == "python":
            out.append(python_tool(sandbox, files))
        elif key == "http_get":
            out.append(http_get_tool(allow_hosts))
        else:
            out.append(sql_tool([f for f in (files or []) if str(f).lower().endswith((".csv", ".xlsx", ".xls", ".tsv"))]))
    return out
