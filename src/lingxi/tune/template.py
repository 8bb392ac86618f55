"""The model's own chat template, applied the same way in training, export and serving.

Serving (llama.cpp) renders the conversation up to the assistant's turn with the GGUF's Jinja
template and tokenises that text; the answer's tokens follow one by one. Training does the same:
the prompt is the template rendered with ``add_generation_prompt=True`` and tokenised alone, the
completion is what the full rendering adds after it (the answer and the end-of-turn marker),
tokenised alone, and only the completion's tokens are learned.
"""

from __future__ import annotations

from typing import Any

from lingxi.errors import TuneError


def render(tok: Any, messages: list[dict[str, str]], *, generation_prompt: bool = False) -> str:
    try:
        return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)
    except Exception as exc:  # noqa: BLE001 - a Jinja error in the model's template
        raise TuneError(f"The model's chat template could not format an example: {exc}.",
                        "check the roles of the messages (system, user, assistant)") from exc


def split_example(tok: Any, messages: list[dict[str, str]]) -> tuple[str, str]:
    """(prompt text, completion text) of a conversation whose last turn is the assistant's."""
    prompt = render(tok, messages[:-1], generation_prompt=True)
    full = render(tok, messages)
    if not full.startswith(prompt):
        raise TuneError("The chat template renders the answer in a way that does not extend the prompt.",
                        "this template cannot be trained on prompt/completion pairs; use another base model")
    return prompt, full[len(prompt):]


def encode(tok: Any, text: str) -> list[int]:
    """Token ids of text as llama.cpp tokenises it (special tokens parsed, no BOS added)."""
    return tok(text, add_special_tokens=False)["input_ids"]


def sft_features(tok: Any, messages: list[dict[str, str]], max_length: int) -> dict[str, list[int]]:
    """input_ids and completion_mask (1 on the tokens learned) for one SFT example."""
    prompt, completion = split_example(tok, messages)
    p, c = encode(tok, prompt), encode(tok, completion)
    if len(p) >= max_length:  # keep the end of the prompt (the question sits next to the answer)
        p = p[-(max_length // 2):]
    ids = (p + c)[:max_length]
    return {"input_ids": ids, "completion_mask": ([0] * len(p) + [1] * len(c))[:max_length]}


def conversational(example: dict[str, Any]) -> dict[str, Any]:
    """A DPO/KTO example in trl's conversational form (trl applies the same chat template)."""
    out = {"prompt": example["prompt"]}
    for key in ("chosen", "rejected", "completion"):
        if key in example:
            out[key] = [{"role": "assistant", "content": example[key]}]
    if "label" in example:
        out["label"] = example["label"]
    return out
