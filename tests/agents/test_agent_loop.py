"""The agent loop with the scripted fake: native tool calls, ReAct (JSON and text), stops, traces."""

from __future__ import annotations

import json

import pytest

from lingxi.agents import Agent, agent_tool, calculator, supervisor, tool
from lingxi.agents.react import ParseError, action_schema, parse_text_action
from lingxi.errors import ConfigError
from lingxi.models.scripted import ScriptedChat


@tool
def lookup(city: str) -> str:
    """Population of a city in millions.

    Args:
        city: the city name
    """
    return {"北京": "21.9", "Paris": "2.1"}[city]


def calc_call(expr: str) -> dict:
    return {"tool_calls": [{"name": "calculator", "arguments": {"expression": expr}}]}


def test_native_loop_calls_tools_and_records_every_step() -> None:
    fake = ScriptedChat([calc_call("2**100 + 17 * 3"), "The answer is 1267650600228229401496703205427."])
    result = Agent(fake, [calculator], system="Be exact.").run("What is 2**100 + 17 * 3?")
    assert result.mode == "native" and result.stop_reason == "final"
    assert result.answer == "The answer is 1267650600228229401496703205427."
    step = result.steps[0]
    assert (step.kind, step.tool, step.arguments, step.result, step.ok) == (
        "tool", "calculator", {"expression": "2**100 + 17 * 3"}, "1267650600228229401496703205427", True)
    assert step.prompt_tokens > 0 and step.seconds >= 0
    sent = fake.calls[1]
    assert sent["tools"][0]["function"]["name"] == "calculator"
    assert [m.role for m in sent["messages"]] == ["system", "user", "assistant", "tool"]
    assert sent["messages"][3].tool_call_id == sent["messages"][2].tool_calls[0].id
    trace = result.format_trace()
    assert "tool: calculator" in trace and "stopped: final" in trace
    assert json.loads(json.dumps(result.to_dict()))["steps"][1]["kind"] == "final"


def test_tool_errors_go_back_to_the_model_and_it_recovers() -> None:
    fake = ScriptedChat([
        {"tool_calls": [{"name": "lookup", "arguments": {"town": "北京"}}]},
        {"tool_calls": [{"name": "nosuch", "arguments": {}}]},
        {"tool_calls": [{"name": "lookup", "arguments": {"city": "北京"}}]},
        "北京约有 21.9 百万人。",
    ])
    result = Agent(fake, [lookup]).run("北京有多少人？")
    assert [s.ok for s in result.steps] == [False, False, True, True]
    assert "city: Field required" in result.steps[0].result
    assert "no tool named 'nosuch'" in result.steps[1].result
    assert result.answer == "北京约有 21.9 百万人。"


def test_weak_model_guards_take_the_tool_result() -> None:
    # a repeated identical call ends the run with the earlier result
    fake = ScriptedChat([calc_call("6*7"), calc_call("6*7")])
    r = Agent(fake, [calculator]).run("6 times 7?")
    assert (r.answer, r.stop_reason, len(fake.calls)) == ("42", "repeat", 2)
    # a final answer that drops the computed number is replaced by it
    r = Agent(ScriptedChat([calc_call("6*7"), "It is 24."]), [calculator]).run("6 times 7?")
    assert (r.answer, r.stop_reason) == ("42", "tool_result")
    # running out of steps answers with the last good result
    r = Agent(ScriptedChat([calc_call("1+1"), calc_call("2+2")]), [calculator], max_steps=2).run("?")
    assert (r.answer, r.stop_reason) == ("4", "max_steps")
    # finish="model" trusts only the model; finish="tool" stops at the first result
    r = Agent(ScriptedChat([calc_call("6*7"), "It is 24."]), [calculator], finish="model").run("?")
    assert (r.answer, r.stop_reason) == ("It is 24.", "final")
    fake = ScriptedChat([calc_call("6*7")])
    assert Agent(fake, [calculator], finish="tool").run("?").stop_reason == "tool_result"


