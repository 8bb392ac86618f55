"""Math word problems by program-aided reasoning: the model writes Python, the sandbox runs it.

    s = solve("一段布剪去6米，正好剪去这段布的(2/5)，这段布还剩多少米？")
    s.answer, s.steps, s.program        # '9', ['cut = 6', 'total = cut / (2/5) = 15.0', ...], 'def solution(): ...'

The program runs in lingxi's sandbox (`lingxi.agents.pal`: bubblewrap, seccomp, rlimits), once to
get the answer and once under a line tracer that records each new value inside `solution()`, so
the explanation shows the steps the program actually took. Answers are normalised: integers,
decimals (at most 6 places) or fractions (``3/4``); `same` compares two answers in any of those
forms, percentages included.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

METHODS = ("pal", "cot", "direct")
_FRAC = re.compile(r"^\(*\s*(-?\d+(?:\.\d+)?)\s*\)*\s*/\s*\(*\s*(-?\d+(?:\.\d+)?)\s*\)*$")
TRACER = r'''
import sys as _sys, json as _json
_steps = []
def _tracer(frame, event, arg):
    if frame.f_code.co_name != "solution":
        return None
    seen = {}
    def local(frame, event, arg):
        for k, v in list(frame.f_locals.items()):
            if k.startswith("_") or not isinstance(v, (int, float, complex, str, bool)):
                continue
            if k not in seen or seen[k] != v:
                seen[k] = v
                _steps.append([k, repr(round(v, 6) if isinstance(v, float) else v)])
        if event == "return":
            _steps.append(["return", repr(round(arg, 6) if isinstance(arg, float) else arg)])
        return local
    return local
_sys.settrace(_tracer)
_value = solution()
_sys.settrace(None)
print(_json.dumps(_steps, ensure_ascii=False))
'''


@dataclass
class Solution:
    problem: str
    answer: str | None
    steps: list[str] = field(default_factory=list)
    program: str = ""
    method: str = "pal"
    checked: bool = False  # the answer came from running the program
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def to_fraction(value: Any) -> Fraction | None:
    """A number from an int, float, Fraction or text ('9', '22.608', '((3)/(4))', '10%', '3/4')."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(value).limit_denominator(10**6)
    s = str(value).strip().replace(",", "").replace("，", "").rstrip("。.").replace(" ", "")
    s = re.sub(r"[^\d.%/()+\-]+$", "", s)  # a trailing unit: 9米 -> 9
    pct = s.endswith("%")
    s = s.rstrip("%")
    m = _FRAC.match(s)
    try:
        f = Fraction(m.group(1)) / Fraction(m.group(2)) if m else Fraction(s.strip("()"))
    except (ValueError, ZeroDivisionError):
        return None
    return f / 100 if pct else f


def normalize(value: Any) -> str | None:
    """'9' for 9 or 9.0, '0.125' for 1/8, '1/3' for a fraction without a short decimal."""
    f = to_fraction(value)
    if f is None:
        return None if value is None else str(value).strip()
    if f.denominator == 1:
        return str(f.numerator)
    d = f.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1 and len(str(float(f))) <= 10:
        return f"{float(f):.6f}".rstrip("0").rstrip(".")
    return f"{f.numerator}/{f.denominator}"


def same(a: Any, b: Any, tolerance: float = 1e-4) -> bool:
    fa, fb = to_fraction(a), to_fraction(b)
    if fa is None or fb is None:
        return a is not None and b is not None and str(a).strip() == str(b).strip()
    return abs(fa - fb) <= tolerance * max(1, abs(fb))


def _trace(code: str, box: Any) -> list[str]:
    """The values `solution()` computed, line by line, from running it under a tracer."""
    if "def solution" not in code:
        return []
    run = box.run(code + "\n" + TRACER)
    if not run.ok:
        return []
    try:
        pairs = json.loads(run.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return []
    return [f"答案 = {normalize(v) or v}" if k == "return" else f"{k} = {v}" for k, v in pairs]


def solve(problem: str, model: Any = None, *, method: str = "pal", sandbox: Any = None, retries: int = 1) -> Solution:
    """Solve a word problem by `method`: pal (program, run in the sandbox), cot or direct."""
    from lingxi.errors import ConfigError

    if method not in METHODS:
        raise ConfigError(f"Unknown method '{method}'.", f"use one of: {', '.join(METHODS)}")
    if not problem.strip():
        raise ConfigError("The problem is empty.", 'e.g. lingxi edu solve "一段布剪去6米……"')
    if method != "pal":
        return _reasoned(problem, model, method)
    from lingxi.agents import Sandbox, SandboxLimits, pal

    box = sandbox or Sandbox(SandboxLimits(timeout_s=5, memory_mb=512))
    r = pal(problem, model, sandbox=box, retries=retries)
    if r.answer is None:
        err = (r.run.error or r.run.stderr[-300:]) if r.run is not None else "no program"
        return Solution(problem, None, [], r.code, "pal", False, f"the program failed: {err}".strip())
    if to_fraction(r.answer) is None:  # a list, a string, a dict: not an answer to a word problem
        return Solution(problem, None, [], r.code, "pal", False,
                        f"the program returned {str(r.answer)[:80]!r}, not a number; try again or rephrase the problem")
    steps = _trace(r.code, box) or [ln.strip() for ln in r.code.splitlines() if "=" in ln and not ln.strip().startswith("#")]
    return Solution(problem, normalize(r.answer), steps, r.code, "pal", True)


def _reasoned(problem: str, model: Any, method: str) -> Solution:
    from lingxi.models.funnel import open_chat
    from lingxi.prompts.techniques import chain_of_thought, direct

    chat = open_chat(model)
    fn = chain_of_thought if method == "cot" else direct
    r = fn(chat, problem, {"temperature": 0.0, "max_tokens": 384 if method == "cot" else 48}, numeric=True)
    steps = [ln.strip() for ln in (r.reasoning or "").splitlines() if ln.strip()]
    return Solution(problem, normalize(r.answer) if r.answer else None, steps, "", method, False)
