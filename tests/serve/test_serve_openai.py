"""The official openai client against the running server, with scripted fakes."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest


def test_chat_non_streaming(client):
    resp = client.chat.completions.create(model="fake", messages=[{"role": "user", "content": "hi"}])
    assert resp.object == "chat.completion"
    assert resp.id.startswith("chatcmpl-")
    assert resp.model == "fake"
    assert resp.choices[0].message.content == "Hello there, my good friend."
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage.completion_tokens > 0 and resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


def test_chat_streaming_chunks_and_done(client):
    chunks = list(client.chat.completions.create(
        model="fake", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello there, my good friend."
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_raw_sse_ends_with_done(live, api_key):
    import httpx

    with httpx.stream("POST", live.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {api_key}"},
                      json={"model": "fake", "messages": [{"role": "user", "content": "x"}], "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert events[-1] == "data: [DONE]"
    assert all(e.startswith("data: ") for e in events)
    first = json.loads(events[0][6:])
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert "usage" not in first  # only with stream_options.include_usage


def test_n_stop_and_logprobs(client):
    resp = client.chat.completions.create(model="fake", messages=[{"role": "user", "content": "hi"}], n=2,
                                          stop=[","], logprobs=True, top_logprobs=2, max_tokens=20)
    assert [c.index for c in resp.choices] == [0, 1]
    assert all(c.message.content == "Hello there" for c in resp.choices)
    lp = resp.choices[0].logprobs.content
    assert [t.token for t in lp] == ["Hello", " ", "there"]
    assert len(lp[0].top_logprobs) == 2


def test_max_tokens_gives_length(client):
    resp = client.chat.completions.create(model="fake", messages=[{"role": "user", "content": "hi"}], max_tokens=3)
    assert resp.choices[0].finish_reason == "length"
    assert resp.choices[0].message.content == "Hello there"


def test_tools_reach_the_model_and_calls_come_back(client, tool_model):
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "weather for a city",
                                               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    tool_model.queue({"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]})
    resp = client.chat.completions.create(model="tools", messages=[{"role": "user", "content": "weather?"}],
                                          tools=tools, tool_choice="auto")
    call = resp.choices[0].message.tool_calls[0]
    assert resp.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    assert tool_model.calls[-1]["tools"] == tools
    # the tool result goes back in; the fake answers from its default
    follow = client.chat.completions.create(model="tools", tools=tools, messages=[
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"}])
    assert follow.choices[0].message.content == "It is sunny in Paris."
    sent = tool_model.calls[-1]["messages"]
    assert sent[1].tool_calls[0].name == "get_weather" and sent[2].tool_call_id == call.id


def test_tools_streamed(client, tool_model):
    tool_model.queue({"tool_calls": [{"name": "lookup", "arguments": {"q": "灵犀"}}]})
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    chunks = list(client.chat.completions.create(model="tools", messages=[{"role": "user", "content": "q"}],
                                                 tools=tools, tool_choice="required", stream=True))
    calls = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
    assert calls[0].function.name == "lookup" and json.loads(calls[0].function.arguments) == {"q": "灵犀"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_tool_choice_none_hides_tools(client, tool_model):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    client.chat.completions.create(model="tools", messages=[{"role": "user", "content": "q"}], tools=tools,
                                   tool_choice="none")
    assert tool_model.calls[-1]["tools"] is None


def test_response_format_and_seed_reach_the_model(client, tool_model):
    tool_model.queue('{"answer": 42}')
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}}
    resp = client.chat.completions.create(
        model="tools", messages=[{"role": "user", "content": "json please"}], seed=7,
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema}})
    assert json.loads(resp.choices[0].message.content) == {"answer": 42}
    params = tool_model.calls[-1]["params"]
    assert params.seed == 7 and params.response_format["json_schema"]["schema"] == schema


def test_async_client_streaming_and_not(live, api_key):
    async def go():
        aclient = openai.AsyncOpenAI(base_url=live.url + "/v1", api_key=api_key, max_retries=0)
        one = await aclient.chat.completions.create(model="fake", messages=[{"role": "user", "content": "a"}])
        stream = await aclient.chat.completions.create(model="fake", messages=[{"role": "user", "content": "b"}],
                                                       stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        await aclient.close()
        return one.choices[0].message.content, text

    one, text = asyncio.run(go())
    assert one == text == "Hello there, my good friend."


def test_text_completions(client):
    resp = client.completions.create(model="fake", prompt=["Once", "Twice"], max_tokens=2, echo=True)
    assert resp.object == "text_completion"
    assert [c.text for c in resp.choices] == ["OnceHello ", "TwiceHello "]
    assert [c.index for c in resp.choices] == [0, 1]
    chunks = list(client.completions.create(model="fake", prompt="x", max_tokens=2, stream=True))
    assert "".join(c.choices[0].text for c in chunks) == "Hello "


def test_models_list_and_retrieve(client):
    ids = [m.id for m in client.models.list()]
    assert {"smollm2", "fake", "tools"} <= set(ids)
    assert client.models.retrieve("fake").owned_by == "lingxi/scripted"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nope")
