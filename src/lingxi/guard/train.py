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


def e5_set(data: str | Path, rng: random.Random) -> tuple[list[str], np.ndarray]:
    """Texts and their label rows (hate, sexual, violence, self_harm, illegal, injection)."""
    texts: list[str] = []
    rows: list[list[int]] = []

    def add(items: list[str], label: str | None) -> None:
        for t in items:
            texts.append(t)
            rows.append([int(label == name) for name in LABELS])

    cold = D.cold(data, "train")
    for cls in (1, 0):
        pool = [t for t, y in zip(cold.texts, cold.labels, strict=True) if y == cls]
        add(rng.sample(pool, min(COLD_PER_CLASS, len(pool))), "hate" if cls else None)
    s = D.seeds()
    for cat, items in s["moderation"]["train"].items():
        add(items, cat)
    add(s["injection"]["train"]["attack"], "injection")
    add(s["injection"]["train"]["benign"], None)
    reviews = D.waimai(data)
    add(rng.sample([t for t in reviews.texts if D.half(t) == "A"], REVIEWS), None)
    for which in ("cmrc", "xquad-en"):
        add(rng.sample([q for q in D.questions(data, which) if D.half(q) == "A"], QUESTIONS), None)
    return texts, np.array(rows, dtype=np.int8)


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


def fit_e5(vectors: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    w, b = [], []
    for i in range(y.shape[1]):
        m = LogisticRegression(C=E5_C, class_weight="balanced", max_iter=3000).fit(vectors, y[:, i])
        w.append(m.coef_[0])
        b.append(m.intercept_[0])
    return np.array(w, dtype=np.float32), np.array(b, dtype=np.float32)


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
    texts, y = e5_set(data, rng)
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        say("e5 vectors", done[0], len(texts))

    vectors = embed_cached(texts, progress=tick)
    w, b = fit_e5(vectors, y)
    heads = H.Heads(coef, bias, idf, list(LABELS), w, b)
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
        "e5": {"labels": list(LABELS), "C": E5_C, "rows": len(texts),
               "positives": {name: int(y[:, i].sum()) for i, name in enumerate(LABELS)}},
        "metrics": dev_metrics(H.load(out), data),
    }
    out.with_suffix(".json").write_text(json.dumps(rec, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return rec
