"""Time to the first token in RAG: the prompt cache and focused passages.

    .venv/bin/python bench/rag_ttft.py [--n 15] [--models smollm2] [--datasets cmrc,xquad-en] [--cache-n 6]

Two measurements on bench/rag_data.py's in-KB benchmark questions:

1. **Focus** — `lingxi.rag` (`auto`) with whole passages in the prompt (FOCUS_SENTENCES = 0, the
   old prompt) and with each passage cut to the sentences that share terms with the question (the
   new default): F1, citation precision, fallback, prompt tokens and first-token p50, same questions.
2. **Prompt cache** — llama-cpp-python keeps the KV cache of the previous prompt and evaluates only
   what follows the longest common prefix. For each question, the first-token time with the cache
   reset (cold) and right after another question's prompt (warm: the fixed instructions are
   reused), max_tokens=1, and the shared prefix in tokens.

Writes bench/results/rag_ttft.json / .md. Timings are noisy on a shared 2-core machine: the
1-minute load average is recorded with each part.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from default_model import run_safe, summary
from rag import models_available
from rag_data import knowledge_base, load, split

from lingxi.rag import lang as L
from lingxi.rag import prompt as P
from lingxi.rag.context import budget_for, fit, retrieve
from lingxi.rag.pipeline import Options
from lingxi.types import SamplingParams


def focus_part(kb, items, model, keep: int, options: Options) -> dict:
    P.FOCUS_SENTENCES = keep
    rows = [r for r in (run_safe(kb, item, model, "auto", options) for item in items) if r is not None]
    s = summary(rows)
    s["prompt_tokens_mean"] = round(float(np.mean([r["tokens"]["prompt_tokens"] for r in rows if r["tokens"]["prompt_tokens"]] or [0])), 1)
    return {**s, "load": os.getloadavg()[0], "rows": rows}


def _messages(kb, item, model, options: Options):
    lang = L.detect(item.question)
    sources = retrieve(kb, item.question, options.k)
    shown = fit(sources, model, budget_for(model, P.fixed_text(item.question, lang), options.max_tokens,
                                           options.context_tokens)) or sources[:1]
    return P.build_messages(item.question, shown, lang)


def _ttft(raw, messages) -> float:
    t0 = time.perf_counter()
    for d in raw.stream(messages, SamplingParams(temperature=0, max_tokens=1)):
        if d.text:
            break
    return time.perf_counter() - t0


def cache_part(kb, items, raw, options: Options) -> dict:
    """Cold (reset) vs warm (after another question's prompt) first-token times."""
    llm = raw._load()
    from lingxi.guard.hooks import check_input
    from lingxi.errors import LingxiError

    def allowed(it) -> bool:
        try:
            check_input(it.question)
            return True
        except LingxiError:
            return False

    prompts = [_messages(kb, it, raw, options) for it in items if allowed(it)]
    cold, warm, shared, total = [], [], [], []
    for i, msgs in enumerate(prompts):
        llm.reset()
        cold.append(_ttft(raw, msgs))
        _ttft(raw, prompts[i - 1])  # another question's prompt is now in the cache
        before = list(llm._input_ids)
        warm.append(_ttft(raw, msgs))
        mine = raw._prompt_tokens(llm, [{"role": m.role, "content": m.content} for m in msgs])
        common = 0
        ids = list(llm._input_ids)
        for a, b in zip(before, ids):
            if a != b:
                break
            common += 1
        shared.append(common)
        total.append(mine)
    return {"n": len(prompts), "cold_p50": round(float(np.median(cold)), 3), "warm_p50": round(float(np.median(warm)), 3),
            "shared_prefix_tokens_p50": int(np.median(shared)), "prompt_tokens_p50": int(np.median(total)),
            "load": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=15)
    ap.add_argument("--cache-n", type=int, default=6)
    ap.add_argument("--models", default="smollm2")
    ap.add_argument("--datasets", default="cmrc,xquad-en")
    ap.add_argument("--home", type=Path, default=Path("~/.lingxi").expanduser())
    ap.add_argument("--out", type=Path, default=Path("bench/results"))
    ap.add_argument("--skip-focus", action="store_true")
    args = ap.parse_args()
    os.environ["LINGXI_HOME"], os.environ["LINGXI_TRACE"] = str(args.home), "false"
    options = Options(k=4, max_tokens=96)
    out_json = args.out / "rag_ttft.json"
    report = json.loads(out_json.read_text(encoding="utf-8")) if out_json.exists() else {"focus": {}, "cache": {}}
    report.update({"machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)", "date": time.strftime("%Y-%m-%d %H:%M"),
                   "focus_sentences": P.FOCUS_SENTENCES})
    default_keep = P.FOCUS_SENTENCES
    models = models_available([m for m in args.models.split(",") if m])
    for ds in args.datasets.split(","):
        items = load(ds, args.home)  # writes the passage files on first use
        kb = knowledge_base(ds, args.home)
        ins = split(items, "bench", args.n)[0]
        for name, model in models.items():
            if not args.skip_focus:
                for label, keep in (("whole passages", 0), (f"focused ({default_keep} sentences)", default_keep)):
                    part = focus_part(kb, ins, model, keep, options)
                    report["focus"][f"{ds}/{name}/{label}"] = part
                    print(ds, name, label, {k: v for k, v in part.items() if k != "rows"}, flush=True)
                    write(report, args.out)
                P.FOCUS_SENTENCES = default_keep
            from lingxi.models.llamacpp import LlamaCppChat

            raw = LlamaCppChat(model.path, n_threads=getattr(model, "n_threads", None))
            report["cache"][f"{ds}/{name}"] = cache_part(kb, ins[: args.cache_n], raw, options)
            print(ds, name, "cache", report["cache"][f"{ds}/{name}"], flush=True)
            raw.close()
            write(report, args.out)


def write(report: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "rag_ttft.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    lines = [f"# RAG time to first token ({report['machine']}, {report['date']})", "",
             "bench/rag_ttft.py. Timings on a shared, loaded 2-core machine: noisy; load = 1-minute load average.", "",
             "## Focused passages (same in-KB questions, `auto` mode, max_tokens=96)", "",
             "| data set / model / prompt | n | F1 | cit. precision | fallback | prompt tokens | first token p50 s | total p50 s | load |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, s in report["focus"].items():
        lines.append(f"| {key} | {s['n']} | {s['f1']} | {s['citation_precision']} ({s['citations']}) | {s['fallback']} | "
                     f"{s['prompt_tokens_mean']} | {s['first_token_p50']} | {s['total_p50']} | {s['load']:.1f} |")
    lines += ["", "## Prompt cache (llama-cpp-python reuses the longest common prefix of the previous prompt)", "",
              "| data set / model | n | cold first token p50 s | warm p50 s | shared prefix tokens | prompt tokens | load |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for key, s in report["cache"].items():
        lines.append(f"| {key} | {s['n']} | {s['cold_p50']} | {s['warm_p50']} | {s['shared_prefix_tokens_p50']} | "
                     f"{s['prompt_tokens_p50']} | {s['load']:.1f} |")
    if report.get("conclusion"):
        lines += ["", report["conclusion"]]
    (out / "rag_ttft.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
