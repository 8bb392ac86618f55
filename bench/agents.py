"""Agents: function-calling accuracy (BFCL), GSM8K direct vs CoT vs PAL, and the sandbox's cost and walls.

    .venv/bin/python bench/agents.py [--model smollm2] [--bfcl-n 20] [--gsm8k-n 100] [--sandbox-reps 30]
        [--native] [--sc-n 0] [--only sandbox,bfcl,gsm8k] [--name agents] [--out bench/results]

BFCL (../shared/data/bfcl): simple_python and multiple score an AST match of the chosen
function and its arguments against possible_answer (BFCL's rules: every given argument must be
a known one with an acceptable value, missing ones must be optional); irrelevance scores the share
where the model calls nothing. "react-json" is lingxi's constrained JSON action; "native" uses
llama.cpp's chatml-function-calling format (--native). GSM8K: a fixed sample (seed 0) of the
test set; direct answer, chain of thought and self-consistency (lingxi.prompts) and PAL through the
sandbox. Writes NAME.json/.md after every part, so a stopped run keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lingxi.agents import pal
from lingxi.prompts import techniques
from lingxi.agents.react import FINAL, NO_TOOL, _branch
from lingxi.agents.sandbox import Sandbox, SandboxLimits
from lingxi.models.funnel import Model
from lingxi.types import Message, SamplingParams

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ESCAPES = {
    "read a file outside its directory": "open('/work/main/pyproject.toml').read()",
    "read /etc/passwd": "open('/etc/passwd').read()",
    "open a socket": "import socket; socket.create_connection(('127.0.0.1', 22), timeout=1)",
    "raw socket via ctypes": "import ctypes; l = ctypes.CDLL(None); s = l.socket(2, 1, 0); "
                             "import struct; a = struct.pack('HH4s8x', 2, 22 << 8, bytes([127, 0, 0, 1])); "
                             "r = l.connect(s, a, 16); assert r != 0, 'connected'; raise OSError('connect failed')",
    "fork bomb": "import os\nwhile True:\n    os.fork()",
    "fork bomb via ctypes": "import ctypes\nl = ctypes.CDLL(None)\npids = [l.fork() for _ in range(64)]\n"
                            "assert min(pids) >= 0, 'fork refused'",
    "infinite loop": "while True:\n    pass",
    "allocate 10 GB": "x = bytearray(10 * 2**30)",
    "write a huge file": "f = open('big', 'wb')\nfor _ in range(10**4):\n    f.write(b'x' * 2**20)",
    "fill the disk with many files": "for i in range(10**4):\n    open(f'part{i}', 'wb').write(b'x' * 4 * 2**20)",
    "kill its parent": "import os; os.kill(os.getppid(), 9)",
    "kill its parent via ctypes": "import ctypes; l = ctypes.CDLL(None, use_errno=True); "
                                  "assert l.kill(PARENT, 9) == 0, 'kill refused'",
}


# -- sandbox ---------------------------------------------------------------------------------
def bench_sandbox(reps: int) -> dict[str, Any]:
    box = Sandbox(SandboxLimits(timeout_s=3, memory_mb=512, file_mb=8))
    box.run("1")
    runs = [box.run("1").seconds for _ in range(reps)]
    bare = []
    for _ in range(reps):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)
        bare.append(time.perf_counter() - t)
    walls = {}
    for name, code in ESCAPES.items():
        r = box.run(code.replace("PARENT", str(os.getpid())))
        walls[name] = {"contained": not r.ok, "error": (r.error or "")[:160]}
    isolation = box.run("1").isolation
    return {"reps": reps, "p50_ms": _ms(statistics.median(runs)), "p90_ms": _ms(_pct(runs, 0.9)),
            "bare_python_p50_ms": _ms(statistics.median(bare)), "isolation": isolation, "escapes": walls}


# -- BFCL ------------------------------------------------------------------------------------
def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _fix_schema(node: Any) -> Any:
    """BFCL's schemas say "dict", "float", "tuple", "any": turn them into JSON Schema."""
    if isinstance(node, dict):
        out = {k: _fix_schema(v) for k, v in node.items() if k not in ("optional",)}
        kind = out.get("type")
        mapped = {"dict": "object", "float": "number", "tuple": "array", "any": None}.get(kind, kind)
        if mapped is None:
            out.pop("type", None)
        else:
            out["type"] = mapped
        return out
    return [_fix_schema(v) for v in node] if isinstance(node, list) else node


