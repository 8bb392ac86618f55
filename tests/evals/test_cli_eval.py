"""`lingxi eval ...` in process through lingxi.cli.main."""

from __future__ import annotations

import json

from lingxi.cli import main
from lingxi.models.scripted import ScriptedChat


def run_json(capsys, *args):
    capsys.readouterr()
    code = main([*args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


SQUAD = {"data": [{"paragraphs": [{"context": "北京大学创办于1898年，初名京师大学堂。", "qas": [
    {"id": "q1", "question": "北京大学何时创办？", "answers": [{"text": "1898年", "answer_start": 7}]},
    {"id": "q2", "question": "北京大学初名什么？", "answers": [{"text": "京师大学堂", "answer_start": 13}]}]}]}]}


def test_eval_qa_from_predictions_and_from_a_model_then_compare(tmp_path, capsys):
    ds = tmp_path / "d.json"
    ds.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "p.json").write_text(json.dumps({"q1": "1898年", "q2": "大学堂"}, ensure_ascii=False), encoding="utf-8")
    a = run_json(capsys, "eval", "qa", str(ds), "-p", str(tmp_path / "p.json"), "--name", "file", "--out", str(tmp_path))
    assert a["scorer"] == "cmrc2018" and a["em"] == 50.0 and 50 < a["f1"] < 100
    b = run_json(capsys, "eval", "qa", str(ds), "--model", "scripted:1898年", "--name", "fake", "--out", str(tmp_path))
    assert b["em"] == 50.0 and b["f1"] == 50.0
    cmp = run_json(capsys, "eval", "compare", "file", "fake", "--out", str(tmp_path))
    f1 = next(r for r in cmp["rows"] if r["metric"] == "f1")
    assert f1["delta"] < 0 and open(cmp["files"]["png"], "rb").read(4) == b"\x89PNG"
    shown = run_json(capsys, "eval", "show", str(a["run_id"]))
    assert shown["details"][1]["prediction"] == "大学堂"


def test_eval_judge_and_show_prompt(tmp_path, capsys, monkeypatch):
    rows = [{"question": "何时创办？", "answer": "1898年", "context": "北京大学创办于1898年。"}]
    (tmp_path / "j.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    fake = ScriptedChat([json.dumps({"score": 4, "reason": "ok"})] * 2, name="judge")
    monkeypatch.setattr("lingxi.models.funnel.open_chat", lambda model=None, *a, **kw: fake)
    doc = run_json(capsys, "eval", "judge", str(tmp_path / "j.jsonl"), "--model", "judge",
                   "--out", str(tmp_path))
    assert doc["faithfulness_mean"] == 4 and doc["relevance"] == 0.75 and doc["judge"] == "judge"
    assert "北京大学创办于1898年。" in fake.calls[0]["messages"][0].content
    prompts = run_json(capsys, "eval", "judge", "--show-prompt", "--kinds", "faithfulness")
    assert "CONTEXT" in prompts["faithfulness"]
    assert main(["eval", "judge", "--kinds", "truth"]) == 2
    assert "faithfulness and/or relevance" in capsys.readouterr().err


def test_eval_unknown_run_is_a_sentence(capsys):
    assert main(["eval", "show", "42"]) != 0
    err = capsys.readouterr().err
    assert "no evaluation run '42'" in err and "lingxi eval runs" in err
