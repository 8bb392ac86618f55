"""Which chat model should be the default? The same small Chinese and English RAG sets for each.

    .venv/bin/python bench/default_model.py [--n 20] [--models smollm2,gemma3-270m,qwen2.5-1.5b]
        [--datasets cmrc,xquad-en] [--minutes 8] [--home ~/.lingxi] [--name default_model]

For each model and data set (bench/rag_data.py's benchmark questions, in-KB only: the question is
answerable), `lingxi.rag` in its default `auto` mode: F1 (CMRC scorer, abstention = 0), F1 of the
model's own draft, citation precision, the share answered by the extractive fallback (the model's
answer failed verification or it declined), and the model's cost: first-token time p50 and decode
tokens/s (completion tokens over the time after the first token), plus the file size. Models not
pulled are skipped with a line saying how to pull them. Writes NAME.json / NAME.md after each part.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from rag import models_available, run_one
from rag_data import knowledge_base, load, split

from lingxi.rag.pipeline import Options


def run_safe(kb, item, model, mode: str, options: Options) -> dict | None:
    """One question, or None when lingxi refuses it (the guard blocked a CMRC question as self-harm: a
    false positive reported with issue 18); skipped questions are counted in the summary."""
    from lingxi.errors import LingxiError

    try:
        return run_one(kb, item, model, mode, options)
    except LingxiError as exc:
        print(f"skipped {item.id}: {exc}", flush=True)
        return None


def summary(rows: list[dict]) -> dict:
    gen = [r for r in rows if r["timings"]["first_token"] is not None]
    fallback = [r["mode"] == "extractive" for r in rows] if gen else []
    rates = [r["tokens"]["completion_tokens"] / max(1e-6, r["timings"]["generate"] - r["timings"]["first_token"])
             for r in gen if r["tokens"]["completion_tokens"] > 1]
    cites = sum(r["citations"] for r in rows)
    return {"n": len(rows),
            "f1": round(float(np.mean([r["cmrc_f1"] for r in rows])), 2),
            "draft_f1": round(float(np.mean([r["draft_cmrc_f1"] or 0 for r in rows])), 2),
            "citation_precision": round(sum(r["citations_ok"] for r in rows) / max(1, cites), 3), "citations": cites,
            "fallback": round(float(np.mean(fallback)), 3) if fallback else None,
            "abstained": round(float(np.mean([r["abstained"] for r in rows])), 3),
            "first_token_p50": round(float(np.median([r["timings"]["first_token"] for r in gen])), 2) if gen else None,
            "tokens_per_s": round(float(np.median(rates)), 1) if rates else None,
            "total_p50": round(float(np.median([r["timings"]["total"] for r in rows])), 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--models", default="smollm2,gemma3-270m,qwen2.5-1.5b")
    ap.add_argument("--datasets", default="cmrc,xquad-en")
    ap.add_argument("--minutes", type=float, default=8.0, help="time cap per (model, data set)")
    ap.add_argument("--home", type=Path, default=Path("~/.lingxi").expanduser())
    ap.add_argument("--name", default="default_model")
    ap.add_argument("--out", type=Path, default=Path("bench/results"))
    args = ap.parse_args()
    os.environ["LINGXI_HOME"], os.environ["LINGXI_TRACE"] = str(args.home), "false"
    options = Options(k=4, max_tokens=96)
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)", "date": time.strftime("%Y-%m-%d %H:%M"),
              "options": {"k": options.k, "max_tokens": options.max_tokens}, "results": {}, "rows": {}}
    models = models_available([m for m in args.models.split(",") if m])
    for ds in args.datasets.split(","):
        items = load(ds, args.home)  # writes the passage files on first use
        kb = knowledge_base(ds, args.home)
        ins, _ = split(items, "bench", args.n)
        for name, model in [("extractive (no model)", None), *models.items()]:
            t0, rows = time.time(), []
            for item in ins:
                row = run_safe(kb, item, model, "auto" if model is not None else "extractive", options)
                if row is not None:
                    rows.append(row)
                if time.time() - t0 > 60 * args.minutes:
                    break
            report["results"][f"{ds}/{name}"] = {**summary(rows), "seconds": round(time.time() - t0, 1),
                                                 "load": os.getloadavg()[0]}
            report["rows"][f"{ds}/{name}"] = rows
            print(f"{ds}/{name}: {json.dumps(report['results'][f'{ds}/{name}'])}", flush=True)
            write(report, args.out, args.name)


def write(report: dict, out: Path, name: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    lines = [f"# Default chat model: the same RAG questions for each ({report['machine']}, {report['date']})", "",
             f"bench/default_model.py: in-KB benchmark questions of bench/rag_data.py, `auto` mode, k={report['options']['k']}, "
             f"max_tokens={report['options']['max_tokens']}. F1: CMRC scorer, abstention = 0. Fallback: share answered "
             "extractively because the model's answer failed verification or it declined. Timings are on a shared, "
             "loaded 2-core machine (load = 1-minute load average when the part ended).", "",
             "| data set / model | n | F1 | draft F1 | cit. precision | fallback | first token p50 s | tokens/s | total p50 s | load |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, s in report["results"].items():
        lines.append(f"| {key} | {s['n']} | {s['f1']} | {s['draft_f1']} | {s['citation_precision']} ({s['citations']}) | "
                     f"{s['fallback']} | {s['first_token_p50']} | {s['tokens_per_s']} | {s['total_p50']} | {s['load']:.1f} |")
    (out / f"{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
