"""The base model a tuning run starts from, loaded as plain PyTorch through transformers.

A base is any local model name: an alias or path to a GGUF (dequantised to float32 by
transformers, chat template included) or a Hugging Face folder (``hf:/path``). Dequantising
a GGUF takes a minute or more on two busy cores, so the result is kept once per file (by its
SHA-256) under ``$LINGXI_HOME/cache/tune-bases/`` and later runs load that folder in seconds.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lingxi.config import Settings
from lingxi.errors import ConfigError, TuneError, missing_extra

_sha_cache: dict[tuple[str, float, int], str] = {}


@dataclass(frozen=True)
class Base:
    name: str  # what the user typed (an alias such as "smollm2", or a path)
    path: Path  # the GGUF file or the Hugging Face folder
    gguf: bool
    sha256: str

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "format": "gguf" if self.gguf else "hf",
                "sha256": self.sha256}


def resolve_base(name: str, settings: Settings) -> Base:
    """The local weights behind a model name; TuneError for models that cannot be tuned here."""
    from lingxi.models.files import resolve_path
    from lingxi.models.resolve import parse
    from lingxi.registry import default_registry

    if "+" in name:
        raise TuneError(f"'{name}' already has an adapter; tune a base model.",
                        f"use --model {name.split('+', 1)[0]} (an adapter is trained on its base)")
    try:
        spec = parse(name, settings, default_registry())
    except ConfigError as exc:
        raise TuneError(exc.message, exc.hint) from exc
    if spec.provider not in ("llamacpp", "hf") or not spec.path:
        raise TuneError(f"'{name}' is a {spec.provider} model; only local weights can be fine-tuned here.",
                        "use a GGUF (an alias such as smollm2, or a .gguf path) or hf:/path/to/folder")
    path = resolve_path(spec.path)
    if spec.gguf_file:
        path = path / spec.gguf_file
    gguf = path.is_file() and path.suffix == ".gguf"
    if not gguf and not (path / "config.json").is_file():
        raise TuneError(f"{path} is neither a GGUF file nor a Hugging Face model folder.",
                        "point --model at a .gguf file or a folder saved with save_pretrained")
    return Base(name=name, path=path, gguf=gguf, sha256=sha256_of(path))


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, or of a folder's weight and config files (memoised per path, mtime and size)."""
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file() and p.suffix in
                                                   (".json", ".safetensors", ".bin", ".model", ".jinja"))
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        key = (str(f), st.st_mtime, st.st_size)
        if key not in _sha_cache:
            fh = hashlib.sha256()
            with f.open("rb") as stream:
                while block := stream.read(1 << 22):
                    fh.update(block)
            _sha_cache[key] = fh.hexdigest()
        if path.is_file():
            return _sha_cache[key]
        h.update(f.name.encode() + b"\0" + _sha_cache[key].encode())
    return h.hexdigest()


def torch_modules() -> tuple[Any, Any, Any]:
    """torch, AutoModelForCausalLM, AutoTokenizer; a ConfigError naming the extra when they are missing."""
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise missing_extra("transformers", "tune") from exc
    return torch, AutoModelForCausalLM, AutoTokenizer


def hf_folder(base: Base, settings: Settings) -> Path:
    """A Hugging Face folder holding the base (for a GGUF: its dequantised copy, made once)."""
    if not base.gguf:
        return base.path
    folder = settings.home_dir / "cache" / "tune-bases" / base.sha256[:16]
    if (folder / "config.json").is_file():
        return folder
    torch, auto_model, auto_tok = torch_modules()
    kw = {"gguf_file": base.path.name, "local_files_only": True}
    try:
        tok = auto_tok.from_pretrained(base.path.parent, **kw)
        model = auto_model.from_pretrained(base.path.parent, dtype=torch.float32, **kw)
    except ImportError as exc:
        raise missing_extra("gguf", "tune") from exc
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise TuneError(f"transformers could not dequantise {base.path}: {exc}.",
                        "transformers supports llama, qwen2, gemma3 and a few more GGUF architectures") from exc
    # a GGUF-loaded model refuses save_pretrained while it still looks quantised
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.architectures = [type(model).__name__]
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.replace(folder)
    return folder


def load_base(base: Base, settings: Settings) -> tuple[Any, Any]:
    """(tokenizer, float32 model) of the base, ready for LoRA."""
    torch, auto_model, auto_tok = torch_modules()
    folder = hf_folder(base, settings)
    try:
        tok = auto_tok.from_pretrained(folder, local_files_only=True)
        model = auto_model.from_pretrained(folder, dtype=torch.float32, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise TuneError(f"transformers could not load {folder}: {exc}.",
                        "check the folder, or delete it from the cache to rebuild it") from exc
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if not tok.chat_template:
        raise TuneError(f"{base.name} has no chat template.", "tune an instruct model, or use `lingxi tune pretrain`")
    return tok, model


def load_tokenizer(base: Base, settings: Settings) -> Any:
    """The base's transformers tokenizer alone (from the dequantised cache when it exists, else the GGUF)."""
    _torch, _auto_model, auto_tok = torch_modules()
    folder = settings.home_dir / "cache" / "tune-bases" / base.sha256[:16]
    if not base.gguf:
        folder = base.path
    if (folder / "config.json").is_file():
        return auto_tok.from_pretrained(folder, local_files_only=True)
    return auto_tok.from_pretrained(base.path.parent, gguf_file=base.path.name, local_files_only=True)
