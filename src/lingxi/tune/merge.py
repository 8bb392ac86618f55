"""A merged GGUF: the base model with a LoRA adapter folded into its weights, quantised by llama.cpp.

    path = merge("style", settings)                 # adapters/style/merged-q8_0.gguf
    path = merge("style", settings, quant="f16")    # any type llama.cpp's quantizer writes

It works from the two files llama.cpp itself loads for ``smollm2+style``: the base GGUF and the
adapter's LoRA GGUF (exported first when missing), so what is merged is exactly what is served.
Each adapted weight W becomes W + (alpha / r) * B @ A, written as F16; every other tensor and all
metadata (the chat template included) are copied unchanged; then ``llama_model_quantize`` (through
the bindings) writes the requested type. The merged file runs anywhere a GGUF runs (ollama,
llama.cpp's own tools) with no adapter support needed.

The default type is q8_0, measured (bench/results/tune_identity.md): a LoRA delta is small next to
a 4-bit block's step, so requantising W + delta to q4_1 rounds much of it away (on 6 held-out
prompts: none of base + LoRA's answers, 2 of the base's); q8_0 gave base + LoRA's answer on 4 of 6,
the most of any type.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Any

import numpy as np

from lingxi.config import Settings
from lingxi.errors import TuneError, missing_extra
from lingxi.tune import adapters

DEFAULT = "q8_0"
LOW_BIT = ("q5_k_m", "q5_1", "q5_0", "q4_k_m", "q4_1", "q4_0")  # measured to lose a small adapter (see above)
QUANTS = ("f16", "q8_0", "q6_k", "q5_k_m", "q5_1", "q5_0", "q4_k_m", "q4_1", "q4_0")
_FTYPE_NAMES = {"f16": "F16", "q8_0": "Q8_0", "q6_k": "Q6_K", "q5_k_m": "Q5_K_M", "q5_1": "Q5_1", "q5_0": "Q5_0",
                "q4_k_m": "Q4_K_M", "q4_1": "Q4_1", "q4_0": "Q4_0"}


def merge(name: str, settings: Settings, quant: str | None = None, threads: int | None = None) -> Path:
    """Write ``adapters/NAME/merged-QUANT.gguf`` (`quant`: q8_0 unless given)."""
    try:
        import gguf
        import llama_cpp
    except ImportError as exc:
        raise missing_extra(exc.name or "gguf", "tune") from exc
    from lingxi.models.adapted import gguf_path

    manifest = adapters.read_manifest(name, settings)
    base = Path(manifest["base"]["path"])
    if manifest["base"].get("format") != "gguf" or not base.is_file():
        raise TuneError(f"The base of '{name}' is not a GGUF file, so there is no GGUF to merge into.",
                        "train on a GGUF base (e.g. --model smollm2) to merge for llama.cpp")
    lora_path = gguf_path(name, settings)
    reader = gguf.GGUFReader(str(base))
    quant = (quant or DEFAULT).lower()
    if quant not in QUANTS:
        raise TuneError(f"'{quant}' is not a type lingxi merges to.", f"use --quant with one of: {', '.join(QUANTS)}")
    folder = adapters.adapter_dir(name, settings)
    out = folder / f"merged-{quant}.gguf"
    tmp = folder / "merged-f16.tmp.gguf"
    try:
        merged = _write_merged(reader, _deltas(gguf.GGUFReader(str(lora_path))), tmp)
        _quantize(llama_cpp, tmp, out.with_suffix(".tmp"), quant, threads)
        out.with_suffix(".tmp").replace(out)
    finally:
        tmp.unlink(missing_ok=True)
        out.with_suffix(".tmp").unlink(missing_ok=True)
    manifest["merged"] = {**manifest.get("merged", {}),
                          quant: {"path": str(out), "bytes": out.stat().st_size, "tensors_merged": merged}}
    adapters.write_manifest(name, manifest, settings)
    return out


def _deltas(lora: Any) -> dict[str, np.ndarray]:
    """{base tensor name: (alpha / r) * B @ A} from a llama.cpp LoRA GGUF."""
    field = lora.fields.get("adapter.lora.alpha")
    alpha = float(field.parts[field.data[0]][0]) if field is not None else 0.0
    parts: dict[str, dict[str, np.ndarray]] = {}
    for t in lora.tensors:
        target, _, ab = t.name.rpartition(".lora_")
        if ab not in ("a", "b"):
            raise TuneError(f"The LoRA file holds '{t.name}', which is not a LoRA tensor.", "export the adapter again")
        parts.setdefault(target, {})[ab] = np.asarray(t.data, dtype=np.float32)
    out = {}
    for target, ab in parts.items():
        a, b = ab["a"], ab["b"]
        r = a.shape[0]
        out[target] = (alpha / r if alpha else 1.0) * (b @ a)
    return out


def _write_merged(reader: Any, deltas: dict[str, np.ndarray], path: Path) -> int:
    """The base's metadata and tensors with the deltas added (F16 where merged, as they were elsewhere)."""
    import gguf
    from gguf.quants import dequantize

    arch = reader.fields["general.architecture"]
    writer = gguf.GGUFWriter(str(path), bytes(arch.parts[arch.data[0]]).decode(), endianess=reader.endianess)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), kind, sub_type=sub)
    tensors: list[tuple[Any, np.ndarray | None]] = []
    missing = set(deltas)
    for t in reader.tensors:
        if t.name in deltas:
            w = dequantize(t.data, t.tensor_type).astype(np.float32)
            d = deltas[t.name]
            if w.shape != d.shape:
                raise TuneError(f"The adapter's '{t.name}' is {d.shape}, the base's is {w.shape}.",
                                "the adapter was not made for this base: train or export it again")
            data = (w + d).astype(np.float16)
            missing.discard(t.name)
            writer.add_tensor_info(t.name, data.shape, data.dtype, data.nbytes, gguf.GGMLQuantizationType.F16)
            tensors.append((t, data))
        else:
            writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
            tensors.append((t, None))
    if missing:
        raise TuneError(f"The adapter changes {sorted(missing)[0]}, which the base does not have.",
                        "the adapter was not made for this base: train or export it again")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for t, data in tensors:
        writer.write_tensor_data(t.data if data is None else data, tensor_endianess=reader.endianess)
    writer.close()
    return len(deltas)


def _quantize(llama_cpp: Any, src: Path, dst: Path, quant: str, threads: int | None) -> None:
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{_FTYPE_NAMES[quant]}")
    params.allow_requantize = True  # the tensors the adapter left alone may be stored in another quantisation
    params.nthread = threads or os.cpu_count() or 1
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params))
    if rc != 0:
        raise TuneError(f"llama.cpp's quantizer failed on the merged model (code {rc}).",
                        "try another --quant (e.g. q8_0), or run with --debug for its log")
