"""Zero-shot classification defaults to the calibrated method, the best measured (issue 18)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from lingxi.cli import main

WAIMAI = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "waimai_10k" / "waimai_10k.csv"


@pytest.fixture(scope="module")
def rows() -> list[list[str]]:
    if not WAIMAI.is_file():
        pytest.skip(f"the shared data set {WAIMAI} is absent")
    with WAIMAI.open(encoding="utf-8") as f:
        data = list(csv.reader(f))[1:]
    pos = [r for r in data if r[0] == "1"][100:110]  # rows past the first screen, mixed like the file
    neg = [r for r in data if r[0] == "0"][100:110]
    return [r for pair in zip(pos, neg, strict=True) for r in pair]


def classify(capsys, path: Path, *extra: str) -> dict:
    capsys.readouterr()
    code = main(["classify", "zero-shot", str(path), "--labels", "好评,差评", "--label-map", "1=好评,0=差评",
                 "--out", str(path.parent / "rep"), *extra, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_default_is_the_calibrated_method_and_says_so(rows, tmp_path, capsys) -> None:
    path = tmp_path / "waimai.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["label", "review"], *rows])
    default = classify(capsys, path)
    calibrated = classify(capsys, path, "--method", "calibrated")
    raw = classify(capsys, path, "--method", "similarity")
    assert default["method"] == "calibrated" and raw["method"] == "similarity"
    assert [p["label"] for p in default["predictions"]] == [p["label"] for p in calibrated["predictions"]]
    assert default["accuracy"] == calibrated["accuracy"] >= raw["accuracy"]
    assert [p["label"] for p in default["predictions"]] != [p["label"] for p in raw["predictions"]]
    # the text output names the method too
    assert main(["classify", "zero-shot", str(path), "--labels", "好评,差评", "--out", str(tmp_path / "r2")]) == 0
    assert "method: calibrated" in capsys.readouterr().err


def test_a_single_text_cannot_be_calibrated_and_says_so(tmp_path, capsys, monkeypatch) -> None:
    import numpy as np

    import lingxi.knowledge.embed as embed

    class Two:
        def embed(self, texts, kind="passage"):
            return np.array([[1.0, 0.0] if "好" in t else [0.0, 1.0] for t in texts], dtype=np.float32)

    monkeypatch.setattr(embed, "get_embedder", lambda spec: Two())
    path = tmp_path / "one.csv"
    path.write_text("review\n好吃\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["classify", "zero-shot", str(path), "--labels", "好评,差评", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["method"] == "similarity" and "more than one text" in doc["note"]
