"""Program-aided solving (PAL): the model writes a program, the sandbox runs it, its result is the answer.

Unlike LangChain's PAL chain (CVE-2023-36258), the program never runs in our process:
it goes to the Sandbox (separate process, no network, chroot, rlimits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lingxi.agents.sandbox import Sandbox, SandboxLimits, SandboxResult
from lingxi.models.base import as_params
from lingxi.types import Message, SamplingParams

PAL_SYSTEM = (
    "Solve the problem by writing a Python function solution() that computes and returns the final answer "
    "as a number. Reply with only the code in one ```python block. 用 Python 写 solution() 函数求解。"
)
PAL_EXAMPLE_Q = "Olivia has $23. She bought five bagels for $3 each. How much money does she have left?"
PAL_EXAMPLE_A = (
    "```python\ndef solution():\n    money_initial = 23\n    bagels = 5\n    bagel_cost = 3\n"
    "    money_spent = bagels * bagel_cost\n    return money_initial - money_spent\n```"
)


@dataclass
class PalResult:
    answer: str | None
    code: str
    run: SandboxResult | None
    tries: int
    tokens: int = 0


def extract_code(text: str) -> str:
    """The program in a reply: the first fenced block, else from `def solution` on, else the text."""
    m = re.search(r"```(?:python|py)?\s*\n(.*?)(?:```|\Z)", text, re.S)
    if m:
        return m.group(1).strip()
    i = text.find("def solution")
    return text[i:].strip() if i >= 0 else text.strip()


def program_of(code: str) -> str:
    """Make the program's last expression the answer: call solution() when it is defined."""
    if re.search(r"^def solution\s*\(", code, re.M) and not re.search(r"^solution\s*\(\s*\)\s*$", code, re.M):
        return code + "\n\nsolution()\n"
    return code


def pal(question: str, model: Any = None, *, sandbox: Sandbox | None = None, params: SamplingParams | dict | None = None,
        retries: int = 1) -> PalResult:
    """Answer `question` by running model-written code; one retry shows the model its error."""
    from lingxi.models.funnel import open_chat

    chat = open_chat(model)
    box = sandbox or Sandbox(SandboxLimits(timeout_s=5, memory_mb=512))
    p = as_params(params or {"temperature": 0.0, "max_tokens": 320})
    messages = [Message(role="system", content=PAL_SYSTEM), Message(role="user", content=PAL_EXAMPLE_Q),
                Message(role="assistant", content=PAL_EXAMPLE_A), Message(role="user", content=question)]
    code, run, tokens = "", None, 0
    for attempt in range(1, retries + 2):
        completion = chat.chat(messages, p)
        tokens += completion.usage.total_tokens
        code = extract_code(completion.text)
        run = box.run(program_of(code))
        if run.ok and run.result is not None:
            return PalResult(_clean(run), code, run, attempt, tokens)
        messages += [Message(role="assistant", content=completion.text),
                     Message(role="user", content=f"That program failed: {run.summary(800)}\nFix it and reply with the code only.")]
    return PalResult(None, code, run, retries + 1, tokens)


def _clean(run: SandboxResult) -> str:
    value = run.value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value) if value is not None else str(run.result)
