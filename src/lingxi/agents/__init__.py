"""Agents: typed tools, the tool-calling loop, built-in tools, the code sandbox, PAL, chains.

Imports are lazy so that `import lingxi.agents` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Tool": "tools", "ToolResult": "tools", "tool": "tools",
    "Agent": "agent", "supports_native_tools": "agent",
    "AgentResult": "trace", "Step": "trace",
    "Sandbox": "sandbox", "SandboxLimits": "sandbox", "SandboxResult": "sandbox", "run_code": "sandbox",
    "calculator": "builtins", "now": "builtins", "python_tool": "builtins", "kb_search_tool": "builtins",
    "builtin_tools": "builtins", "http_get_tool": "web_sql", "sql_tool": "web_sql",
    "pal": "programs", "PalResult": "programs",
    "agent_tool": "multi", "supervisor": "multi",
    "prompt": "chains", "sequential": "chains", "transform": "chains", "router": "chains", "Router": "chains",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"lingxi.agents.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'lingxi.agents' has no attribute {name!r}")
