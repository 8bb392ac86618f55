"""`lingxi agent "task" --tools calc,python,http,kb:NAME --trace --json` (and `--pal` for program-aided solving)."""

from __future__ import annotations

from typing import Annotated

import typer

from lingxi.cli.common import JsonOpt, MaxTokensOpt, ModelOpt, err, out, print_json, read_text

ToolsOpt = Annotated[str, typer.Option("--tools", help="Comma-separated: calc, now, python, http, sql, kb:NAME.")]


def agent_command(
    task: Annotated[str, typer.Argument(help="The task; '-' reads standard input.")],
    tools: ToolsOpt = "calc",
    model: ModelOpt = None,
    system: Annotated[str | None, typer.Option("--system", "-s", help="Extra instructions for the agent.")] = None,
    max_steps: Annotated[int, typer.Option("--max-steps", help="Most model calls.")] = 4,
    mode: Annotated[str, typer.Option("--mode", help="auto, native, react-json or react-text.")] = "auto",
    finish: Annotated[str, typer.Option("--finish", help="Who ends the run: auto, model or tool.")] = "auto",
    file: Annotated[list[str] | None, typer.Option("--file", "-f", help="Input file for python/sql (repeatable).")] = None,
    allow_host: Annotated[list[str] | None, typer.Option("--allow-host", help="Host http_get may fetch (repeatable).")] = None,
    decide: Annotated[bool | None, typer.Option(
        "--decide/--no-decide", help="Ask 'does any tool fit?' before the first call (default: where measured to help).",
        show_default=False)] = None,
    pal: Annotated[bool, typer.Option("--pal", help="Program-aided: the model writes code, the sandbox runs it.")] = False,
    trace: Annotated[bool, typer.Option("--trace", help="Print every step to standard error.")] = False,
    max_tokens: MaxTokensOpt = 256,
    json_out: JsonOpt = False,
) -> None:
    """Let a model use tools (a calculator, a Python sandbox, HTTP, SQL, a knowledge base) to do a task."""
    from lingxi.agents import Agent, builtin_tools
    from lingxi.errors import ConfigError
    from lingxi.types import SamplingParams

    task = read_text(task)
    if finish not in ("auto", "model", "tool"):
        raise ConfigError(f"Unknown --finish '{finish}'.", "use auto, model or tool")
    if pal:
        _run_pal(task, model, max_tokens, trace, json_out)
        return
    agent = Agent(model, builtin_tools(tools, files=file, allow_hosts=allow_host or ()), system=system,
                  max_steps=max_steps, mode=mode, finish=finish, decide=decide,  # type: ignore[arg-type]
                  params=SamplingParams(temperature=0.0, max_tokens=max_tokens))
    result = agent.run(task)
    if trace:
        err.print(result.format_trace(), markup=False)
    if json_out:
        print_json(result.to_dict())
    else:
        out.print(result.answer or "(no answer)", markup=False)
        if result.note:
            err.print(f"({result.note})", markup=False, style="dim")


def _run_pal(task: str, model: str | None, max_tokens: int, trace: bool, json_out: bool) -> None:
    from lingxi.agents import pal

    result = pal(task, model, params={"temperature": 0.0, "max_tokens": max(max_tokens, 320)})
    if trace:
        err.print(f"program (try {result.tries}):\n{result.code}\n---\n{result.run.summary() if result.run else ''}",
                  markup=False)
    if json_out:
        print_json({"answer": result.answer, "code": result.code, "tries": result.tries, "tokens": result.tokens,
                    "run": result.run.to_dict() if result.run else None})
    else:
        out.print(result.answer if result.answer is not None else "(no answer)", markup=False)