def _bfcl_action_schema(functions: list[dict[str, Any]]) -> dict[str, Any]:
    branches = [_branch(f["name"], _fix_schema(f["parameters"])) for f in functions]
    final = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    return {"anyOf": branches + [_branch(FINAL, final)]}


def _bfcl_prompt(functions: list[dict[str, Any]]) -> str:
    lines = "\n".join(f"- {f['name']}: {f.get('description', '')} parameters: "
                      f"{json.dumps(_fix_schema(f['parameters']).get('properties', {}), ensure_ascii=False)}"
                      for f in functions)
    return (f"You can call these functions:\n{lines}\n- {FINAL}(answer): when no function fits the request\n\n"
            'Reply with one JSON object: {"tool": "<function name>", "arguments": {...}}. ' + NO_TOOL)


def _react_call(model: Any, item: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    fmt = {"type": "json_schema", "json_schema": {"name": "call", "schema": _bfcl_action_schema(item["function"])}}
    msgs = [Message(role="system", content=_bfcl_prompt(item["function"])), *[Message(**m) for m in item["question"][0]]]
    text = model.chat(msgs, SamplingParams(temperature=0, max_tokens=160, response_format=fmt)).text
    try:
        data = json.loads(text)
    except ValueError:
        return None, {}
    return (None if data.get("tool") == FINAL else data.get("tool")), data.get("arguments") or {}


def _native_call(model: Any, item: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    tools = [{"type": "function", "function": {**f, "parameters": _fix_schema(f["parameters"])}} for f in item["function"]]
    msgs = [Message(**m) for m in item["question"][0]]
    comp = model.chat(msgs, SamplingParams(temperature=0, max_tokens=160), tools=tools)
    calls = comp.choices[0].message.tool_calls
    if not calls:
        return None, {}
    try:
        return calls[0].name, json.loads(calls[0].arguments)
    except ValueError:
        return calls[0].name, {}


def _norm(v: Any) -> Any:
    if isinstance(v, str):
        return re.sub(r"[ ,./\-_*^]", "", v).lower()
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, list):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    return v


def ast_match(name: str | None, args: dict[str, Any], truth: list[dict[str, Any]]) -> bool:
    expected_name, expected = next(iter(truth[0].items()))
    if name != expected_name:
        return False
    if any(k not in expected for k in args):
        return False
    for k, accepted in expected.items():
        if k not in args:
            if "" not in accepted:
                return False
        elif _norm(args[k]) not in [_norm(a) for a in accepted]:
            return False
    return True


def _decided_call(model: Any, item: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """lingxi's "does any tool fit?" step (lingxi.agents.grounding.tool_fits), then the react-json call."""
    from lingxi.agents.grounding import tool_fits

    fns = [{**f, "parameters": _fix_schema(f["parameters"])} for f in item["function"]]
    if not tool_fits(model, [Message(**m) for m in item["question"][0]], fns):
        return None, {}
    return _react_call(model, item)


def bench_bfcl(model: Any, n: int, mode: str) -> dict[str, Any]:
    call = {"native": _native_call, "decide": _decided_call}.get(mode, _react_call)
    out: dict[str, Any] = {}
    for cat in ("simple_python", "multiple", "irrelevance"):
        items = _read_jsonl(DATA / "bfcl" / f"BFCL_v4_{cat}.json")[:n]
        answers = {} if cat == "irrelevance" else {
            r["id"]: r["ground_truth"] for r in _read_jsonl(DATA / "bfcl" / "possible_answer" / f"BFCL_v4_{cat}.json")}
        good, started = 0, time.perf_counter()
        for item in items:
            name, args = call(model, item)
            good += (name is None) if cat == "irrelevance" else ast_match(name, args, answers[item["id"]])
        out[cat] = {"n": len(items), "accuracy": round(good / max(1, len(items)), 3),
                    "s_per_item": round((time.perf_counter() - started) / max(1, len(items)), 2)}
    return out


# -- GSM8K -----------------------------------------------------------------------------------
def _gold(answer: str) -> float:
    return float(answer.split("####")[-1].strip().replace(",", ""))


def _last_number(text: str) -> float | None:
    nums = re.findall(r"-?\d[\d,]*\.?\d*", text)
    try:
        return float(nums[-1].replace(",", "").rstrip(".")) if nums else None
    except ValueError:
        return None


def _right(answer: Any, row: dict[str, Any]) -> bool:
    try:
        return answer is not None and abs(float(str(answer).replace(",", "")) - _gold(row["answer"])) < 1e-6
    except ValueError:
        return False


def bench_gsm8k(model: Any, n: int, sc_n: int = 0, save: Any = None,
                methods_wanted: tuple[str, ...] = ("direct", "cot", "pal")) -> dict[str, Any]:
    """direct / chain_of_thought / self_consistency from lingxi.prompts and PAL from lingxi.agents, on one
    fixed sample; self-consistency (5 samples at 0.7) runs on the first `sc_n` problems, and direct/CoT are
    also scored on that subset so the comparison is like for like."""
    rows = _read_jsonl(DATA / "gsm8k" / "test.jsonl")
    sample = [rows[i] for i in random.Random(0).sample(range(len(rows)), 100)][:n]
    methods: dict[str, Any] = {
        "direct": lambda q: techniques.direct(model, q, {"temperature": 0, "max_tokens": 24}, numeric=True).answer,
        "cot": lambda q: techniques.chain_of_thought(model, q, {"temperature": 0, "max_tokens": 320}, numeric=True).answer,
        "pal": lambda q: pal(q, model, retries=0).answer,
        # the agent with the calculator: finish="model" returns the model's own final text (before issue 18),
        # finish="auto" returns the tool's result verbatim when the model's numbers are not grounded (after)
        "agent-calc (finish=model)": lambda q: _agent_calc(model, q, "model", grounded),
        "agent-calc (finish=auto)": lambda q: _agent_calc(model, q, "auto", grounded),
    }
    grounded: dict[str, list[bool]] = {}
    out: dict[str, Any] = {}
    hits: dict[str, list[bool]] = {}
    for method, solve in methods.items():
        if method.split()[0] not in methods_wanted:
            continue
        started, hits[method] = time.perf_counter(), []
        for row in sample:
            hits[method].append(_right(solve(row["question"]), row))
        out[method] = {"n": len(sample), "accuracy": round(sum(hits[method]) / max(1, len(sample)), 3),
                       "s_per_item": round((time.perf_counter() - started) / max(1, len(sample)), 2)}
        if method.startswith("agent-calc"):  # every number of the answer in the question or a tool observation
            g = grounded.get(method.split("=")[-1].rstrip(")"), [])  # "agent-calc (finish=auto)" -> "auto"
            out[method]["answers_grounded"] = round(sum(g) / max(1, len(g)), 3)
        if save:
            save(out)
    if sc_n:
        started, sc = time.perf_counter(), []
        for row in sample[:sc_n]:
            vote = techniques.self_consistency(model, row["question"], n=5, temperature=0.7,
                                               params={"max_tokens": 320}, numeric=True)
            sc.append(_right(vote.answer, row))
            k = len(sc)
            out["self_consistency (n=5)"] = {
                "n": k, "accuracy": round(sum(sc) / k, 3), "s_per_item": round((time.perf_counter() - started) / k, 2),
                "same_items": {m: round(sum(h[:k]) / k, 3) for m, h in hits.items()}}
            if save:
                save(out)
    return out


def _agent_calc(model: Any, question: str, finish: str, grounded: dict[str, list[bool]]) -> float | None:
    """The GSM8K answer of an Agent with the calculator (react-json, 4 steps); records whether every
    number of its final answer appears in the question or a tool observation."""
    from lingxi.agents import Agent
    from lingxi.agents.builtins import calculator
    from lingxi.agents.grounding import unsupported_numbers

    task = question + "\nUse the calculator for the arithmetic, then give the final number."
    res = Agent(model, tools=[calculator], max_steps=4, finish=finish).run(task)  # type: ignore[arg-type]
    obs = [s.result or "" for s in res.steps if s.result]
    grounded.setdefault(finish, []).append(not unsupported_numbers(res.answer, [question, *obs]))
    return _last_number(res.answer)


# -- report ----------------------------------------------------------------------------------
def _ms(s: float) -> float:
    return round(s * 1000, 1)


def _pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def markdown(res: dict[str, Any]) -> str:
    lines = [f"# Agents benchmark ({res['model']}, {res['machine']})", ""]
    if "sandbox" in res:
        s = res["sandbox"]
        lines += ["## Sandbox", "", f"Start-up overhead per run: p50 {s['p50_ms']} ms, p90 {s['p90_ms']} ms "
                  f"(bare `python -I -c pass`: p50 {s['bare_python_p50_ms']} ms), {s['reps']} runs. "
                  f"Isolation: {s['isolation']}.", "", "| escape attempt | contained | how |", "| --- | --- | --- |"]
        lines += [f"| {k} | {'yes' if v['contained'] else '**NO**'} | {v['error']} |" for k, v in s["escapes"].items()]
        lines.append("")
    for mode, cats in res.get("bfcl", {}).items():
        lines += [f"## BFCL ({mode})", "", "| category | n | accuracy | s/item |", "| --- | --- | --- | --- |"]
        lines += [f"| {c} | {v['n']} | {v['accuracy']:.1%} | {v['s_per_item']} |" for c, v in cats.items()]
        lines.append("")
    if "gsm8k" in res:
        lines += ["## GSM8K", "", "| method | n | accuracy | s/item | answers grounded |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {m} | {v['n']} | {v['accuracy']:.1%} | {v['s_per_item']} | {v.get('answers_grounded', '')} |"
                  for m, v in res["gsm8k"].items()]
        same = res["gsm8k"].get("self_consistency (n=5)", {}).get("same_items")
        if same:
            lines += ["", "On the self-consistency subset: " + ", ".join(f"{m} {a:.1%}" for m, a in same.items()) + "."]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--bfcl-n", type=int, default=20)
    ap.add_argument("--gsm8k-n", type=int, default=100)
    ap.add_argument("--sandbox-reps", type=int, default=30)
    ap.add_argument("--native", action="store_true", help="also run BFCL with chatml-function-calling")
    ap.add_argument("--template", action="store_true", help="also run BFCL with tools in the GGUF's own chat template")
    ap.add_argument("--no-react", action="store_true", help="skip the react-json BFCL run")
    ap.add_argument("--decide", action="store_true", help="also run react-json after the 'does any tool fit?' step")
    ap.add_argument("--merge", action="store_true", help="keep the parts of NAME.json this run does not measure")
    ap.add_argument("--only", default="sandbox,bfcl,gsm8k")
    ap.add_argument("--sc-n", type=int, default=0, help="self-consistency (n=5) on the first SC_N problems")
    ap.add_argument("--gsm8k-methods", default="direct,cot,pal",
                    help="which of direct,cot,pal,agent-calc (the agent with the calculator, finish=model and auto) to run")
    ap.add_argument("--name", default="agents", help="write NAME.json and NAME.md")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args()
    parts = set(args.only.split(","))
    old = Path(args.out) / f"{args.name}.json"
    res: dict[str, Any] = json.loads(old.read_text(encoding="utf-8")) if args.merge and old.exists() else {}
    res.update({"model": args.model, "machine": f"{platform.machine()}, {platform.python_version()}",
                "date": time.strftime("%Y-%m-%d %H:%M")})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def save(part: str | None = None, value: Any = None) -> None:  # after every part: a killed run keeps its numbers
        if part:
            res[part] = value
        (out / f"{args.name}.json").write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (out / f"{args.name}.md").write_text(markdown(res), encoding="utf-8")

    if "sandbox" in parts:
        save("sandbox", bench_sandbox(args.sandbox_reps))
    model = Model(args.model) if parts & {"bfcl", "gsm8k"} else None
    if "bfcl" in parts and (DATA / "bfcl").is_dir():
        from lingxi.models.llamacpp import LlamaCppChat

        if not args.no_react:
            save("bfcl", {**res.get("bfcl", {}), "react-json": bench_bfcl(model, args.bfcl_n, "react")})
        if args.decide:
            save("bfcl", {**res.get("bfcl", {}), "react-json + decide": bench_bfcl(model, args.bfcl_n, "decide")})
        if args.native:
            native = LlamaCppChat(model.path, chat_format="chatml-function-calling", n_threads=model.n_threads)  # type: ignore[union-attr]
            save("bfcl", {**res.get("bfcl", {}), "native (chatml-function-calling)": bench_bfcl(native, args.bfcl_n, "native")})
        if args.template:  # tools rendered by the GGUF's own chat template, calls parsed from the text
            own = LlamaCppChat(model.path, n_threads=model.n_threads)  # type: ignore[union-attr]
            save("bfcl", {**res.get("bfcl", {}), "native (GGUF template)": bench_bfcl(own, args.bfcl_n, "native")})
    if "gsm8k" in parts and (DATA / "gsm8k").is_dir():
        before = dict(res.get("gsm8k", {}))
        bench_gsm8k(model, args.gsm8k_n, args.sc_n, save=lambda v: save("gsm8k", {**before, **v}),
                    methods_wanted=tuple(args.gsm8k_methods.split(",")))
    print(markdown(res))


if __name__ == "__main__":
    main()
