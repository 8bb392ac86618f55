"""`lingxi guard train`: fit the guard's heads from public data plus the project's seeds,
reproducibly (fixed samples, fixed seed), and write them with their data hashes and metrics.

    lingxi guard train --data ../shared/data         # -> src/lingxi/guard/data/heads.npz + heads.json

What is trained on: COLD train (all of it for the character model, a balanced sample for the e5
heads), the "A" half of the waimai reviews as non-offensive text for the character model, the "train" seeds of every category, the "A" half of waimai reviews and of the CMRC /
XQuAD questions (benign text). Nothing from COLD dev, the seeds' "test" part, the "B" halves or
giskard: bench/guard.py measures on those.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lingxi.guard import datasets as D
from lingxi.guard import heads as H

LABELS = (*D.CATEGORIES, "injection")
COLD_PER_CLASS = 1000  # COLD train texts per class for the e5 heads
REVIEWS = 400  # waimai "A" reviews (benign, half of them harsh) for the e5 heads
QUESTIONS = 150  # per question set, "A" half
CHAR_C, E5_C = 4.0, 2.0
MAX_FP = 0.005  # the e5 heads' thresholds: at most this share of training negatives flagged (cross-validated)


SEED_WEIGHT = 10.0  # a hand-written seed counts as this many sampled texts (hard negatives shape the boundary)


def e5_set(data: str | Path, rng: random.Random) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Texts, their label rows (hate, sexual, violence, self_harm, illegal, injection), sample weights."""
    texts: list[str] = []
    rows: list[list[int]] = []
    weights: list[float] = []

    def add(items: list[str], label: str | None, weight: float = 1.0) -> None:
        for t in items:
            texts.append(t)
            rows.append([int(label == name) for name in LABELS])
            weights.append(weight)

    cold = D.cold(data, "train")
    for cls in (1, 0):
        pool = [t for t, y in zip(cold.texts, cold.labels, strict=True) if y == cls]
        add(rng.sample(pool, min(COLD_PER_CLASS, len(pool))), "hate" if cls else None)
    s = D.seeds()
    for cat, items in s["moderation"]["train"].items():
        add(items, cat, SEED_WEIGHT)
    add(s["injection"]["train"]["attack"], "injection", SEED_WEIGHT)
    add(s["injection"]["train"]["benign"], None, SEED_WEIGHT)
    reviews = D.waimai(data)
    add(rng.sample([t for t in reviews.texts if D.half(t) == "A"], REVIEWS), None)
    for which in ("cmrc", "xquad-en"):
        add(rng.sample([q for q in D.questions(data, which) if D.half(q) == "A"], QUESTIONS), None)
    return texts, np.array(rows, dtype=np.int8), np.array(weights, dtype=np.float32)


def fit_char(data: str | Path) -> tuple[np.ndarray, float, np.ndarray]:
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression

    cold = D.cold(data, "train")
    # harsh opinions are not offensive: the "A" half of the waimai reviews joins as non-offensive text
    reviews = [t for t in D.waimai(data).texts if D.half(t) == "A"]
    texts, labels = cold.texts + reviews, cold.labels + [0] * len(reviews)
    idf = TfidfTransformer(sublinear_tf=True).fit(H.hasher().transform(texts)).idf_.astype(np.float32)
    x = H.char_features(texts, idf)
    model = LogisticRegression(C=CHAR_C, max_iter=3000).fit(x, np.array(labels))
    return model.coef_[0].astype(np.float32), float(model.intercept_[0]), idf


def fit_e5(vectors: np.ndarray, y: np.ndarray, sw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Weights, biases, and per-label thresholds calibrated by 5-fold cross-validation: the lowest
    at which at most MAX_FP of the training negatives would be flagged (then mapped to 0.5)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    w, b, th, cv = [], [], [], {}
    for i, name in enumerate(LABELS):
        make = lambda: LogisticRegression(C=E5_C, class_weight="balanced", max_iter=3000)  # noqa: E731
        m = make().fit(vectors, y[:, i], sample_weight=sw)
        w.append(m.coef_[0])
        b.append(m.intercept_[0])
        p = cross_val_predict(make(), vectors, y[:, i], cv=5, method="predict_proba",
                              params={"sample_weight": sw})[:, 1]
        pos, neg = p[y[:, i] == 1], p[y[:, i] == 0]
        t = next((float(t) for t in np.arange(0.5, 0.99, 0.01) if np.mean(neg >= t) <= MAX_FP), 0.99)
        th.append(t)
        cv[name] = {"threshold": round(t, 2), "cv_recall": round(float(np.mean(pos >= t)), 4),
                    "cv_false_positive_rate": round(float(np.mean(neg >= t)), 4)}
    return np.array(w, dtype=np.float32), np.array(b, dtype=np.float32), np.array(th, dtype=np.float32), cv


def dev_metrics(heads: H.Heads, data: str | Path) -> dict[str, Any]:
    """The character model on COLD dev and on waimai "B" negative reviews (quick; the full
    measurement, e5 included, is bench/guard.py)."""
    from sklearn.metrics import accuracy_score, f1_score

    dev = D.cold(data, "dev")
    pred = (heads.char(dev.texts) >= 0.5).astype(int)
    reviews = D.waimai(data)
    harsh = [t for t, y in zip(reviews.texts, reviews.labels, strict=True) if y == 0 and D.half(t) == "B"]
    return {"cold_dev_accuracy_char": round(float(accuracy_score(dev.labels, pred)), 4),
            "cold_dev_macro_f1_char": round(float(f1_score(dev.labels, pred, average="macro")), 4),
            "waimai_negative_B_flag_rate_char": round(float((heads.char(harsh) >= 0.5).mean()), 4)}


def train(data: str | Path, out: Path | None = None, *, seed: int = 0,
          progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Fit every head, write heads.npz and heads.json to `out` (default: the package's data folder)."""
    from lingxi.guard.embed import embed_cached

    started = time.time()
    out = out or H.head_path()
    rng = random.Random(seed)
    say = progress or (lambda _what, _done, _total: None)
    say("character model on COLD train", 0, 1)
    coef, bias, idf = fit_char(data)
    texts, y, sw = e5_set(data, rng)
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        say("e5 vectors", done[0], len(texts))

    vectors = embed_cached(texts, progress=tick)
    w, b, th, cv = fit_e5(vectors, y, sw)
    heads = H.Heads(coef, bias, idf, list(LABELS), w, b, th)
    heads.save(out)
    H._loaded.pop(str(out), None)
    seeds_text = json.dumps(D.seeds(), ensure_ascii=False, sort_keys=True)
    rec = {
        "trained_at": time.strftime("%Y-%m-%d %H:%M:%S"), "seed": seed, "seconds": round(time.time() - started, 1),
        "data_sha256": {name: D.file_hash(p) for name, p in D.sources(data).items()},
        "seeds_sha256": hashlib.sha256(seeds_text.encode("utf-8")).hexdigest(),
        "char": {"features": H.N_FEATURES, "ngrams": list(H.NGRAMS), "C": CHAR_C,
                 "train_rows": {"cold_train": len(D.cold(data, "train").texts),
                                "waimai_A": sum(D.half(t) == "A" for t in D.waimai(data).texts)}},
        "e5": {"labels": list(LABELS), "C": E5_C, "rows": len(texts), "seed_weight": SEED_WEIGHT,
               "positives": {name: int(y[:, i].sum()) for i, name in enumerate(LABELS)}, "calibration": cv},
        "metrics": dev_metrics(H.load(out), data),
    }
    out.with_suffix(".json").write_text(json.dumps(rec, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return rec
