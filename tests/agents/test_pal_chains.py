"""PAL through the real sandbox (scripted model), chains as plain functions, the CLI with a fake model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lingxi.agents import pal, prompt, router, sequential, transform
from lingxi.agents.programs import extract_code, program_of
from lingxi.cli import main
from lingxi.errors import ConfigError
from lingxi.models.scripted import ScriptedChat

GOOD = "```python\ndef solution():\n    apples = 15 - 3 + 8\n    return apples\n```"


def test_pal_runs_the_program_in_the_sandbox() -> None:
    fake = ScriptedChat([GOOD])
    r = pal("小明有15个苹果，吃了3个，又买了8个。他现在有几个苹果？", fake)
    assert (r.answer, r.tries) == ("20", 1) and r.run is not None and r.run.ok
    assert fake.calls[0]["messages"][-1].content.startswith("小明")


def test_pal_shows_the_error_and_retries_and_never_runs_code_in_process() -> None:
    evil = "```python\nimport os\ndef solution():\n    os.system('touch /tmp/pwned-by-pal')\n    return 1\n```"
    fake = ScriptedChat([evil, "def solution():\n    return 2.50 * 4"])
    r = pal("cost of 4 items at 2.50?", fake)
    assert r.tries == 2 and r.answer == "10"
    assert "creating processes" in fake.calls[1]["messages"][-1].content
    fake = ScriptedChat(["no code here", "still none"])
    assert pal("?", fake).answer is None


def test_code_extraction() -> None:
    assert extract_code("Sure!\n```py\nx = 1\n```\nDone") == "x = 1"
    assert extract_code("Here:\ndef solution():\n    return 3") == "def solution():\n    return 3"
    assert program_of("def solution():\n    return 3").endswith("solution()\n")
    assert program_of("print(3)") == "print(3)"


def test_sequential_transform_and_prompt_steps() -> None:
    fake = ScriptedChat(["What is the capital of France?", "Paris.", "巴黎。"])
    translate = prompt(fake, "Translate into English:\n{input}")
    answer = prompt(fake, "Answer briefly:\n{input}")
    back = prompt(fake, "翻译成中文：\n{input}")
    chain = sequential(translate, answer, back, transform(lambda s: s.rstrip("。")))
    assert chain("法国的首都是哪里？") == "巴黎"
    assert fake.calls[0]["messages"][0].content == "Translate into English:\n法国的首都是哪里？"
    assert fake.calls[1]["messages"][0].content == "Answer briefly:\nWhat is the capital of France?"
    assert fake.calls[0]["params"].temperature == 0.0
    with pytest.raises(ConfigError, match="placeholder"):
        prompt(fake, "no slot")


def _bag_of_words(texts: list[str]) -> np.ndarray:
    vocab = ["number", "sum", "plus", "poem", "verse", "rhyme"]
    return np.array([[t.lower().count(w) for w in vocab] for t in texts], dtype=float)


def test_router_picks_by_embedding_similarity() -> None:
    math_chain = transform(lambda s: "MATH")
    poem_chain = transform(lambda s: "POEM")
    pick = router({"math": ("number sum plus", math_chain), "poem": ("poem verse rhyme", poem_chain)},
                  embed=_bag_of_words, default=transform(lambda s: "OTHER"), threshold=0.3)
    assert pick("what is the sum of this number plus that") == "MATH"
    assert pick("write a poem with rhyme") == "POEM"
    assert pick("hello there") == "OTHER"
    assert pick.choose("a verse")[0] == "poem"


def test_cli_agent_with_a_fake_model(capsys: pytest.CaptureFixture[str]) -> None:
    action = 'Thought: use the calculator\nAction: calculator\nAction Input: {"expression": "2**100 + 17 * 3"}'
    code = main(["agent", "What is 2**100 + 17 * 3?", "--tools", "calc", "--model", f"scripted:{action}",
                 "--mode", "react-text", "--json", "--trace"])
    captured = capsys.readouterr()
    assert code == 0
    data = json.loads(captured.out)
    assert data["answer"] == "1267650600228229401496703205427" and data["stop_reason"] == "repeat"
    assert data["steps"][0]["tool"] == "calculator" and "step 1 · tool" in captured.err
    assert main(["agent", "x", "--tools", "calc,telnet", "--model", "scripted:x"]) == 2
    assert "Unknown tool 'telnet'" in capsys.readouterr().err
