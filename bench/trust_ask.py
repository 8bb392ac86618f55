"""`ask` before/after the entailment verifier and the cross-lingual gate, on a small shared RAG sample.

    .venv/bin/python bench/trust_ask.py [--n 20] [--model smollm2] [--datasets cmrc,xquad-en,xquad-zh2en,covid_qa] [--minutes M] [--name trust_ask]

For each data set (bench/rag_data.py: benchmark half, n in-KB + n out-of-KB questions), the same
questions are answered twice with the same model (mode auto, k=4, max_tokens=96):
``before`` — main's decision rule (new-term coverage + cosine thresholds; same-language gate),
swapped in for the entailment check; ``after`` — this branch. The conflict note and the
extractive filter for empty sentences are on in both. ``xquad-zh2en`` asks the Chinese XQuAD
questions against the English XQuAD KB (the cross-lingual case of issue 18).
Reports EM/F1 (CMRC scorer), citation precision (for zh2en: the share of citations to the gold
English passage, since Chinese answers cannot be matched inside English text), abstention in/out of KB and seconds, via
bench/rag.py's `run_one`, and first-token p50. ``after-extractive`` answers with this branch in mode
extractive (the `ask --mode` default audit). Writes bench/results/NAME.json and .md (--name, default trust_ask).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from rag import STAGES, run_one, summarise
from rag_data import knowledge_base, load, split

from lingxi.rag import lang as L
from lingxi.rag.answer import Thresholds
from lingxi.rag.entail import Judgement
from lingxi.rag.pipeline import Options
from lingxi.rag.verify import cross_lingual_facts, lexical_support, supports

ROOT = Path(__file__).resolve().parents[1]


class LegacyJudge:
    """main's verifier decision behind the Entailment interface (words + cosine thresholds)."""

    def __init__(self, *a, **k) -> None:  # noqa: ANN002, ANN003
        self.t = Thresholds()

    def many(self, pairs, vectors=None, passage_vectors=None):  # noqa: ANN001, ANN201
        out = []
        for i, (s, p, q) in enumerate(pairs):
            u = vectors[i] if vectors is not None else None
            w = passage_vectors[i] if passage_vectors is not None else None
            cos = float(np.dot(u, w)) if u is not None and w is not None else None
            cross = L.detect(s) != L.detect(p)
            lex = lexical_support(s, p, q)
            ok = supports(lex, cos, cross, self.t, cross_lingual_facts(s, p, q) if cross else None)
            out.append(Judgement(ok, "entailed" if ok else "not stated", cos or 0.0, "legacy", "", lex))
        return out


def legacy_relevant(sources, thresholds, lang="en", question="", embedder=None):  # noqa: ANN001, ANN201, ARG001
    t = thresholds
    cos, cov = (t.retrieval_cosine_zh, t.retrieval_coverage_zh) if lang == "zh" else (t.retrieval_cosine, t.retrieval_coverage)
    return any((s.cosine is not None and s.cosine >= cos) or s.coverage >= cov for s in sources)


@contextmanager
def before():
    import lingxi.rag.entail as entail
    import lingxi.rag.pipeline as pipeline

    saved = entail.Entailment, pipeline.relevant
    entail.Entailment, pipeline.relevant = LegacyJudge, legacy_relevant
    try:
        yield
    finally:
        entail.Entailment, pipeline.relevant = saved


