"""Tiny LoRA adapters built directly (no training) for the multi-LoRA tests and benchmark.

    make_adapter(settings, "a", seed=1)   # adapters/a/{manifest.json, adapter.gguf} on the default base

The adapter is a real llama.cpp LoRA GGUF (random rank-`r` A and B on the attention output and
MLP down projections of every layer) with a manifest naming the base file and its SHA-256,
exactly as `lingxi tune ... --out NAME` then `lingxi tune export NAME` leave it; different seeds
give adapters whose greedy answers differ from the base's and from each other's.
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
    described = b.describe()
    if base_sha256:
        described["sha256"] = base_sha256
    manifest: dict[str, Any] = {"name": name, "method": "sft", "status": "trained", "base": described,
                                "hyper": {"r": r, "alpha": r}, "metrics": {"steps": 0},
                                "gguf": {"path": str(path)}, "note": "built directly by lingxi.testing.lora"}
    adapters.write_manifest(name, manifest, settings)
    return path
