"""Multi-agent: sub-agents exposed as tools, and a supervisor that delegates to them.

    researcher = Agent(model, [kb_search_tool("docs")], name="researcher", description="finds facts")
    mathematician = Agent(model, [calculator], name="mathematician", description="does arithmetic")
    boss = supervisor(model, [researcher, mathematician])
    boss.run("How many days are in 3 leap years?")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lingxi.agents.agent import Agent
from lingxi.agents.tools import Tool
from lingxi.errors import ToolError


def agent_tool(agent: Agent, name: str | None = None, description: str | None = None) -> Tool:
    """A tool that hands a task to `agent` and returns its answer (its steps stay in `tool.runs`)."""
    runs: list[Any] = []

    def delegate(task: str) -> str:
        result = agent.run(task)
        runs.append(result)
        if not result.answer:
            raise ToolError(f"The {agent.name} agent found no answer ({result.stop_reason}).", "rephrase the task")
        return result.answer

    delegate.__doc__ = f"Delegate a task to {agent.name}: {agent.description}\n\nArgs:\n    task: the task, in full sentences"
    tool = Tool(delegate, name=name or agent.name, description=description or f"Ask {agent.name}: {agent.description}")
    tool.runs = runs  # type: ignore[attr-defined]
    return tool


def supervisor(model: Any, agents: Sequence[Agent], *, system: str | None = None, max_steps: int = 6, **kw: Any) -> Agent:
    """An agent whose tools are the given sub-agents."""
    team = ", ".join(f"{a.name} ({a.description})" for a in agents)
    system = system or f"You lead a team: {team}. Split the task, delegate each part to the right member, then answer."
    return Agent(model, [agent_tool(a) for a in agents], system=system, max_steps=max_steps, name="supervisor", **kw)
