"""Before / after: the base model and ``BASE+ADAPTER`` answer the same held-out prompts, side by side.

    report = evaluate("tutor", "held-out.jsonl", settings)          # EM / F1 (lingxi.evals.qa)
    report = evaluate("tutor", "held-out.jsonl", settings, judge="smollm2")   # plus an LLM judge's relevance

The data is SFT data (chat messages, prompt/completion or alpaca, `lingxi.tune.data`): the last
assistant turn is the reference, the turns before it the prompt. Both models decode greedily
through the model funnel; the report goes to ``adapters/NAME/eval/`` (eval.json and eval.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lingxi.config import Settings
from lingxi.errors import TuneError
from lingxi.tune import adapters


def evaluate(name: str, data: str | Path, settings: Settings, *, judge: str | None = None, max_tokens: int = 128,
             limit: int | None = None, out: str | Path | None = None) -> dict[str, Any]:
    """Score the base and the adapter on the same prompts; write eval.json and eval.md; return the report."""
    from lingxi.evals.qa import qa_scores
    from lingxi.rag.verify import strip_markers
    from lingxi.models.funnel import calling, open_chat
    from lingxi.tune.data import read_examples
    from lingxi.types import SamplingParams

    manifest = adapters.read_manifest(name, settings)
    base = manifest["base"]["name"]
    rows = _rows(read_examples(data, "sft"), data)[:limit]
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens)
    models = {"base": base, "adapter": f"{base}+{name}"}
    answers: dict[str, list[str]] = {}
    with calling(source="eval"):
        for side, model_name in models.items():
            model = open_chat(model_name, settings)
            answers[side] = [model.chat(r["prompt"], params).text.strip() for r in rows]
    # EM/F1 judge the answer's words: citation markers ([1], 【2】) are left out on both sides, or an
    # adapter that answers only "[1]" would score against references that end in "[1]"
    refs = {str(i): [strip_markers(r["reference"])] for i, r in enumerate(rows)}
    scores = {side: qa_scores({str(i): strip_markers(a) for i, a in enumerate(ans)}, refs) for side, ans in answers.items()}
    metrics = {side: {"em": s["em"], "f1": s["f1"]} for side, s in scores.items()}
    if judge:
        from lingxi.evals.judge import judge_rows

        judge_model = open_chat(judge, settings)
        for side, ans in answers.items():
            j = judge_rows(judge_model, [{"question": _last_user(r["prompt"]), "answer": a} for r, a in zip(rows, ans)],
                           kinds=("relevance",))
            metrics[side]["judge_relevance"] = j["relevance"]
    items = [{"prompt": _last_user(r["prompt"]), "reference": r["reference"], "base": answers["base"][i],
              "adapter": answers["adapter"][i], "f1_base": scores["base"]["items"][i]["f1"],
              "f1_adapter": scores["adapter"]["items"][i]["f1"]} for i, r in enumerate(rows)]
    report = {"adapter": name, "models": models, "data": str(data), "n": len(rows), "max_tokens": max_tokens,
              "judge": judge, "scorer": scores["base"]["scorer"], "metrics": metrics,
              "delta": {k: _delta(metrics["adapter"][k], metrics["base"][k]) for k in metrics["base"]},
              "items": items}
    folder = Path(out) if out else adapters.adapter_dir(name, settings) / "eval"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "eval.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), "utf-8")
    (folder / "eval.md").write_text(markdown(report), "utf-8")
    report["files"] = {"json": str(folder / "eval.json"), "markdown": str(folder / "eval.md")}
    return report


def _rows(examples: list[dict[str, Any]], data: str | Path) -> list[dict[str, Any]]:
    rows = []
    for i, ex in enumerate(examples, 1):
        msgs = ex["messages"]
        if msgs[-1]["role"] != "assistant" or len(msgs) < 2:
            raise TuneError(f"{Path(data).name} example {i} ends without an assistant answer to compare against.",
                            "end each held-out example with the reference answer (completion, output or an assistant turn)")
        rows.append({"prompt": msgs[:-1], "reference": msgs[-1]["content"]})
    return rows


def _last_user(prompt: list[dict[str, str]]) -> str:
    return next((m["content"] for m in reversed(prompt) if m["role"] == "user"), "")


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _cell(text: str, width: int = 60) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def markdown(report: dict[str, Any]) -> str:
    """The side-by-side report: the metrics table, then each prompt with both answers."""
    m, models = report["metrics"], report["models"]
    lines = [f"# {models['adapter']} against {models['base']}", "",
             f"{report['n']} held-out prompts from `{report['data']}`, greedy, at most {report['max_tokens']} tokens "
             f"({report['scorer']} scoring).", "",
             f"| metric | {models['base']} | {models['adapter']} | change |", "| --- | ---: | ---: | ---: |"]
    for key in m["base"]:
        d = report["delta"][key]
        fmt = (lambda v: "-" if v is None else f"{v:.3f}") if key.startswith("judge") else (
            lambda v: "-" if v is None else f"{v:.1f}")
        lines.append(f"| {key} | {fmt(m['base'][key])} | {fmt(m['adapter'][key])} | "
                     f"{'-' if d is None else ('+' if d >= 0 else '') + fmt(d)} |")
    lines += ["", "| prompt | reference | base | adapter | F1 base | F1 adapter |",
              "| --- | --- | --- | --- | ---: | ---: |"]
    for it in report["items"]:
        lines.append(f"| {_cell(it['prompt'], 40)} | {_cell(it['reference'], 40)} | {_cell(it['base'])} | "
                     f"{_cell(it['adapter'])} | {it['f1_base']:.2f} | {it['f1_adapter']:.2f} |")
    return "\n".join(lines) + "\n"

