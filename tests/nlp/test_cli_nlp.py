"""`lingxi classify`, `lingxi cluster`, `lingxi compare`, in process through lingxi.cli.main."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from lingxi.cli import main
from lingxi.models.scripted import ScriptedChat

WORDS = ("好吃", "快", "难吃", "慢", "股", "球")


class KeywordEmbedder:
    """Deterministic stand-in for plumbing tests: one dimension per keyword (the real e5 is tested too)."""

    name = "kw"

    def embed(self, texts, kind="passage"):
        rows = [[float(w in t) for w in WORDS] + [0.05] for t in texts]
        return np.array(rows, dtype=np.float32)


@pytest.fixture
def kw(monkeypatch):
    import lingxi.knowledge.embed as embed

    real = embed.get_embedder
    monkeypatch.setattr(embed, "get_embedder", lambda spec: KeywordEmbedder() if spec == "kw" else real(spec))


def write_csv(path, rows, header=("label", "review")):
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def run_json(capsys, *args):
    capsys.readouterr()
    code = main([*args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_zero_shot_with_real_e5_prints_accuracy(tmp_path, capsys):
    data = write_csv(tmp_path / "r.csv", [["好评", "非常满意，好评"], ["差评", "很差，差评"], ["差评", "菜是馊的，恶心"]])
    doc = run_json(capsys, "classify", "zero-shot", "--labels", "好评,差评", str(data), "--out", str(tmp_path / "rep"))
    assert doc["accuracy"] == 1.0 and [p["label"] for p in doc["predictions"]] == ["好评", "差评", "差评"]
    assert doc["report"]["per_class"]["差评"]["support"] == 2
    assert (tmp_path / "rep" / f"zero-shot-{doc['run_id']}_confusion.png").is_file()


def test_zero_shot_label_map_and_text_col(tmp_path, capsys, kw):
    data = write_csv(tmp_path / "r.csv", [["1", "好吃"], ["0", "难吃"]], header=("label", "body"))
    doc = run_json(capsys, "classify", "zero-shot", "-l", "好吃,难吃", "--label-map", "1=好吃,0=难吃",
                   "--text-col", "body", "--embedder", "kw", str(data))
    assert doc["accuracy"] == 1.0
    assert main(["classify", "zero-shot", "-l", "a,b", str(data)]) == 2
    assert "--text-col" in capsys.readouterr().err


def test_train_then_eval_writes_report_and_run(tmp_path, capsys, kw):
    rows = [["pos", "好吃"], ["pos", "很快"], ["pos", "好吃又快"], ["neg", "难吃"], ["neg", "太慢"], ["neg", "又慢又难吃"]]
    data = write_csv(tmp_path / "train.csv", rows)
    doc = run_json(capsys, "classify", "train", str(data), "--embedder", "kw", "--C", "10",
                   "--save", str(tmp_path / "clf"))
    assert doc["labels"] == ["neg", "pos"] and doc["train_accuracy"] == 1.0
    test = write_csv(tmp_path / "test.csv", [["pos", "真好吃"], ["neg", "真难吃"]])
    rep = run_json(capsys, "classify", "eval", doc["path"], str(test), "--out", str(tmp_path / "out"))
    assert rep["accuracy"] == 1.0 and set(rep["report"]["per_class"]) == {"neg", "pos"}
    assert "| **weighted avg** |" in open(rep["files"]["markdown"], encoding="utf-8").read()
    runs = run_json(capsys, "eval", "runs")
    assert runs[0]["id"] == rep["run_id"] and runs[0]["kind"] == "classification"


def test_cluster_with_scripted_names(tmp_path, capsys, kw, monkeypatch):
    texts = [["股市大涨"], ["股价下跌"], ["球队夺冠"], ["球迷欢呼"]]
    data = write_csv(tmp_path / "t.csv", texts, header=("title",))
    reply = json.dumps({"name": "组", "summary": "同一主题"}, ensure_ascii=False)
    fake = ScriptedChat([reply, reply])
    monkeypatch.setattr("lingxi.models.funnel.open_chat", lambda model=None, *a, **kw: fake)
    doc = run_json(capsys, "cluster", str(data), "--k", "2", "--model", "fake", "--embedder", "kw",
                   "--out", str(tmp_path))
    assert sorted(c["size"] for c in doc["clusters"]) == [2, 2] and doc["clusters"][0]["name"] == "组"
    a = doc["assignments"]
    assert a[0] == a[1] and a[2] == a[3] and a[0] != a[2]
    assert open(doc["files"]["scatter_png"], "rb").read(4) == b"\x89PNG"


def test_compare_two_models(tmp_path, capsys):
    (tmp_path / "p.yaml").write_text("prompts:\n  - name: hi\n    prompt: 你好\n", encoding="utf-8")
    doc = run_json(capsys, "compare", str(tmp_path / "p.yaml"), "--models", "scripted:甲,scripted:乙",
                   "--out", str(tmp_path))
    assert [r["text"] for r in doc["rows"]] == ["甲", "乙"]
    assert "| scripted:甲 | 甲 |" in open(doc["report"], encoding="utf-8").read()
