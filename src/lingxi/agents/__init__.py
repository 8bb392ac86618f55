"""Agents: typed tools, the tool-calling loop, built-in tools, the code sandbox, PAL, chains.

Imports are lazy so that `import lingxi.agents` stays cheap.
"""

from __future__ import annotations

from lingxi._lazy import lazy

__all__, __getattr__ = lazy(__name__, {
    "Tool": "tools", "ToolResult": "tools", "tool": "tools",
    "Agent": "agent", "supports_native_tools": "agent",
    "AgentResult": "trace", "Step": "trace",
    "Sandbox": "sandbox", "SandboxLimits": "sandbox", "SandboxResult": "sandbox", "run_code": "sandbox",
    "calculator": "builtins", "now": "builtins", "python_tool": "builtins", "kb_search_tool": "builtins",
    "builtin_tools": "builtins", "http_get_tool": "web_sql", "sql_tool": "web_sql",
    "pal": "programs", "PalResult": "programs",
    "agent_tool": "multi", "supervisor": "multi",
    "prompt": "chains", "sequential": "chains", "transform": "chains", "router": "chains", "Router": "chains",
})
