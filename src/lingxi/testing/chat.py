"""The conformance suite every chat provider passes.

Subclass it in a pytest module and provide a `model` fixture::

    from lingxi.testing import ChatModelSuite

    class TestMyProvider(ChatModelSuite):
        @pytest.fixture(scope="class")
        def model(self):
            return MyProvider(...)

The checks hold for any model, however small: they compare a model with itself
(stream vs. chat, seed vs. seed) rather than expecting particular words.
"""

from __future__ import annotations

import json
import math

import pytest

from lingxi.errors import LingxiError
from lingxi.models.base import ChatModel, as_params, collect
from lingxi.types import SamplingParams

PROMPT = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Write three sentences about the sea."},
]
GREEDY = SamplingParams(temperature=0, max_tokens=24)


class ChatModelSuite:
    @pytest.fixture(scope="class")
    def model(self) -> ChatModel:  # pragma: no cover - subclasses provide it
        raise NotImplementedError("override the `model` fixture")

    def test_is_a_chat_model(self, model: ChatModel) -> None:
        assert isinstance(model, ChatModel)
        assert model.name

    def test_chat_returns_text_and_usage(self, model: ChatModel) -> None:
        out = model.chat(PROMPT, GREEDY)
        assert out.text.strip()
        assert out.usage.prompt_tokens > 0
        assert 0 < out.usage.completion_tokens <= GREEDY.max_tokens
        assert out.choices[0].finish_reason in ("stop", "length")
        assert out.latency_s > 0

    def test_stream_matches_chat(self, model: ChatModel) -> None:
        whole = model.chat(PROMPT, GREEDY)
        deltas = list(model.stream(PROMPT, GREEDY))
        assert len([d for d in deltas if d.text]) > 1, "a stream should arrive in several pieces"
        streamed = collect(deltas, model.name)
        assert streamed.text == whole.text
        assert streamed.choices[0].finish_reason == whole.choices[0].finish_reason
        assert streamed.usage.completion_tokens > 0 and streamed.usage.prompt_tokens > 0

    def test_max_tokens_cuts_with_length(self, model: ChatModel) -> None:
        out = model.chat(PROMPT, SamplingParams(temperature=0, max_tokens=3))
        assert out.choices[0].finish_reason == "length"
        assert out.usage.completion_tokens <= 3

    def test_stop_sequence(self, model: ChatModel) -> None:
        full = model.chat(PROMPT, GREEDY).text
        words = full.split()
        assert len(words) >= 3, f"need a longer reply to test stop sequences: {full!r}"
        stop = words[2]
        cut = model.chat(PROMPT, SamplingParams(temperature=0, max_tokens=24, stop=[stop])).text
        assert stop not in cut
        assert full.startswith(cut.rstrip()) or cut.strip() == full[: full.find(stop)].strip()

    def test_seed_reproducible(self, model: ChatModel) -> None:
        p = SamplingParams(temperature=1.0, max_tokens=16, seed=1234)
        assert model.chat(PROMPT, p).text == model.chat(PROMPT, p).text

    def test_n_choices(self, model: ChatModel) -> None:
        out = model.chat(PROMPT, SamplingParams(temperature=1.0, max_tokens=8, n=2, seed=7))
        assert [c.index for c in out.choices] == [0, 1]
        assert all(c.message.content for c in out.choices)

    def test_logprobs(self, model: ChatModel) -> None:
        out = model.chat(PROMPT, SamplingParams(temperature=0, max_tokens=4, logprobs=True, top_logprobs=2))
        lps = out.choices[0].logprobs
        assert lps, "logprobs were asked for"
        for t in lps:
            assert t.logprob <= 1e-6 and math.isfinite(t.logprob)
            assert len(t.top) == 2
            assert t.top[0][1] >= t.top[1][1]

    def test_json_schema_output(self, model: ChatModel) -> None:
        schema = {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 12}},
            "required": ["city"],
            "additionalProperties": False,
        }
        fmt = {"type": "json_schema", "json_schema": {"name": "city", "schema": schema}}
        out = model.chat(
            [{"role": "user", "content": "Name a city in JSON."}],
            SamplingParams(temperature=0, max_tokens=40, response_format=fmt),
        )
        assert isinstance(json.loads(out.text)["city"], str)

    def test_tokens(self, model: ChatModel) -> None:
        tokens = model.tokenize("Hello world, 你好世界")
        assert tokens and all(isinstance(t.id, int) for t in tokens)
        assert model.count_tokens("Hello world, 你好世界") == len(tokens)
        assert model.count_tokens("Hello world, 你好世界 " * 4) > len(tokens)

    def test_multi_turn(self, model: ChatModel) -> None:
        history = [*PROMPT, {"role": "assistant", "content": "The sea is vast."}, {"role": "user", "content": "More."}]
        assert model.chat(history, GREEDY).text.strip()

    @pytest.mark.parametrize("bad", [{"temperature": -1}, {"max_tokens": 0}, {"top_p": 0}, {"n": 0}])
    def test_invalid_sampling_is_a_clear_error(self, model: ChatModel, bad: dict) -> None:
        with pytest.raises(LingxiError) as err:
            model.chat(PROMPT, as_params(bad))
        assert err.value.hint
