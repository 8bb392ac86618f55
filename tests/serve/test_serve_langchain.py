"""LangChain's ChatOpenAI (and OpenAIEmbeddings) pointed at the running server, unmodified."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from serve_fakes import HashEmbedder

lc = pytest.importorskip("langchain_openai", reason="needs LangChain's OpenAI package: pip install langchain-openai")


@pytest.fixture
def llm(live, api_key):
    def make(model: str = "fake", **kw):
        return lc.ChatOpenAI(base_url=live.url + "/v1", api_key=api_key, model=model, max_retries=0, timeout=60, **kw)
    return make


def test_invoke_stream_and_async(llm):
    reply = llm().invoke("hi")
    assert reply.content == "Hello there, my good friend."
    assert reply.usage_metadata["output_tokens"] > 0 and reply.response_metadata["finish_reason"] == "stop"
    chunks = list(llm(stream_usage=True).stream("hi"))
    assert len(chunks) > 3 and "".join(c.content for c in chunks) == reply.content
    assert sum(c.usage_metadata["output_tokens"] for c in chunks if c.usage_metadata) == reply.usage_metadata["output_tokens"]
    assert asyncio.run(llm().ainvoke([("system", "Be brief."), ("user", "hi")])).content == reply.content


def test_tool_calls_parse(llm, tool_model):
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return "sunny"

    tool_model.queue({"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]})
    reply = llm("tools").bind_tools([get_weather]).invoke("Weather in Paris?")
    assert reply.tool_calls[0]["name"] == "get_weather" and reply.tool_calls[0]["args"] == {"city": "Paris"}
    assert tool_model.calls[-1]["tools"][0]["function"]["name"] == "get_weather"


def test_openai_embeddings(live, api_key):
    emb = lc.OpenAIEmbeddings(base_url=live.url + "/v1", api_key=api_key, model="hash",
                              check_embedding_ctx_length=False)  # no tiktoken download
    vectors = emb.embed_documents(["one", "two"])
    assert np.allclose(vectors, HashEmbedder().embed(["one", "two"], "passage"), atol=1e-6)


@pytest.mark.slow
def test_real_tiny_model(llm):
    reply = llm("smollm2", max_tokens=5, temperature=0).invoke("Name a colour.")
    assert reply.content.strip() and 0 < reply.usage_metadata["output_tokens"] <= 5
