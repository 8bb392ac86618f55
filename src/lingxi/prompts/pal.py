"""Program-aided solving (PAL, Gao et al., 2022): the model writes Python, a sandbox runs it.

The code runs in the agents' sandboxed interpreter (`lingxi.agents`), imported
on first use; lingxi never runs model-written code in its own process. Pass
`runner=` (a function from code to printed output) to use another sandbox.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lingxi.errors import ConfigError, ToolError
from lingxi.models.base import ChatModel, as_params
from lingxi.types import Message, SamplingParams

PAL_SYSTEM = (
    "Solve the problem by writing a Python program. Put the program in one ```python code block; it must "
    "print the final answer (only the answer) on its last line. Use only the standard library. "
    "用 Python 程序解题，程序最后打印答案。"
)
_CODE = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.DOTALL)

# where the agents' sandbox may live, and the names it may use
_MODULES = ("lingxi.agents.sandbox", "lingxi.agents.interpreter", "lingxi.agents.code", "lingxi.agents")
_FUNCTIONS = ("run_python", "run_code", "execute_python", "execute")
_CLASSES = ("Sandbox", "CodeInterpreter", "PythonSandbox", "Interpreter")


@dataclass
class ProgramResult:
    answer: str
    code: str
    output: str
    text: str


def extract_code(text: str) -> str:
    """The first fenced code block, or the whole reply when it has none."""
    blocks = _CODE.findall(text)
    return (blocks[0] if blocks else text).strip()


def find_sandbox() -> Callable[[str], Any]:
    """The agents' sandbox as a function code -> result, or a ConfigError saying it is not there."""
    for name in _MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for fn in _FUNCTIONS:
            if callable(getattr(module, fn, None)):
                return getattr(module, fn)
        for cls in _CLASSES:
            kind = getattr(module, cls, None)
            if kind is not None:
                box = kind()
                for method in ("run", "execute", "__call__"):
                    if callable(getattr(box, method, None)):
                        return getattr(box, method)
    raise ConfigError(
        "program_aided needs the sandboxed code interpreter from lingxi.agents, which is not available.",
        "install a lingxi version with the agents sandbox, or pass runner=<function code -> output>",
    )


def _output_of(result: Any) -> str:
    """Printed output from whatever the sandbox returns (str, dict or an object with stdout)."""
    if isinstance(result, str):
        return result
    get = result.get if isinstance(result, dict) else lambda k, d=None: getattr(result, k, d)
    error = get("error") or (get("ok") is False and (get("stderr") or "failed"))
    if error:
        raise ToolError(f"The program failed in the sandbox: {str(error).strip()[-300:]}.",
                        "the model wrote faulty code; retry, or use chain_of_thought")
    for key in ("stdout", "output", "result", "text"):
        value = get(key)
        if value is not None:
            return str(value)
    return str(result)


def program_aided(model: ChatModel, question: str, params: SamplingParams | dict | None = None,
                  runner: Callable[[str], Any] | None = None) -> ProgramResult:
    """Ask for a program, run it in the sandbox, and take its last printed line as the answer."""
    run = runner or find_sandbox()
    c = model.chat([Message(role="system", content=PAL_SYSTEM), Message(role="user", content=question)],
                   as_params(params))
    code = extract_code(c.text)
    if not code:
        raise ToolError("The model wrote no program.", "retry with a stronger model or a lower temperature")
    output = _output_of(run(code))
    lines = [ln.strip() for ln in output.strip().splitlines() if ln.strip()]
    from lingxi.prompts.techniques import normalize_answer

    return ProgramResult(answer=normalize_answer(lines[-1]) if lines else "", code=code, output=output, text=c.text)
