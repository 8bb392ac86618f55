"""`lingxi edu demo --json`: the three roles on the sample course, as the embedded default runs them."""

from __future__ import annotations

import json

from lingxi.cli import main

PROGRAM = "```python\ndef solution():\n    cut = 6\n    total = cut / (2 / 5)\n    return total - cut\n```"


def test_the_demo_runs_all_three_roles_extracting_where_the_model_cannot_write_chinese(capsys, monkeypatch, tmp_path):
    from lingxi.models import packs

    monkeypatch.setenv("LINGXI_HOME", str(tmp_path / "home"))  # a fresh home, as after a fresh clone
    model = f"scripted:{PROGRAM}"  # stands in for smollm2: weak at Chinese, writes the math program
    monkeypatch.setattr(packs, "WEAK_AT_CHINESE", (*packs.WEAK_AT_CHINESE, model))
    assert main(["edu", "demo", "--model", model, "--out", str(tmp_path / "out"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["generated"] is False
    tutor = doc["tutor"]
    assert [t["hint_level"] for t in tutor] == [1, 2, 1] and tutor[0]["citations"] and tutor[2]["abstained"]
    assert doc["solve"]["answer"] == "9" and doc["solve"]["checked"]
    assert doc["plan"]["origin"] == "course" and sum(s["minutes"] for s in doc["plan"]["timeline"]) == 45
    qs = doc["quiz"]["questions"]
    assert len(qs) == 3 and all(q["origin"] == "extractive" and q["review"]["ok"] for q in qs)
    assert doc["grade"]["total"] == 3
    assert doc["coverage"]["counts"]["missing"] >= 1 and (tmp_path / "out" / "coverage-sample-light.png").stat().st_size > 500
