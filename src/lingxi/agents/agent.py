"""The agent loop: a model chooses tools until it can answer.

    agent = Agent("smollm2", tools=[calculator], max_steps=4)
    result = agent.run("What is 2**100 + 17 * 3?")
    print(result.answer); print(result.format_trace())

Modes: "native" sends OpenAI-style `tools` and reads `tool_calls` (OpenAI-compatible
endpoints, the scripted fake, llama.cpp with a function-calling chat format);
"react-json" constrains every reply to a JSON action (for local models without
tool calling: even a 135M model then emits valid calls); "react-text" is the
classic Thought/Action/Observation prompt with a strict parser. "auto" picks
native where the provider has it, else react-json.

`finish` says who ends the run: "model" (only a final answer counts), "tool" (the
first successful tool result is the answer: one-shot function calling), or "auto"
(the model's final answer, but for weak models the last tool result wins when the
run hits max_steps, repeats a call, answers empty, drops a numeric result, or states a number
that no tool observation and not the task holds: the tool's result is then returned verbatim,
with a `note` saying so).

`decide` runs one constrained yes/no call ("does any tool fit?") before the first tool call;
when the model says no, it answers without tools. None (the default) uses it where it was
measured to help (`DECIDE_BY_DEFAULT`: local providers except `DECIDE_SKIP`; bench/results/agents_trust_qwen_decide.md).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from lingxi.agents import react
from lingxi.agents.grounding import SMALL_CONSTANTS, tool_fits, unsupported_numbers
from lingxi.agents.tools import Tool, ToolResult, as_tool
from lingxi.agents.trace import AgentResult, Step, StopReason
from lingxi.errors import ConfigError
from lingxi.types import Completion, Message, SamplingParams, ToolCall

Mode = Literal["auto", "native", "react-json", "react-text"]
Finish = Literal["auto", "model", "tool"]
_FC_FORMATS = {"chatml-function-calling", "functionary", "functionary-v1", "functionary-v2"}
_NUMBER = re.compile(r"^-?\d[\d,]*(\.\d+)?$")
LOCAL_PROVIDERS = ("llamacpp", "hf")
# measured on BFCL (n = 10 per category; bench/results/agents_trust_qwen_decide.md, agents_trust_smollm2.md): with the
# purpose-then-pick step Qwen2.5-1.5B goes from 0 % to 80 % on irrelevance at the same simple (90 %) and multiple
# (80 %); SmolLM2 does not change (70 / 40 / 50 %) and only pays the extra call, so it skips the step.
DECIDE_BY_DEFAULT = True
DECIDE_SKIP = ("smollm2",)  # model names (prefixes) measured not to gain from the step


def supports_native_tools(model: Any) -> bool:
    """Whether a chat model returns structured tool_calls when given `tools`."""
    flag = getattr(model, "supports_tools", None)
    if flag is not None:
        return bool(flag)
    provider = getattr(model, "provider", "")
    if provider == "llamacpp":
        return (getattr(model, "chat_format", None) or "") in _FC_FORMATS
    return provider in ("openai", "scripted")


@dataclass
class _Run:
    mode: str
    messages: list[Message]
    steps: list[Step] = field(default_factory=list)
    seen: dict[str, ToolResult] = field(default_factory=dict)
    last_ok: ToolResult | None = None
    done: tuple[str, StopReason] | None = None
    guard: Any = None  # lingxi.guard.hooks.ToolGuard: screens tool results, refuses tainted arguments
    grounds: list[str] = field(default_factory=list)  # what a final answer's numbers may come from
    last_grounded: ToolResult | None = None  # the last good result of a call whose numbers were grounded
    note: str = ""


class Agent:
    """A model with tools. Construction is cheap; the model loads on the first run."""

    def __init__(self, model: Any = None, tools: Sequence[Tool | Any] = (), *, system: str | None = None,
                 max_steps: int = 6, mode: Mode = "auto", finish: Finish = "auto",
                 params: SamplingParams | None = None, name: str = "agent", description: str | None = None,
                 decide: bool | None = None) -> None:
        if max_steps < 1:
            raise ConfigError("max_steps must be at least 1.", "give the agent room for one step or more")
        if mode not in ("auto", "native", "react-json", "react-text"):
            raise ConfigError(f"Unknown agent mode '{mode}'.", "use auto, native, react-json or react-text")
        self._model, self.system, self.max_steps = model, system, max_steps
        self.tools = {t.name: t for t in (as_tool(x) for x in tools)}
        self.mode, self.finish, self.name, self.decide = mode, finish, name, decide
        self.description = description or system or f"the {name} agent"
        self.params = params or SamplingParams(temperature=0.0, max_tokens=256)

    def __repr__(self) -> str:
        return f"Agent(name={self.name!r}, tools={list(self.tools)}, mode={self.mode!r})"

    @property
    def model(self) -> Any:
        from lingxi.models.funnel import is_opened, open_chat

        if self._model is None or not is_opened(self._model):
            self._model = open_chat(self._model)
        return self._model

    def resolved_mode(self) -> str:
        if self.mode != "auto":
            return self.mode
        return "native" if supports_native_tools(self.model) else "react-json"

    def deciding(self) -> bool:
        """Whether a run asks "does any tool fit?" before its first tool call."""
        if self.decide is not None:
            return self.decide and bool(self.tools)
        name = str(getattr(self.model, "name", "") or "").lower()
        return (DECIDE_BY_DEFAULT and bool(self.tools) and getattr(self.model, "provider", "") in LOCAL_PROVIDERS
                and not name.startswith(DECIDE_SKIP))

    def __call__(self, task: str) -> str:
        return self.run(task).answer

    def run(self, task: str, history: Sequence[Message] = ()) -> AgentResult:
        started = time.perf_counter()
        mode = self.resolved_mode()
        run = _Run(mode, self._start(task, mode, history))
        from lingxi.guard.hooks import ToolGuard

        run.grounds = [task, self.system or "", *(m.content or "" for m in history)]
        run.guard = ToolGuard(list(run.grounds))
        if self.deciding() and not self._decide(run, task, history):
            return self._without_tools(run, task, history, started)
        for n in range(1, self.max_steps + 1):
            t0 = time.perf_counter()
            completion = self.model.chat(run.messages, self._params(mode), self._schemas(mode))
            if mode == "native":
                self._native_step(run, n, completion, t0)
            else:
                self._react_step(run, n, completion, t0)
            if run.done:
                break
        answer, reason = run.done or (run.last_ok.content if run.last_ok and self.finish != "model" else "", "max_steps")
        answer, reason = self._check_numbers(run, answer, reason)
        return AgentResult(answer, run.steps, reason, mode, time.perf_counter() - started, run.messages, run.note)

    def _check_numbers(self, run: _Run, answer: str, reason: StopReason) -> tuple[str, StopReason]:
        """Every number of the answer must come from the task or a grounded tool result; if one does not,
        the last grounded tool result is the answer, verbatim (unless finish="model")."""
        stray = unsupported_numbers(answer, run.grounds)
        if not stray:
            return answer, reason
        good = run.last_grounded.content.strip() if run.last_grounded else ""
        shown = ", ".join(stray[:3])
        if self.finish != "model" and good:
            run.note = f"the model's answer stated {shown}, which no tool result holds; this is the tool's result, verbatim"
            return good, "tool_result"
        run.note = f"unverified: {shown} appear(s) in no tool result and not in the task"
        return answer, reason

    # -- the decision step ------------------------------------------------------------------
    def _decide(self, run: _Run, task: str, history: Sequence[Message]) -> bool:
        t0 = time.perf_counter()
        fits = tool_fits(self.model, [*history, Message(role="user", content=task)], self.tools.values())
        run.steps.append(Step(0, "decision", result="yes" if fits else "no", seconds=time.perf_counter() - t0))
        return fits

    def _without_tools(self, run: _Run, task: str, history: Sequence[Message], started: float) -> AgentResult:
        head = [Message(role="system", content=self.system)] if self.system else []
        messages = [*head, *history, Message(role="user", content=task)]
        t0 = time.perf_counter()
        completion = self.model.chat(messages, self.params)
        answer = completion.text.strip()
        run.steps.append(Step(1, "final", result=answer, **_cost(completion, t0)))
        return AgentResult(answer, run.steps, "no_tool", run.mode, time.perf_counter() - started, messages,
                           "no tool fits this request; answered without tools")

    # -- set-up ------------------------------------------------------------------------------
    def _start(self, task: str, mode: str, history: Sequence[Message]) -> list[Message]:
        tools = list(self.tools.values())
        if mode == "native":
            system = self.system
        else:
            system = react.system_prompt(tools, "json" if mode == "react-json" else "text", self.system)
        head = [Message(role="system", content=system)] if system else []
        return [*head, *history, Message(role="user", content=task)]

    def _params(self, mode: str) -> SamplingParams:
        if mode == "react-json":
            fmt = {"type": "json_schema", "json_schema": {"name": "action", "schema": react.action_schema(list(self.tools.values()))}}
            return self.params.model_copy(update={"response_format": fmt})
        if mode == "react-text":
            return self.params.model_copy(update={"stop": [*self.params.stop, "\nObservation:"]})
        return self.params

    def _schemas(self, mode: str) -> list[dict] | None:
        return [t.schema for t in self.tools.values()] or None if mode == "native" else None

    # -- steps -------------------------------------------------------------------------------
    def _native_step(self, run: _Run, n: int, completion: Completion, t0: float) -> None:
        msg, usage = completion.choices[0].message, completion.usage
        if not msg.tool_calls:
            self._final(run, n, msg.content or "", None, completion, t0)
            return
        run.messages.append(Message(role="assistant", content=msg.content or "", tool_calls=msg.tool_calls))
        for i, call in enumerate(msg.tool_calls):
            result = self._call_tool(run, call.name, call.arguments)
            run.messages.append(Message(role="tool", content=result.content, tool_call_id=call.id, name=call.name))
            tokens = (usage.prompt_tokens, usage.completion_tokens) if i == 0 else (0, 0)
            self._record(run, n, call, msg.content or None, result, tokens, t0)
            if run.done:
                return

    def _react_step(self, run: _Run, n: int, completion: Completion, t0: float) -> None:
        text = completion.text
        run.messages.append(Message(role="assistant", content=text))
        tools = list(self.tools.values())
        try:
            parse = react.parse_json_action if run.mode == "react-json" else react.parse_text_action
            action = parse(text, tools)
        except react.ParseError as exc:
            run.messages.append(Message(role="user", content=f"Format error: {exc}"))
            run.steps.append(Step(n, "format_error", result=str(exc), ok=False, **_cost(completion, t0)))
            return
        if action.final:
            self._final(run, n, str(action.arguments.get("answer", "")), action.thought, completion, t0)
            return
        call = ToolCall(id=f"step_{n}", name=action.tool, arguments=json.dumps(action.arguments, ensure_ascii=False))
        result = self._call_tool(run, call.name, action.arguments)
        run.messages.append(Message(role="user", content=react.observation(result.content)))
        self._record(run, n, call, action.thought, result, (completion.usage.prompt_tokens, completion.usage.completion_tokens), t0)

    def _call_tool(self, run: _Run, name: str, arguments: str | dict[str, Any]) -> ToolResult:
        tool = self.tools.get(name)
        if tool is None:
            return ToolResult(False, f"Error: there is no tool named '{name}'; use one of: {', '.join(self.tools)}.")
        key = f"{name}:{json.dumps(arguments if isinstance(arguments, dict) else _loads(arguments), sort_keys=True)}"
        if key in run.seen and self.finish != "model":
            previous = run.seen[key]
            run.done = (previous.content, "repeat") if previous.ok else ("", "repeat")
            return previous
        refused = run.guard.refuse(name, arguments) if run.guard else None
        result = ToolResult(False, refused) if refused else tool.run(arguments)
        if run.guard and not refused:
            result.ok, result.content = run.guard.result(name, result.ok, result.content)
        run.seen[key] = result
        # a result counts as ground for later numbers only if the call's own numbers were grounded: a model
        # that echoes a mistyped number through the calculator does not make it true
        args = json.dumps(_loads(arguments), ensure_ascii=False)
        if result.ok and not unsupported_numbers(args, run.grounds, SMALL_CONSTANTS):
            run.grounds.append(result.content)
            run.last_grounded = result
        if result.ok:
            run.last_ok = result
            if self.finish == "tool":
                run.done = (result.content, "tool_result")
        return result

    def _record(self, run: _Run, n: int, call: ToolCall, thought: str | None, result: ToolResult,
                tokens: tuple[int, int], t0: float) -> None:
        run.steps.append(Step(n, "tool", thought=thought, tool=call.name, arguments=_loads(call.arguments),
                              result=result.content, ok=result.ok, prompt_tokens=tokens[0], completion_tokens=tokens[1],
                              seconds=time.perf_counter() - t0, tool_seconds=result.seconds))

    def _final(self, run: _Run, n: int, answer: str, thought: str | None, completion: Completion, t0: float) -> None:
        run.steps.append(Step(n, "final", thought=thought, result=answer, **_cost(completion, t0)))
        last = run.last_ok.content.strip() if run.last_ok else ""
        weak = self.finish == "auto" and last and (not answer.strip() or (_NUMBER.match(last) and last not in answer))
        if self.finish == "auto" and run.last_grounded and unsupported_numbers(answer, run.grounds):
            answer, reason = self._check_numbers(run, answer, "final")  # the grounded result, verbatim, with a note
            run.done = (answer, reason)
            return
        run.done = (last, "tool_result") if weak else (answer, "final")


def _cost(completion: Completion, t0: float) -> dict[str, Any]:
    return {"prompt_tokens": completion.usage.prompt_tokens, "completion_tokens": completion.usage.completion_tokens,
            "seconds": time.perf_counter() - t0}


def _loads(arguments: str | dict[str, Any]) -> Any:
    if isinstance(arguments, dict):
        return arguments
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments
