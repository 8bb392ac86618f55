"""`compare`: the same prompts across models and sampling settings."""

from __future__ import annotations

import pytest

from lingxi.errors import ConfigError
from lingxi.models.scripted import ScriptedChat
from lingxi.prompts.compare import comparison_markdown, load_suite, run_comparison

SUITE = """
sampling:
  - {temperature: 0}
  - {temperature: 0.9}
prompts:
  - name: capital
    prompt: "{{ country }}的首都是哪里？"
    vars: {country: 法国}
  - name: poem
    system: You are a poet.
    prompt: Autumn haiku.
"""


def test_suite_runs_every_prompt_model_and_setting(tmp_path):
    (tmp_path / "p.yaml").write_text(SUITE, encoding="utf-8")
    suite, sampling = load_suite(tmp_path / "p.yaml")
    models = {"a": ScriptedChat(default="巴黎", name="a"), "b": ScriptedChat(default="Paris | France", name="b")}
    rows = run_comparison(suite, sampling, ["a", "b"], get_model=models.__getitem__)
    assert len(rows) == 2 * 2 * 2
    assert {(r["model"], r["prompt"], r["sampling"]) for r in rows} >= {("b", "poem", "temperature=0.9")}
    assert models["a"].calls[0]["messages"][0].content == "法国的首都是哪里？"
    assert models["a"].calls[2]["messages"][0].role == "system"
    assert [c["params"].temperature for c in models["b"].calls[:2]] == [0.0, 0.9]
    assert all(r["completion_tokens"] > 0 and r["cost"] == 0.0 for r in rows)
    md = comparison_markdown(rows)
    assert "## capital (temperature=0)" in md and "| a | 巴黎 |" in md and "Paris \\| France" in md


def test_suite_errors_are_sentences(tmp_path):
    (tmp_path / "bad.yaml").write_text("sampling: [{temperature: 9}]\nprompts: [hi]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="temperature"):
        load_suite(tmp_path / "bad.yaml")
    (tmp_path / "empty.yaml").write_text("prompts: []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no prompts"):
        load_suite(tmp_path / "empty.yaml")
