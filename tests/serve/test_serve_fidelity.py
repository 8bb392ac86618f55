"""OpenAI API fidelity with the real tiny model, as the official client and LangChain use it
(the newcomer issue, items 6-9): tool-call histories, streamed tool calls, tool_choice, streamed text completions."""

from __future__ import annotations

import json

import openai
import pytest

pytestmark = pytest.mark.slow
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "The time in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


def test_an_assistant_turn_with_null_content_and_tool_calls_is_answered(client):
    history = [*ASK,
               {"role": "assistant", "content": None, "tool_calls": [
                   {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
               {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 C"}]
    reply = client.chat.completions.create(model="smollm2", messages=history, tools=[WEATHER], max_tokens=16,
                                           temperature=0)
    assert reply.choices[0].finish_reason in ("stop", "length", "tool_calls")


def test_tools_reach_a_model_whose_template_ignores_them(client):
    bare = client.chat.completions.create(model="smollm2", messages=ASK, max_tokens=1, temperature=0)
    with_tools = client.chat.completions.create(model="smollm2", messages=ASK, tools=[WEATHER], max_tokens=1,
                                                temperature=0)
    assert with_tools.usage.prompt_tokens > bare.usage.prompt_tokens + 20  # the tool is described to the model


def test_tool_choice_required_forces_a_call(client):
    reply = client.chat.completions.create(model="smollm2", messages=ASK, tools=[WEATHER, TIME], tool_choice="required",
                                           max_tokens=40, temperature=0)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.tool_calls
    call = choice.message.tool_calls[0]
    assert call.function.name in ("get_weather", "get_time") and isinstance(json.loads(call.function.arguments), dict)


def test_a_named_tool_choice_calls_that_function(client):
    reply = client.chat.completions.create(model="smollm2", messages=ASK, tools=[WEATHER, TIME], max_tokens=40,
                                           tool_choice={"type": "function", "function": {"name": "get_time"}},
                                           temperature=0)
    assert reply.choices[0].message.tool_calls[0].function.name == "get_time"


def test_streamed_tool_calls_arrive_as_tool_call_deltas(client):
    chunks = list(client.chat.completions.create(model="smollm2", messages=ASK, tools=[WEATHER], max_tokens=40,
                                                 tool_choice="required", temperature=0, stream=True))
    calls = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert calls and calls[0].function.name == "get_weather" and json.loads(calls[0].function.arguments)
    assert "{" not in text  # the call is not also sent as text
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]


def test_an_unknown_named_tool_is_a_400(client):
    with pytest.raises(openai.BadRequestError, match="not among the tools"):
        client.chat.completions.create(model="smollm2", messages=ASK, tools=[WEATHER],
                                       tool_choice={"type": "function", "function": {"name": "nope"}})


def test_text_completions_stream_token_by_token(client):
    chunks = list(client.completions.create(model="smollm2", prompt="One, two, three, four,", max_tokens=12,
                                            temperature=0, stream=True))
    pieces = [c.choices[0].text for c in chunks if c.choices and c.choices[0].text]
    assert len(pieces) >= 4  # streamed, not one chunk holding the whole text
    plain = client.completions.create(model="smollm2", prompt="One, two, three, four,", max_tokens=12, temperature=0)
    assert "".join(pieces) == plain.choices[0].text
    assert chunks[-1].choices[0].finish_reason in ("length", "stop")
