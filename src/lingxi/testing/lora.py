"""Tiny LoRA adapters built directly (no training) for the multi-LoRA tests and benchmark.

    make_adapter(settings, "a", seed=1)   # adapters/a/{manifest.json, adapter.gguf} on the default base
    tiny_hf_base(folder, tokenizer_from)  # a tiny random Llama folder (save_pretrained) with a real tokenizer
    make_peft_adapter(settings, "a", base=f"hf:{folder}", seed=1)  # adapters/a/{manifest.json, adapter/}

The adapter is a real llama.cpp LoRA GGUF (random rank-`r` A and B on the attention output and
MLP down projections of every layer) with a manifest naming the base file and its SHA-256,
exactly as `lingxi tune ... --out NAME` then `lingxi tune export NAME` leave it; different seeds
give adapters whose greedy answers differ from the base's and from each other's. `make_peft_adapter`
writes the peft folder that training leaves (what the hf provider applies), with random A and B.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lingxi.config import Settings
from lingxi.tune import adapters


def _shapes(path: Path, full: bool = False) -> tuple[str, dict[str, tuple[int, int]]]:
    """The architecture and the (out, in) shapes of the adapted weights, from the GGUF's metadata
    (read by llama.cpp with the vocabulary only: gguf.GGUFReader takes seconds on the tokenizer arrays)."""
    from llama_cpp import Llama

    llm = Llama(str(path), vocab_only=True, n_ctx=256, verbose=False)
    try:
        m = llm.metadata
    finally:
        llm.close()
    arch = m["general.architecture"]
    embd, ff, heads = (int(m[f"{arch}.{k}"]) for k in ("embedding_length", "feed_forward_length", "attention.head_count"))
    head = int(m.get(f"{arch}.attention.key_length", embd // heads))
    kv = int(m.get(f"{arch}.attention.head_count_kv", heads)) * head
    shapes = {}
    for layer in range(int(m[f"{arch}.block_count"])):
        shapes[f"blk.{layer}.attn_output.weight"] = (embd, heads * head)
        shapes[f"blk.{layer}.ffn_down.weight"] = (embd, ff)
        if full:  # every projection, like a trained all-linear adapter
            shapes |= {f"blk.{layer}.attn_q.weight": (heads * head, embd), f"blk.{layer}.attn_k.weight": (kv, embd),
                       f"blk.{layer}.attn_v.weight": (kv, embd), f"blk.{layer}.ffn_gate.weight": (ff, embd),
                       f"blk.{layer}.ffn_up.weight": (ff, embd)}
    return arch, shapes


def make_adapter(settings: Settings, name: str, *, seed: int, base: str = "smollm2", r: int = 4,
                 strength: float = 0.15, base_sha256: str | None = None, full: bool = False) -> Path:
    """Write adapter `name` for `base` (or claim another base's SHA-256, to test the refusal); `full`
    adapts all seven projections (the size of a trained all-linear adapter) instead of two."""
    import gguf

    from lingxi.tune.base import resolve_base

    b = resolve_base(base, settings)
    arch, shapes = _shapes(b.path, full)
    rng = np.random.default_rng(seed)
    folder = adapters.adapter_dir(name, settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "adapter.gguf"
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(r))
    for tensor, (out_dim, in_dim) in shapes.items():
        a = rng.standard_normal((r, in_dim)).astype(np.float32) * strength
        bb = rng.standard_normal((out_dim, r)).astype(np.float32) * strength
        writer.add_tensor(f"{tensor}.lora_a", a)
        writer.add_tensor(f"{tensor}.lora_b", bb)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    _manifest(settings, name, b.describe(), r, base_sha256, gguf={"path": str(path)})
    return path


def _manifest(settings: Settings, name: str, described: dict[str, Any], r: int, base_sha256: str | None,
              **extra: Any) -> None:
    if base_sha256:
        described["sha256"] = base_sha256
    manifest: dict[str, Any] = {"name": name, "method": "sft", "status": "trained", "base": described,
                                "hyper": {"r": r, "alpha": r}, "metrics": {"steps": 0}, **extra,
                                "note": "built directly by lingxi.testing.lora"}
    adapters.write_manifest(name, manifest, settings)


def tiny_hf_base(folder: Path, tokenizer_from: Path, *, seed: int = 0, layers: int = 2, hidden: int = 64) -> Path:
    """Save a tiny random LlamaForCausalLM with the tokenizer (and chat template) of the GGUF `tokenizer_from`."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(tokenizer_from.parent, gguf_file=tokenizer_from.name, local_files_only=True)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id, tie_word_embeddings=True)
    torch.manual_seed(seed)
    LlamaForCausalLM(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def make_peft_adapter(settings: Settings, name: str, *, base: str, seed: int, r: int = 4, strength: float = 0.5,
                      base_sha256: str | None = None) -> Path:
    """Write the peft adapter `name` (random A and B on q, v, o and down projections) for the model `base`,
    as training leaves it; `base_sha256` claims another base, to test the refusal. Returns the peft folder."""
    import torch
    from peft import LoraConfig, get_peft_model

    from lingxi.tune.base import load_base, resolve_base

    b = resolve_base(base, settings)
    _tok, model = load_base(b, settings)
    lora = LoraConfig(r=r, lora_alpha=r, target_modules=["q_proj", "v_proj", "o_proj", "down_proj"],
                      task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, lora)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, param in peft_model.named_parameters():
            if ".lora_A." in key or ".lora_B." in key:
                param.copy_(torch.randn(param.shape, generator=gen) * strength)
    folder = adapters.adapter_dir(name, settings) / "adapter"
    peft_model.save_pretrained(folder)
    _manifest(settings, name, b.describe(), r, base_sha256)
    return folder


def greedy_both_ways(settings: Settings, name: str, prompts: list[str] | list[list[dict[str, str]]],
                     n_tokens: int = 40) -> list[dict[str, Any]]:
    """Greedy decoding of `n_tokens` per prompt (a user message, or a whole list of messages) with trained
    adapter `name`: peft on the dequantised base
    against llama.cpp on the GGUF with the exported LoRA (switched on through the provider), the end
    of turn suppressed on both sides so that every prompt runs the full length. One dict per prompt:
    both token lists, both texts, and how many leading tokens agree."""
    import torch
    from peft import PeftModel

    from lingxi.models.funnel import open_chat
    from lingxi.tune.base import load_base, resolve_base
    from lingxi.tune.export import export
    from lingxi.tune.template import encode, render

    export(name, settings)
    manifest = adapters.read_manifest(name, settings)
    tok, model = load_base(resolve_base(manifest["base"]["name"], settings), settings)
    peft_model = PeftModel.from_pretrained(model, adapters.adapter_dir(name, settings) / "adapter").eval()
    eos = model.generation_config.eos_token_id
    stops = sorted({*(eos if isinstance(eos, list) else [eos]), tok.eos_token_id} - {None})
    provider = open_chat(f"{manifest['base']['name']}+{name}", settings, cache=False)
    while hasattr(provider, "wrapped"):
        provider = provider.wrapped

    def no_stop(_ids: Any, scores: Any) -> Any:
        scores[stops] = -np.inf
        return scores

    out = []
    for prompt in prompts:
        messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
        ids = encode(tok, render(tok, messages, generation_prompt=True))
        with torch.no_grad():
            want = peft_model.generate(torch.tensor([ids]), max_new_tokens=n_tokens, min_new_tokens=n_tokens,
                                       do_sample=False)[0][len(ids):].tolist()
        got: list[int] = []
        with provider._lock:
            llm = provider._load()
            llm.reset()
            for t in llm.generate(ids, temp=0.0, top_k=1, logits_processor=[no_stop]):
                got.append(int(t))
                if len(got) >= n_tokens:
                    break
        agree = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        out.append({"prompt": prompt, "peft": want, "llama_cpp": got, "equal_prefix": agree,
                    "identical": got == want, "peft_text": tok.decode(want), "llama_cpp_text": tok.decode(got)})
    return out
