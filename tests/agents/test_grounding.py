"""Agents answer with their tools' results (issue 18): the number check and the "does any tool fit?" step."""

from __future__ import annotations

import json

import pytest

from lingxi.agents import Agent, calculator
from lingxi.agents.grounding import numbers, tool_fits, unsupported_numbers
from lingxi.cli import main
from lingxi.models.scripted import ScriptedChat

PRODUCT = "121932631112635269"  # 123456789 * 987654321
WRONG = "12193263111126311112635269"  # what the tiny model retyped
TASK = "What is 123456789 * 987654321? Use the calculator."


def act(tool: str, **arguments: object) -> str:
    return json.dumps({"tool": tool, "arguments": arguments})


def test_numbers_are_normalised_and_compared_whole() -> None:
    assert numbers("1,000 and 1000.0, 约有21.9百万, 1e3, x86") == {"1000", "21.9"}
    assert unsupported_numbers(f"It is {WRONG}.", [TASK, PRODUCT]) == [WRONG]
    assert unsupported_numbers(f"It is {int(PRODUCT):,}.", [TASK, PRODUCT]) == []
    assert unsupported_numbers("No numbers here.", []) == []


def test_a_mistyped_restatement_gives_the_tool_result_verbatim() -> None:
    fake = ScriptedChat([act("calculator", expression="123456789 * 987654321"),
                         act("final_answer", answer=f"The product is {WRONG} (about 1.2e17).")])
    r = Agent(fake, [calculator], mode="react-json").run(TASK)
    assert (r.answer, r.stop_reason) == (PRODUCT, "tool_result")
    assert WRONG in r.note and "verbatim" in r.note
    # a correct restatement is kept as the model wrote it
    fake = ScriptedChat([act("calculator", expression="123456789 * 987654321"),
                         act("final_answer", answer=f"123456789 * 987654321 = {PRODUCT}")])
    r = Agent(fake, [calculator], mode="react-json").run(TASK)
    assert (r.answer, r.stop_reason, r.note) == (f"123456789 * 987654321 = {PRODUCT}", "final", "")


def test_echoing_a_mistyped_number_through_the_tool_does_not_ground_it() -> None:
    # the model feeds its own wrong retyping to the calculator, then repeats that call: the old loop
    # returned the echo (the 'repeat' stop) — now the last grounded result wins
    fake = ScriptedChat([act("calculator", expression="123456789 * 987654321"),
                         act("calculator", expression=WRONG), act("calculator", expression=WRONG)])
    r = Agent(fake, [calculator], mode="react-json").run(TASK)
    assert r.answer == PRODUCT and "verbatim" in r.note
    # finish="model" keeps the model's words but says they are unverified
    fake = ScriptedChat([act("calculator", expression="2+2"), act("final_answer", answer="It is 5.")])
    r = Agent(fake, [calculator], mode="react-json", finish="model").run("2+2?")
    assert r.answer == "It is 5." and r.note.startswith("unverified: 5")


def test_cli_prints_exactly_the_product_with_a_scripted_model_that_retypes_it(capsys, tmp_path, monkeypatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    # (the last scripted reply is also the fake's default, which JSON mode replaces by a schema example)
    replies = [act("calculator", expression="123456789 * 987654321"), act("final_answer", answer=WRONG), "{}"]
    (home / "lingxi.toml").write_text("[models.retyper]\nprovider = 'scripted'\nreplies = "
                                      + json.dumps(replies) + "\n", encoding="utf-8")
    monkeypatch.setenv("LINGXI_HOME", str(home))
    assert main(["agent", TASK, "--tools", "calc", "--model", "retyper", "--mode", "react-json"]) == 0
    captured = capsys.readouterr()
    assert captured.out == PRODUCT + "\n"
    assert "verbatim" in captured.err


def test_the_decision_step_answers_without_tools_when_none_fits() -> None:
    fake = ScriptedChat(['{"purpose": "name a capital city", "tool": "none"}', "Paris is the capital of France."])
    r = Agent(fake, [calculator], mode="react-json", decide=True).run("What is the capital of France?")
    assert (r.answer, r.stop_reason, [s.kind for s in r.steps]) == ("Paris is the capital of France.", "no_tool",
                                                                     ["decision", "final"])
    decision = fake.calls[0]
    assert decision["params"].response_format["json_schema"]["schema"]["properties"]["tool"]["enum"] == ["calculator", "none"]
    assert "calculator(expression: string)" in decision["messages"][0].content
    assert "capital of France" in decision["messages"][1].content
    assert fake.calls[1]["params"].response_format is None  # the plain answer is not forced into an action
    assert "does a tool fit? no" in r.format_trace()


def test_the_decision_step_lets_a_fitting_request_through() -> None:
    fake = ScriptedChat(['{"purpose": "multiply", "tool": "calculator"}', act("calculator", expression="6*7"),
                         act("final_answer", answer="42")])
    r = Agent(fake, [calculator], mode="react-json", decide=True).run("6 times 7?")
    assert (r.answer, [s.kind for s in r.steps]) == ("42", ["decision", "tool", "final"])
    # an unreadable decision counts as yes: the step can only stop a call, never invent one
    assert tool_fits(ScriptedChat(['"maybe"']), "6 times 7?", [calculator]) is True
    assert tool_fits(ScriptedChat(['{"purpose": "greet", "tool": "none"}']), "hi", [{"name": "f", "description": "d"}]) is False
    assert tool_fits(ScriptedChat(['{"purpose": "f it", "tool": "f"}']), "do f", [{"name": "f", "description": "d"}]) is True


@pytest.mark.parametrize("decide, calls", [(None, 2), (False, 2)])
def test_scripted_models_skip_the_decision_by_default(decide, calls) -> None:
    fake = ScriptedChat([act("calculator", expression="6*7"), act("final_answer", answer="42")])
    r = Agent(fake, [calculator], mode="react-json", decide=decide).run("6 times 7?")
    assert r.answer == "42" and len(fake.calls) == calls


def test_the_decision_step_default_follows_the_measurement() -> None:
    """On for local models (Qwen: BFCL irrelevance 0 -> 80 % at equal simple/multiple), off for SmolLM2 (no change)."""
    from lingxi.models.funnel import open_chat

    tiny = open_chat(None)  # the embedded default; construction loads nothing
    assert tiny.provider == "llamacpp" and not Agent(tiny, [calculator]).deciding()
    local = ScriptedChat(["x"], name="qwen2.5-1.5b")
    local.provider = "llamacpp"  # a local model by provider, as the funnel reports it
    assert Agent(local, [calculator]).deciding() and not Agent(local, []).deciding()
    assert not Agent(local, [calculator], decide=False).deciding()
