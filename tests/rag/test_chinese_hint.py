"""A Chinese question on the tiny default model gets one line saying which model answers in real Chinese (issue 18)."""

from __future__ import annotations

import pytest

from lingxi.cli import main
from lingxi.cli import ask as ask_cli

ZH = "灵犀会删除哪些句子？"
EN = "Which port does lingxi serve use?"


@pytest.fixture
def home(kb, kb_home, monkeypatch):
    monkeypatch.setenv("LINGXI_HOME", str(kb_home))
    # the tiny default stands in as a scripted alias: the hint depends on the alias, not on the weights
    (kb_home / "lingxi.toml").write_text("default_model = 'tiny'\n[models.tiny]\nprovider = 'scripted'\n"
                                         "replies = ['灵犀会删除不被支持的句子 [1]。']\n", encoding="utf-8")
    monkeypatch.setattr(ask_cli, "TINY_MODELS", ("tiny",))
    yield kb_home
    (kb_home / "lingxi.toml").unlink()


def hint_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "lingxi models pull qwen2.5-1.5b" in line]


def test_hint_for_a_chinese_question_on_the_tiny_default(home, capsys):
    assert main(["ask", ZH, "--kb", "tiny"]) == 0
    lines = hint_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "--model qwen2.5-1.5b" in lines[0]


@pytest.mark.parametrize("args", [
    ["ask", EN, "--kb", "tiny"],                                             # an English question
    ["ask", ZH, "--kb", "tiny", "--model", "scripted:灵犀会删除句子 [1]。"],   # another model
    ["ask", ZH, "--kb", "tiny", "--mode", "extractive"],                     # no model writes the answer
    ["ask", ZH, "--kb", "tiny", "--json"],                                   # machine-readable output stays clean
])
def test_no_hint_otherwise(home, capsys, args):
    assert main(args) == 0
    captured = capsys.readouterr()
    assert hint_lines(captured.err) == [] and "qwen2.5" not in captured.out


def test_the_real_default_alias_is_the_tiny_model(monkeypatch):
    from lingxi.config import load_settings

    assert load_settings().default_model in ask_cli.TINY_MODELS
    assert ask_cli.hint_for(ZH, None, "auto") and not ask_cli.hint_for(EN, None, "auto")
    assert not ask_cli.hint_for(ZH, "qwen2.5-1.5b", "auto")
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert ask_cli.demo_question() == ask_cli.DEMO_QUESTION_ZH
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert ask_cli.demo_question() == ask_cli.DEMO_QUESTION
