"""A peft LoRA adapter as a llama.cpp LoRA GGUF, written with ``gguf.GGUFWriter``.

The file holds ``general.type = adapter``, ``adapter.type = lora``, ``adapter.lora.alpha`` and,
for each adapted weight, ``blk.N.<tensor>.weight.lora_a`` (r x in) and ``.lora_b`` (out x r) in
float32. llama.cpp stores the query and key projections of llama-family models with their rows
permuted for its rotary layout (transformers undoes that when it reads the GGUF), so lora_b of
``attn_q`` / ``attn_k`` gets the same permutation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from lingxi.config import Settings
from lingxi.errors import TuneError, missing_extra
from lingxi.models.adapted import SEP
from lingxi.tune import adapters

NAMES = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
         "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
         "mlp.down_proj": "ffn_down"}
_KEY = re.compile(r"(?:^|\.)layers\.(\d+)\.(.+)\.lora_([AB])\.weight$")
PERMUTED_ARCHS = {"llama"}  # architectures whose q/k rows llama.cpp permutes


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _gguf_arch(path: Path) -> dict[str, Any]:
    import gguf

    reader = gguf.GGUFReader(str(path))

    def field(name: str) -> Any:
        f = reader.fields.get(name)
        if f is None:
            return None
        part = f.parts[f.data[0]]
        return bytes(part).decode() if f.types[0] == gguf.GGUFValueType.STRING else part.tolist()[0]

    arch = field("general.architecture")
    return {"arch": arch, "n_head": field(f"{arch}.attention.head_count"),
            "n_head_kv": field(f"{arch}.attention.head_count_kv")}


def export(name: str, settings: Settings) -> Path:
    """Write ``adapters/NAME/adapter.gguf`` from the trained peft weights; returns its path."""
    try:
        import gguf
        from safetensors.numpy import load_file
    except ImportError as exc:
        raise missing_extra(exc.name or "gguf", "tune") from exc
    manifest = adapters.read_manifest(name, settings)
    folder = adapters.adapter_dir(name, settings)
    if manifest.get("status") != "trained" or not (folder / "adapter" / "adapter_model.safetensors").is_file():
        raise TuneError(f"The adapter '{name}' has not finished training.", "finish it by rerunning its tune command")
    base = Path(manifest["base"]["path"])
    if manifest["base"].get("format") == "hf":
        raise TuneError(
            f"The adapter '{name}' was trained on the Hugging Face folder {base}, not on a GGUF file; llama.cpp only "
            "applies an adapter to the GGUF it was trained on, so there is nothing to export. It is served through "
            f"the hf provider as it is: --model {manifest['base']['name']}{SEP}{name}",
            f"for llama.cpp, convert the folder to GGUF (python convert_hf_to_gguf.py {base} --outfile base.gguf, "
            "from llama.cpp), then train the adapter on that file: lingxi tune ... --model base.gguf")
    if manifest["base"].get("format") != "gguf" or not base.is_file():
        raise TuneError(f"The base of '{name}' is not a GGUF file, so llama.cpp cannot apply the adapter to it.",
                        "train on a GGUF base (e.g. --model smollm2) to export for llama.cpp")
    cfg = json.loads((folder / "adapter" / "adapter_config.json").read_text("utf-8"))
    info = _gguf_arch(base)
    tensors = load_file(str(folder / "adapter" / "adapter_model.safetensors"))
    writer_path = folder / "adapter.gguf"
    tmp = writer_path.with_suffix(".tmp")
    writer = gguf.GGUFWriter(str(tmp), info["arch"])
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(cfg["lora_alpha"]))
    writer.add_string("general.name", f"{name} (LoRA on {manifest['base']['name']})")
    count = 0
    for key in sorted(tensors):
        m = _KEY.search(key)
        if m is None:
            raise TuneError(f"The adapter '{name}' adapts '{key}', which llama.cpp adapters cannot hold.",
                            "train with the default target modules (the attention and MLP projections)")
        layer, module, ab = m.groups()
        if module not in NAMES:
            raise TuneError(f"The adapter '{name}' adapts '{module}', which the exporter does not map.",
                            "train with --target-modules among q_proj k_proj v_proj o_proj gate_proj up_proj down_proj")
        w = tensors[key].astype(np.float32)
        target = NAMES[module]
        if ab == "B" and info["arch"] in PERMUTED_ARCHS and target in ("attn_q", "attn_k"):
            heads = info["n_head"] if target == "attn_q" else (info["n_head_kv"] or info["n_head"])
            w = _permute(w, heads)
        writer.add_tensor(f"blk.{layer}.{target}.weight.lora_{ab.lower()}", np.ascontiguousarray(w))
        count += 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(writer_path)
    manifest["gguf"] = {"path": str(writer_path), "tensors": count, "bytes": writer_path.stat().st_size}
    adapters.write_manifest(name, manifest, settings)
    return writer_path
