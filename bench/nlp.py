"""Classic NLP and prompting benchmarks (issue 7). Writes bench/results/nlp.json and nlp.md.

    python bench/nlp.py                       # all parts, default sample sizes
    python bench/nlp.py --parts waimai,thucnews --waimai 2000 --thucnews 3000
    python bench/nlp.py --parts density --passages 20 --model qwen2.5-1.5b

Data comes from ../shared/data (never copied); a missing folder skips its part with a message.
Samples are drawn with a fixed seed so runs are comparable.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "results"


def stratified(texts, labels, per_class, seed=0):
    rng = random.Random(seed)
    by = {}
    for t, y in zip(texts, labels):
        by.setdefault(y, []).append(t)
    out_t, out_y = [], []
    for y in sorted(by):
        picked = rng.sample(by[y], min(per_class, len(by[y])))
        out_t += picked
        out_y += [y] * len(picked)
    return out_t, out_y


def waimai(n: int, embedder) -> dict:
    from lingxi.evals.classification import classification_report
    from lingxi.nlp.classify import cross_validate, embed_texts, zero_shot

    with (DATA / "waimai_10k" / "waimai_10k.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    texts, labels = stratified([r["review"] for r in rows], [r["label"] for r in rows], n // 2)
    started = time.perf_counter()
    vecs = embed_texts(embedder, texts)
    embed_s = time.perf_counter() - started
    names = {"1": "好评", "0": "差评"}
    truth = [names[y] for y in labels]
    out = {"n": len(texts), "embed_s": round(embed_s, 1), "texts_per_s": round(len(texts) / embed_s, 1)}
    for key, kw in (("zero_shot", {"method": "similarity"}), ("zero_shot_calibrated", {"method": "calibrated"}),
                    ("zero_shot_hypothesis", {"hypothesis": "这是一条{label}，", "method": "similarity"}),
                    ("zero_shot_hypothesis_calibrated", {"hypothesis": "这是一条{label}，", "method": "calibrated"})):
        z = zero_shot(texts, ["好评", "差评"], embedder, vectors=vecs, **kw)
        r = classification_report(truth, z.predictions)
        out[key] = {"accuracy": r["accuracy"], "macro_f1": r["macro_avg"]["f1"], **kw}
    cv = cross_validate(texts, truth, folds=5, embedder=embedder, vectors=vecs)
    out["logreg_5fold"] = {"accuracy": cv["accuracy"], "accuracy_std": cv["accuracy_std"], "macro_f1": cv["macro_f1"]}
    return out


def thucnews(n_train: int, n_test: int, embedder) -> dict:
    from lingxi.evals.classification import write_report
    from lingxi.nlp.classify import EmbeddingClassifier, embed_texts
    from lingxi.nlp.data import read_texts

    dev, test = read_texts(DATA / "thucnews_titles" / "dev.txt"), read_texts(DATA / "thucnews_titles" / "test.txt")
    classes = len(set(dev.labels))
    tr_t, tr_y = stratified(dev.texts, dev.labels, n_train // classes)
    te_t, te_y = stratified(test.texts, test.labels, n_test // classes, seed=1)
    started = time.perf_counter()
    clf = EmbeddingClassifier(embedder).fit_vectors(embed_texts(embedder, tr_t), tr_y)
    report = classification_report_for(clf, embed_texts(embedder, te_t), te_y)
    files = write_report(report, OUT, name="nlp_thucnews", title="THUCNews titles: e5 + logistic regression")
    return {"n_train": len(tr_t), "n_test": len(te_t), "seconds": round(time.perf_counter() - started, 1),
            "accuracy": report["accuracy"], "macro_f1": report["macro_avg"]["f1"],
            "weighted_f1": report["weighted_avg"]["f1"], "report": report, "files": files}


def classification_report_for(clf, vecs, labels):
    from lingxi.evals.classification import classification_report

    return classification_report(labels, clf.predict_vectors(vecs), labels=sorted(set(labels)))


def density(passages: int, steps: int, model_name: str) -> dict:
    from lingxi.models.funnel import Model
    from lingxi.prompts.longform import chain_of_density, entity_density

    data = json.loads((DATA / "cmrc2018" / "cmrc2018_trial.json").read_text(encoding="utf-8"))
    docs = [p["context"][:700] for a in data["data"] for p in a["paragraphs"]][:passages]
    model = Model(model_name)
    per_step = [[] for _ in range(steps)]
    lengths = [[] for _ in range(steps)]
    started = time.perf_counter()
    for doc in docs:
        result = chain_of_density(model, doc, steps=steps, words=80, params={"temperature": 0.0, "max_tokens": 300})
        # entities: everything any step named that really occurs in the passage
        ents = sorted({e for s in result for e in s.added if e and e in doc})
        for i, s in enumerate(result):
            per_step[i].append(entity_density(s.summary, ents))
            lengths[i].append(len(s.summary))
    mean = lambda xs: sum(xs) / len(xs) if xs else 0.0  # noqa: E731
    return {"model": model_name, "passages": len(docs), "steps": steps, "seconds": round(time.perf_counter() - started, 1),
            "entity_density_per_100_chars": [round(mean(x), 3) for x in per_step],
            "summary_chars": [round(mean(x), 1) for x in lengths]}


def markdown(res: dict) -> str:
    lines = ["# NLP benchmarks (issue 7)", "", f"machine: {res['machine']}", ""]
    if "waimai" in res:
        w = res["waimai"]
        lines += [f"## Sentiment, waimai_10k (stratified sample of {w['n']}, e5 embeddings, {w['texts_per_s']} texts/s)",
                  "", "| method | accuracy | macro-F1 |", "| --- | ---: | ---: |"]
        for key in ("zero_shot", "zero_shot_calibrated", "zero_shot_hypothesis", "zero_shot_hypothesis_calibrated",
                    "logreg_5fold"):
            if key in w:
                lines.append(f"| {key} | {w[key]['accuracy']:.4f} | {w[key]['macro_f1']:.4f} |")
        lines.append("")
    if "thucnews" in res:
        t = res["thucnews"]
        from lingxi.evals.classification import report_markdown

        lines += [f"## THUCNews titles: e5 + logistic regression (train {t['n_train']} from dev, test {t['n_test']} from test)", ""]
        lines += [report_markdown(t["report"], "Report", image="nlp_thucnews_confusion.png")]
    if "density" in res:
        d = res["density"]
        lines += [f"## Chain-of-density on {d['passages']} CMRC 2018 passages ({d['model']})", "",
                  "| step | " + " | ".join(str(i + 1) for i in range(d["steps"])) + " |",
                  "| --- |" + " ---: |" * d["steps"],
                  "| entities / 100 chars | " + " | ".join(f"{x:.2f}" for x in d["entity_density_per_100_chars"]) + " |",
                  "| summary chars | " + " | ".join(f"{x:.0f}" for x in d["summary_chars"]) + " |", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="waimai,thucnews,density")
    ap.add_argument("--waimai", type=int, default=1000)
    ap.add_argument("--thucnews", type=int, default=1000)
    ap.add_argument("--thucnews-test", type=int, default=500)
    ap.add_argument("--passages", type=int, default=20)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--embedder", default="e5")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"skipped: {DATA} is absent (the shared evaluation data)")
    from lingxi.knowledge.embed import get_embedder

    embedder = get_embedder(args.embedder)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "nlp.json"
    res = json.loads(path.read_text()) if path.is_file() else {}
    res["machine"] = f"{platform.machine()}, {platform.system()}, python {platform.python_version()}"
    parts = args.parts.split(",")
    if "waimai" in parts:
        res["waimai"] = waimai(args.waimai, embedder)
        print(json.dumps(res["waimai"], ensure_ascii=False))
    if "thucnews" in parts:
        res["thucnews"] = thucnews(args.thucnews, args.thucnews_test, embedder)
        print(res["thucnews"]["accuracy"], res["thucnews"]["macro_f1"])
    if "density" in parts:
        res["density"] = density(args.passages, args.steps, args.model)
        print(json.dumps(res["density"]))
    path.write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
    (OUT / "nlp.md").write_text(markdown(res), encoding="utf-8")


if __name__ == "__main__":
    main()