def test_react_json_constrains_the_reply_to_valid_actions() -> None:
    fake = ScriptedChat([
        '{"tool": "calculator", "arguments": {"expression": "17 * 3"}}',
        '{"tool": "final_answer", "arguments": {"answer": "51"}}',
    ])
    r = Agent(fake, [calculator], mode="react-json").run("17 * 3?")
    assert (r.answer, r.mode, [s.kind for s in r.steps]) == ("51", "react-json", ["tool", "final"])
    schema = fake.calls[0]["params"].response_format["json_schema"]["schema"]
    assert schema == action_schema([calculator])
    branches = {b["properties"]["tool"]["const"]: b for b in schema["anyOf"]}
    assert set(branches) == {"calculator", "final_answer"}
    assert branches["calculator"]["properties"]["arguments"]["required"] == ["expression"]
    assert "calculator(expression: string)" in fake.calls[0]["messages"][0].content
    assert fake.calls[1]["messages"][-1].content == "Observation: <tool_result>\n51\n</tool_result>"  # fenced as data


def test_react_text_parser_is_strict() -> None:
    tools = [calculator]
    a = parse_text_action('Thought: add\nAction: calculator\nAction Input: {"expression": "1+1"}', tools)
    assert (a.tool, a.arguments, a.thought) == ("calculator", {"expression": "1+1"}, "add")
    assert parse_text_action("Thought: done\nFinal Answer: 2", tools).arguments == {"answer": "2"}
    for bad, needle in [
        ("I think it is 2", "exactly one"),
        ("Action: calculator\nAction Input: 1+1", "not valid JSON"),
        ("Action: browser\nAction Input: {}", "no tool named 'browser'"),
        ('Action: calculator\nAction Input: {"expression": "1"}\nFinal Answer: 1', "both"),
        ("Action: calculator", "no 'Action Input"),
    ]:
        with pytest.raises(ParseError, match=needle):
            parse_text_action(bad, tools)


def test_react_text_loop_sends_format_errors_back() -> None:
    fake = ScriptedChat([
        "The answer is probably 4.",
        'Thought: compute\nAction: calculator\nAction Input: {"expression": "2+2"}',
        "Thought: I know it\nFinal Answer: 4",
    ])
    r = Agent(fake, [calculator], mode="react-text").run("2+2?")
    assert [s.kind for s in r.steps] == ["format_error", "tool", "final"] and r.answer == "4"
    assert fake.calls[1]["messages"][-1].content.startswith("Format error:")
    assert "\nObservation:" in fake.calls[0]["params"].stop


def test_supervisor_delegates_to_sub_agents() -> None:
    math_model = ScriptedChat([calc_call("21.9 * 2"), "43.8"])
    facts_model = ScriptedChat([{"tool_calls": [{"name": "lookup", "arguments": {"city": "北京"}}]}, "21.9"])
    mathematician = Agent(math_model, [calculator], name="mathematician", description="does arithmetic")
    researcher = Agent(facts_model, [lookup], name="researcher", description="looks up populations")
    boss_model = ScriptedChat([
        {"tool_calls": [{"name": "researcher", "arguments": {"task": "population of 北京"}}]},
        {"tool_calls": [{"name": "mathematician", "arguments": {"task": "21.9 * 2"}}]},
        "Twice 北京's population is 43.8 million.",
    ])
    boss = supervisor(boss_model, [researcher, mathematician])
    r = boss.run("What is twice the population of 北京?")
    assert [s.tool for s in r.steps[:2]] == ["researcher", "mathematician"]
    assert [s.result for s in r.steps[:2]] == ["21.9", "43.8"] and "43.8" in r.answer
    assert "researcher (looks up populations)" in boss_model.calls[0]["messages"][0].content
    assert boss.tools["mathematician"].runs[0].steps[0].tool == "calculator"
    assert agent_tool(mathematician).parameters["required"] == ["task"]


def test_bad_configuration_is_a_sentence() -> None:
    with pytest.raises(ConfigError, match="max_steps"):
        Agent(ScriptedChat([]), [], max_steps=0)
    with pytest.raises(ConfigError, match="Unknown agent mode"):
        Agent(ScriptedChat([]), [], mode="telepathy")  # type: ignore[arg-type]
