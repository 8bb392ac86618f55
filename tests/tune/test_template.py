"""The chat template is applied identically in training (transformers) and serving (llama.cpp):
the same text, and the same token ids, for a formatted example."""

from __future__ import annotations

from typing import Any

import pytest

from lingxi.config import load_settings
from lingxi.tune.base import load_tokenizer, resolve_base
from lingxi.tune.template import encode, render, sft_features, split_example

pytest.importorskip("transformers")
EXAMPLES = [
    [{"role": "user", "content": "What is 灵犀?"}, {"role": "assistant", "content": "A local-first platform [1]."}],
    [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Capital of France?"},
     {"role": "assistant", "content": "Paris"}],
]


@pytest.fixture(scope="module")
def both() -> tuple[Any, Any]:
    from llama_cpp import Llama

    base = resolve_base("smollm2", load_settings())
    tok = load_tokenizer(base, load_settings())
    llm = Llama(model_path=str(base.path), n_ctx=512, vocab_only=True, verbose=False)
    return tok, llm


@pytest.mark.parametrize("messages", EXAMPLES)
def test_training_tokens_equal_serving_tokens(both: tuple[Any, Any], messages: list[dict[str, str]]) -> None:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    tok, llm = both
    template = llm.metadata["tokenizer.chat_template"]
    eos = llm.detokenize([llm.token_eos()], special=True).decode()
    served = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token="").__call__(messages=messages[:-1]).prompt
    prompt, completion = split_example(tok, messages)
    assert prompt == served  # the text llama.cpp renders for the request is the text trained on
    assert completion.startswith(messages[-1]["content"]) and eos in completion
    llama_ids = llm.tokenize(served.encode(), add_bos=False, special=True)
    assert encode(tok, prompt) == llama_ids
    feats = sft_features(tok, messages, 1024)
    answer_ids = llm.tokenize(completion.encode(), add_bos=False, special=True)
    assert feats["input_ids"] == llama_ids + answer_ids
    assert feats["completion_mask"] == [0] * len(llama_ids) + [1] * len(answer_ids)
    assert render(tok, messages).endswith(completion)
