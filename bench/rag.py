"""Benchmark lingxi.rag on CMRC 2018 (trial) and XQuAD (zh, en), passages as the knowledge base.

    .venv/bin/python bench/rag.py [--n 100] [--n-gen 20] [--models smollm2,qwen2.5-1.5b]
                                  [--datasets cmrc,xquad-zh,xquad-en] [--gen-minutes 20]

For each data set (see bench/rag_data.py for the in-KB / out-of-KB split; these are
the *benchmark* questions, disjoint from those bench/calibrate_rag.py used):

* ``extractive`` (no model) on n in-KB and n out-of-KB questions;
* ``auto`` with each chat model that is installed (the Qwen pack only if it was pulled
  into ~/.lingxi/models) on n-gen in-KB and n-gen out-of-KB questions, each
  (model, data set) capped at --gen-minutes;

and reports answer EM/F1 (the official CMRC 2018 scorer, ported in lingxi.evals.qa, on
every data set; SQuAD v1.1 EM/F1 as well for English) over all in-KB questions (an
abstention scores 0) and over answered ones, the same for the model's unverified draft,
citation precision (share of shown citations whose chunk contains a gold answer),
abstention rates in-KB (should be low) and out-of-KB (should be high), and per-stage
latency p50/p95. Writes bench/results/rag.json and rag.md (rewritten after each part).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
from pathlib import Path

import numpy as np
from rag_data import knowledge_base, load, split

from lingxi.evals.qa import cmrc_em, cmrc_f1, squad_em, squad_f1
from lingxi.rag.pipeline import Options, answer_question

STAGES = ("retrieve", "prompt", "first_token", "generate", "verify", "total")
_MARKS = re.compile(r"\s?\[\d+\]|\[\?\]")


def plain(text: str) -> str:
    return _MARKS.sub("", text).strip()


def run_one(kb, item, model, mode: str, options: Options) -> dict:
    a = answer_question(item.question, kb, model, mode, options=options)
    pred = "" if a.abstained else plain(a.text)
    cited = [c for c in a.citations]
    by_id = {s.chunk_id: s for s in a.sources}
    good = [any(ans in by_id[c.chunk_id].text for ans in item.answers) for c in cited]
    row = {"id": item.id, "in_kb": item.in_kb, "abstained": a.abstained, "mode": a.mode, "prediction": pred,
           "draft": plain(a.draft), "answers": item.answers, "citations": len(cited), "citations_ok": sum(good),
           "cited_gold_passage": sum(by_id[c.chunk_id].source == item.path for c in cited),
           "timings": a.timings.model_dump(), "tokens": a.usage.model_dump()}  # fmt: skip
    for name, em, f1 in (("cmrc", cmrc_em, cmrc_f1), ("squad", squad_em, squad_f1)):
        row[f"{name}_em"], row[f"{name}_f1"] = 100 * em(item.answers, pred), 100 * f1(item.answers, pred)
        row[f"draft_{name}_f1"] = 100 * f1(item.answers, row["draft"]) if row["draft"] else None
    return row


def pct(values, q: float) -> float | None:
    vals = [v for v in values if v is not None]
    return round(float(np.percentile(vals, q)), 3) if vals else None


def mean(values) -> float | None:
    vals = [v for v in values if v is not None]
    return round(float(np.mean(vals)), 2) if vals else None


def summarise(rows: list[dict], lang: str, generated: bool) -> dict:
    ins, outs = [r for r in rows if r["in_kb"]], [r for r in rows if not r["in_kb"]]
    answered = [r for r in ins if not r["abstained"]]
    cites = sum(r["citations"] for r in rows)
    s = {"in_kb": len(ins), "out_of_kb": len(outs),
         "cmrc_em": mean(r["cmrc_em"] for r in ins), "cmrc_f1": mean(r["cmrc_f1"] for r in ins),
         "cmrc_f1_answered": mean(r["cmrc_f1"] for r in answered),
         "draft_cmrc_f1": mean(r["draft_cmrc_f1"] for r in ins),
         "citation_precision": round(sum(r["citations_ok"] for r in ins) / max(1, sum(r["citations"] for r in ins)), 3),
         "citations_shown": cites, "cited_gold_passage": round(sum(r["cited_gold_passage"] for r in ins) / max(1, sum(r["citations"] for r in ins)), 3),
         "abstain_in_kb": round(float(np.mean([r["abstained"] for r in ins])), 3) if ins else None,
         "abstain_out_of_kb": round(float(np.mean([r["abstained"] for r in outs])), 3) if outs else None,
         "fallback_extractive": round(float(np.mean([r["mode"] == "extractive" for r in rows])), 3) if rows and generated else None,
         # latency over in-KB questions (out-of-KB ones mostly stop after retrieval and would flatter it)
         "latency": {st: {"p50": pct([r["timings"][st] for r in ins], 50), "p95": pct([r["timings"][st] for r in ins], 95)}
                     for st in STAGES}}  # fmt: skip
    if lang == "en":
        s.update({"squad_em": mean(r["squad_em"] for r in ins), "squad_f1": mean(r["squad_f1"] for r in ins)})
    return s


def run_part(kb, ins, outs, model, mode: str, minutes: float | None, options: Options) -> list[dict]:
    """Interleave in-KB and out-of-KB questions so a time cap cuts both equally."""
    rows, deadline = [], (time.time() + 60 * minutes) if minutes else None
    for pair in zip(ins, outs, strict=False):
        for item in pair:
            rows.append(run_one(kb, item, model, mode, options))
        if deadline and time.time() > deadline:
            break
    return rows


def models_available(names: list[str]) -> dict:
    from lingxi.errors import ConfigError
    from lingxi.models.funnel import Model

    out = {}
    for name in names:
        try:
            out[name] = Model(name)
        except ConfigError as exc:
            print(f"skipping {name}: {exc}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100, help="in-KB and out-of-KB questions per data set (extractive)")
    ap.add_argument("--n-gen", type=int, default=20, help="in-KB and out-of-KB questions per data set and model")
    ap.add_argument("--models", default="smollm2,qwen2.5-1.5b")
    ap.add_argument("--datasets", default="cmrc,xquad-zh,xquad-en")
    ap.add_argument("--gen-minutes", type=float, default=20.0, help="time cap per (model, data set)")
    ap.add_argument("--home", type=Path, default=Path("~/.lingxi").expanduser())
    ap.add_argument("--out", type=Path, default=Path("bench/results"))
    args = ap.parse_args()
    os.environ["LINGXI_HOME"], os.environ["LINGXI_TRACE"] = str(args.home), "false"  # benches use the real home
    options = Options(k=4, max_tokens=96)
    report = {"machine": platform.platform(), "cpus": os.cpu_count(), "args": {k: str(v) for k, v in vars(args).items()},
              "options": {"k": options.k, "max_tokens": options.max_tokens, "context_tokens": options.context_tokens,
                          "thresholds": options.thresholds.model_dump()}, "results": {}, "rows": {}}  # fmt: skip
    models = models_available([m for m in args.models.split(",") if m])
    for ds in args.datasets.split(","):
        kb, items = knowledge_base(ds, args.home), load(ds, args.home)
        ins, outs = split(items, "bench", args.n)
        lang = "en" if ds.endswith("en") else "zh"
        parts = [("extractive", None, ins, outs)] + [(f"auto/{n}", m, ins[: args.n_gen], outs[: args.n_gen]) for n, m in models.items()]
        for name, model, pin, pout in parts:
            t0 = time.time()
            rows = run_part(kb, pin, pout, model, "extractive" if model is None else "auto",
                            None if model is None else args.gen_minutes, options)  # fmt: skip
            report["results"][f"{ds}/{name}"] = {**summarise(rows, lang, model is not None), "seconds": round(time.time() - t0, 1)}
            report["rows"][f"{ds}/{name}"] = rows
            print(f"{ds}/{name}: {json.dumps(report['results'][f'{ds}/{name}'], ensure_ascii=False)}", flush=True)
            write(report, args.out)


def write(report: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "rag.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    (out / "rag.md").write_text(markdown(report), encoding="utf-8")


def markdown(r: dict) -> str:
    o = r["options"]
    lines = ["# lingxi.rag benchmark", "",
             f"{r['machine']}, {r['cpus']} CPUs (shared, loaded). Passages of even articles as the KB "
             f"(multilingual-e5-small, hybrid search, k={o['k']}); in-KB questions from those articles, out-of-KB questions "
             "from the others; benchmark half of the questions only (calibration used the other half). "
             f"EM/F1: official CMRC 2018 scorer (lingxi.evals.qa port) over all in-KB questions (abstention = 0); "
             f"max_tokens={o['max_tokens']}. Thresholds: {o['thresholds']}.", "",
             "| data set / config | in / out | EM | F1 | F1 answered | draft F1 | SQuAD F1 | cit. precision | abstain in-KB | abstain out-of-KB | fallback | s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for key, s in r["results"].items():
        lines.append(f"| {key} | {s['in_kb']} / {s['out_of_kb']} | {s['cmrc_em']} | {s['cmrc_f1']} | {s['cmrc_f1_answered']} | "
                     f"{s['draft_cmrc_f1']} | {s.get('squad_f1', '')} | {s['citation_precision']} ({s['citations_shown']}) | "
                     f"{s['abstain_in_kb']} | {s['abstain_out_of_kb']} | {s['fallback_extractive']} | {s['seconds']} |")  # fmt: skip
    lines += ["", "Latency per stage over the in-KB questions, seconds (p50 / p95; first_token counts from the start "
              "of generation; verify includes the extractive fallback):", "", "| data set / config | " + " | ".join(STAGES) + " |",
              "|---|" + "---:|" * len(STAGES)]
    for key, s in r["results"].items():
        cells = [f"{s['latency'][st]['p50']} / {s['latency'][st]['p95']}" for st in STAGES]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
