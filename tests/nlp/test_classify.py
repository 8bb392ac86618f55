"""Classification with the real e5 embedder on a tiny review set."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from lingxi.errors import ConfigError
from lingxi.evals.classification import classification_report, report_markdown, write_report
from lingxi.nlp.classify import EmbeddingClassifier, cross_validate, zero_shot
from lingxi.nlp.data import read_texts
from tests.nlp.conftest import NEG, POS


def test_zero_shot_by_label_similarity(e5):
    texts = ["非常满意，好评", "很差，差评", "菜是馊的，恶心"]
    z = zero_shot(texts, ["好评", "差评"], e5)
    assert z.predictions == ["好评", "差评", "差评"]
    assert z.scores.shape == (3, 2) and z.rows(texts)[0]["scores"]["好评"] > z.rows(texts)[0]["scores"]["差评"]
    cal = zero_shot(texts, ["好评", "差评"], e5, calibrate=True)
    assert np.allclose(cal.scores.mean(axis=0), 0, atol=1e-6)
    with pytest.raises(ConfigError, match="two labels"):
        zero_shot(texts, ["好评"], e5)


@pytest.fixture(scope="module")
def vectors(e5):
    from lingxi.nlp.classify import embed_texts

    return embed_texts(e5, POS + NEG)


def test_logistic_regression_train_save_load_eval(e5, vectors, tmp_path):
    labels = ["pos"] * 6 + ["neg"] * 6
    train = [0, 1, 2, 3, 6, 7, 8, 9]
    clf = EmbeddingClassifier(e5, C=10.0).fit_vectors(vectors[train], [labels[i] for i in train])
    path = clf.save(tmp_path / "sent")
    assert path.suffix == ".npz" and json.loads(path.with_suffix(".json").read_text())["labels"] == ["neg", "pos"]
    back = EmbeddingClassifier.load(path, embedder=e5)
    test_texts = ["包装精致，口味一流", "量太少了，不值这个价"]
    assert back.predict(test_texts) == ["pos", "neg"]
    assert np.allclose(back._fitted().predict_proba(vectors[[4, 10]]), clf._fitted().predict_proba(vectors[[4, 10]]))
    report = back.evaluate(test_texts, ["pos", "neg"])
    assert report["accuracy"] == 1.0 and report["per_class"]["pos"]["support"] == 1
    with pytest.raises(ConfigError, match="No saved classifier"):
        EmbeddingClassifier.load(tmp_path / "missing")


def test_cross_validate_on_precomputed_vectors(e5, vectors):
    cv = cross_validate(POS + NEG, ["pos"] * 6 + ["neg"] * 6, folds=3, embedder=e5, vectors=vectors, C=10.0)
    assert len(cv["per_fold"]) == 3 and cv["accuracy"] >= 0.75
    assert cv["report"]["n"] == 12


def test_report_numbers_match_hand_computation(tmp_path):
    r = classification_report(["a", "a", "b", "b", "c"], ["a", "b", "b", "b", "a"])
    assert r["per_class"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert r["per_class"]["b"]["precision"] == pytest.approx(2 / 3) and r["per_class"]["b"]["recall"] == 1.0
    assert r["per_class"]["c"]["f1"] == 0.0 and r["accuracy"] == 0.6
    assert r["macro_avg"]["f1"] == pytest.approx((0.5 + 0.8 + 0) / 3)
    assert r["weighted_avg"]["f1"] == pytest.approx((0.5 * 2 + 0.8 * 2) / 5)
    assert r["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    md = report_markdown(r)
    assert "| **macro avg** |" in md and "**accuracy** 0.6000" in md
    files = write_report(r, tmp_path, name="rep")
    assert open(files["confusion_png"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert "rep_confusion.png" in open(files["markdown"], encoding="utf-8").read()


def test_read_texts_csv_columns_and_tsv_with_class_names(tmp_path):
    p = tmp_path / "r.csv"
    with p.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["label", "review"], ["1", "好吃"], ["0", "难吃"]])
    data = read_texts(p)
    assert data.texts == ["好吃", "难吃"] and data.labels == ["1", "0"] and data.text_col == "review"
    with pytest.raises(ConfigError, match="--text-col"):
        read_texts(p, text_col="body")
    (tmp_path / "d.txt").write_text("股市大涨\t0\n球队夺冠\t1\n", encoding="utf-8")
    (tmp_path / "class.txt").write_text("finance\nsports\n", encoding="utf-8")
    assert read_texts(tmp_path / "d.txt").labels == ["finance", "sports"]
