"""The real tiny local model (SmolLM2-135M) through the server; short generations only."""

from __future__ import annotations

import asyncio

import openai
import pytest

pytestmark = pytest.mark.slow
MSG = [{"role": "user", "content": "Name a colour."}]


def test_chat_stream_and_plain_agree(client):
    plain = client.chat.completions.create(model="smollm2", messages=MSG, max_tokens=5, temperature=0, seed=1)
    text = plain.choices[0].message.content
    assert text and plain.usage.completion_tokens <= 5 and plain.usage.prompt_tokens > 5
    chunks = list(client.chat.completions.create(model="smollm2", messages=MSG, max_tokens=5, temperature=0, seed=1,
                                                 stream=True, stream_options={"include_usage": True}))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == text
    assert chunks[-1].usage.completion_tokens == plain.usage.completion_tokens


def test_text_completion_and_async_client(live, api_key, client):
    resp = client.completions.create(model="smollm2", prompt="The capital of France is", max_tokens=4, temperature=0)
    assert resp.choices[0].text.strip() and resp.usage.completion_tokens <= 4

    async def two_at_once():
        aclient = openai.AsyncOpenAI(base_url=live.url + "/v1", api_key=api_key, max_retries=0)
        try:
            return await asyncio.gather(*[
                aclient.chat.completions.create(model="smollm2", messages=MSG, max_tokens=6, temperature=0)
                for _ in range(2)])
        finally:
            await aclient.close()

    a, b = asyncio.run(two_at_once())  # queued one after the other on the one local instance
    assert a.choices[0].message.content == b.choices[0].message.content