LABELS = {"before": ("auto", True), "after": ("auto", False), "after-extractive": ("extractive", False)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--datasets", default="cmrc,xquad-en,xquad-zh2en,covid_qa")
    ap.add_argument("--labels", default="before,after,after-extractive",
                    help="before = main's rule + gate (mode auto); after = this branch (auto); after-extractive = this branch, mode extractive")
    ap.add_argument("--minutes", type=float, default=None, help="time cap per (set, label); cuts in/out of KB equally")
    ap.add_argument("--name", default="trust_ask")
    ap.add_argument("--home", type=Path, default=Path("~/.lingxi").expanduser())
    args = ap.parse_args()
    os.environ["LINGXI_HOME"], os.environ["LINGXI_TRACE"] = str(args.home), "false"
    from lingxi.models.funnel import Model

    model = Model(args.model)
    options = Options(k=4, max_tokens=96)
    report = {"machine": platform.platform(), "cpus": os.cpu_count(), "model": args.model, "n": args.n,
              "name": args.name, "load_start": os.getloadavg(), "results": {}}  # fmt: skip
    for ds in args.datasets.split(","):
        kb_ds, q_ds = ("xquad-en", "xquad-zh") if ds == "xquad-zh2en" else (ds, ds)
        load(kb_ds, args.home)  # writes the KB's passage files on first use
        kb = knowledge_base(kb_ds, args.home)
        items = load(q_ds, args.home)
        if ds == "xquad-zh2en":  # the KB's files are the English paragraphs: point the items at them
            for it in items:
                it.path = it.path.replace("/xquad-zh/", "/xquad-en/")
        ins, outs = split(items, "bench", args.n)
        for label in args.labels.split(","):
            mode, legacy = LABELS[label]
            t0, rows = time.time(), []
            deadline = t0 + 60 * args.minutes if args.minutes else None
            for a, b in zip(ins, outs, strict=False):
                for it in (a, b):
                    rows.append(ask_one(kb, it, model, mode, options, legacy))
                if deadline and time.time() > deadline:
                    break
            s = summarise(rows, "en" if ds in ("xquad-en", "covid_qa") else "zh", mode != "extractive")
            s["blocked_by_guard"] = sum(bool(r.get("blocked")) for r in rows)
            report["results"][f"{ds}/{label}"] = {**s, "seconds": round(time.time() - t0, 1), "load": os.getloadavg()[0]}
            print(ds, label, json.dumps(report["results"][f"{ds}/{label}"], ensure_ascii=False)[:400], flush=True)
            write(report)
    report["load_end"] = os.getloadavg()
    write(report)


def ask_one(kb, item, model, mode: str, options: Options, legacy: bool) -> dict:  # noqa: ANN001
    """bench/rag.py's run_one; a question the input guard blocks counts as an abstention (that is what
    `ask` shows) and is marked ``blocked``."""
    from lingxi.guard.screen import Blocked

    try:
        if legacy:
            with before():
                return run_one(kb, item, model, mode, options)
        return run_one(kb, item, model, mode, options)
    except Blocked:
        zero = {st: None for st in STAGES}
        return {"id": item.id, "in_kb": item.in_kb, "abstained": True, "mode": mode, "prediction": "", "draft": "",
                "answers": item.answers, "citations": 0, "citations_ok": 0, "cited_gold_passage": 0, "timings": zero,
                "tokens": {}, "cmrc_em": 0.0, "cmrc_f1": 0.0, "squad_em": 0.0, "squad_f1": 0.0, "draft_cmrc_f1": None,
                "draft_squad_f1": None, "blocked": True}  # fmt: skip


def write(report: dict) -> None:
    out, name = ROOT / "bench/results", report["name"]
    (out / f"{name}.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    lines = [f"# `ask` before/after the entailment verifier ({report['model']}, same questions)", "",
             f"{report['model']}, k=4, max_tokens=96; up to {report['n']} in-KB + {report['n']} out-of-KB benchmark "
             f"questions per set (pairs actually run: column q). {report['machine']}, {report['cpus']} CPUs, load average at start {report['load_start'][0]:.1f} "
             "(shared machine: seconds are noisy). before = main's support rule and same-language gate, mode auto; "
             "after = this branch, mode auto; after-extractive = this branch, mode extractive. "
             "Citation precision = share of shown citations whose passage holds a gold answer (for xquad-zh2en the "
             "Chinese answer cannot occur in English text: read *cites gold passage*). first token = seconds from the "
             "start of the question to the first generated token, p50 over in-KB questions. A question the input guard "
             "blocks counts as an abstention (column blocked).", "",
             "| set / verifier | q | EM | F1 | F1 answered | citation precision (shown) | cites gold passage | abstain in-KB | abstain out-of-KB | fallback | first token p50 s | blocked | s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for key, s in report["results"].items():
        ft = s["latency"]["first_token"]["p50"]
        lines.append(f"| {key} | {s['in_kb']}+{s['out_of_kb']} | {s['cmrc_em']} | {s['cmrc_f1']} | {s['cmrc_f1_answered']} | {s['citation_precision']} "
                     f"({s['citations_shown']}) | {s['cited_gold_passage']} | {s['abstain_in_kb']} | {s['abstain_out_of_kb']} | {s['fallback_extractive']} | {ft} | {s.get('blocked_by_guard', 0)} | {s['seconds']} |")  # fmt: skip
    (out / f"{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
