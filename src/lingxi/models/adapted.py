"""Model names with LoRA adapters: ``BASE+ADAPTER`` and ``BASE+A:0.5+B:0.5`` (a mix, with scales).

    smollm2+tutor            the base smollm2 with the adapter trained as `lingxi tune ... --out tutor`
    smollm2+tutor:0.5+style  two adapters applied together, tutor at half strength
    hf:/models/tiny+tutor    a Hugging Face folder with the adapter trained on it (`--model hf:/models/tiny`)

The adapters live in ``$LINGXI_HOME/adapters/NAME`` (`lingxi.tune.adapters`). Each manifest names
the base it was trained on and that file's (or folder's) SHA-256: an adapter is refused on any other
base. Two providers take adapters. llama.cpp applies the exported LoRA GGUF (``adapters/NAME/adapter.gguf``);
an adapter that has not been exported yet is exported on first use when the ``tune`` extra is installed.
The hf provider applies the peft weights (``adapters/NAME/adapter``) to the same base loaded through
transformers: a Hugging Face folder, or a GGUF dequantised (`lingxi.models.hf_bases`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from lingxi.config import ModelSpec, Settings
from lingxi.errors import ConfigError, ModelError, TuneError

SEP = "+"
MAX_SCALE = 4.0
PROVIDERS = ("llamacpp", "hf")  # the providers that apply adapters; other PROVIDER:TARGET names keep their '+'


def split(name: str) -> tuple[str, dict[str, float]]:
    """('BASE', {ADAPTER: scale, ...}) from 'BASE+ADAPTER[:SCALE]+...'; ConfigError for bad input."""
    from lingxi.tune.adapters import NAME_RE

    base, *parts = name.split(SEP)
    usage = "write BASE+ADAPTER or BASE+A:0.5+B:0.5 (e.g. smollm2+tutor)"
    if not base or not parts:
        raise ConfigError(f"'{name}' names no base model before '+'.", usage)
    out: dict[str, float] = {}
    for part in parts:
        adapter, sep, raw = part.partition(":")
        if not NAME_RE.match(adapter):
            raise ConfigError(f"'{part}' in '{name}' is not an adapter name.",
                              f"{usage}; adapter names use letters, digits, '.', '_' or '-'")
        scale = 1.0
        if sep:
            try:
                scale = float(raw)
            except ValueError:
                scale = math.nan
            if not math.isfinite(scale) or abs(scale) > MAX_SCALE or scale == 0:
                raise ConfigError(f"The scale '{raw}' of adapter '{adapter}' in '{name}' is not usable.",
                                  f"give a number between -{MAX_SCALE:g} and {MAX_SCALE:g}, not 0 (e.g. {adapter}:0.5)")
        if adapter in out:
            raise ConfigError(f"The adapter '{adapter}' appears twice in '{name}'.", "name each adapter once")
        out[adapter] = scale
    return base, out


def is_adapted(name: str) -> bool:
    """True for 'BASE+ADAPTER...'; a PROVIDER:TARGET name for a provider that applies no adapters keeps its
    '+' (a scripted reply, a remote model's own name)."""
    if SEP not in name or name.startswith(("http://", "https://")):
        return False
    provider, sep, _ = name.split(SEP, 1)[0].partition(":")
    return not (sep and provider.isidentifier() and provider not in PROVIDERS)


def attach(base: ModelSpec, base_name: str, adapters: dict[str, float], settings: Settings) -> ModelSpec:
    """The base spec with the adapters added, after checking each was trained on this very base."""
    if base.provider not in PROVIDERS or not base.path:
        raise ModelError(f"The model '{base_name}' is a {base.provider} model; LoRA adapters are applied by llama.cpp "
                         "to a local GGUF and by the hf provider to a local Hugging Face folder.",
                         "use a GGUF base (an alias such as smollm2, or a .gguf path) or hf:/path/to/folder")
    for adapter in adapters:
        check_base(adapter, base, base_name, settings)
    return base.model_copy(update={"adapters": {**base.adapters, **adapters}})


def _manifest(adapter: str, settings: Settings) -> dict:
    from lingxi.tune.adapters import read_manifest

    try:
        return read_manifest(adapter, settings)
    except TuneError as exc:
        raise ConfigError(exc.message, exc.hint) from exc


def check_base(adapter: str, base: ModelSpec, base_name: str, settings: Settings) -> None:
    """ModelError unless the adapter's manifest names this base's file or folder (by SHA-256)."""
    from lingxi.models.files import resolve_path
    from lingxi.tune.base import sha256_of

    manifest = _manifest(adapter, settings)
    trained = manifest.get("base") or {}
    path = resolve_path(base.path or "")
    sha = sha256_of(path / base.gguf_file if base.gguf_file else path)
    if trained.get("sha256") != sha:
        was = trained.get("name", "?")
        hint = (f"the file behind '{base_name}' is not the one the adapter was trained on: retrain it with "
                f"lingxi tune {manifest.get('method', 'sft')} --model {base_name} --out {adapter} ..."
                if was == base_name else f"use {was}{SEP}{adapter}, or train an adapter on {base_name}")
        raise ModelError(
            f"The adapter '{adapter}' was trained on '{was}' (SHA-256 {str(trained.get('sha256', '?'))[:12]}…), "
            f"not on '{base_name}' (SHA-256 {sha[:12]}…); an adapter only works on the exact base it was trained on.",
            hint)


def gguf_path(adapter: str, settings: Settings) -> Path:
    """The adapter's llama.cpp LoRA file, exported now if it is missing or older than the weights."""
    from lingxi.tune.adapters import adapter_dir

    folder = adapter_dir(adapter, settings)
    path = folder / "adapter.gguf"
    weights = folder / "adapter" / "adapter_model.safetensors"
    if path.is_file() and (not weights.is_file() or path.stat().st_mtime >= weights.stat().st_mtime):
        return path
    _manifest(adapter, settings)  # "no adapter named ..." with the known names
    try:
        from lingxi.tune.export import export

        return export(adapter, settings)
    except ConfigError as exc:  # the tune extra (gguf, safetensors) is not installed
        raise ModelError(f"The adapter '{adapter}' has no llama.cpp file yet and cannot be exported here: {exc.message}",
                         f"export it where lingxi[tune] is installed: lingxi tune export {adapter}") from exc
    except TuneError as exc:
        raise ModelError(f"The adapter '{adapter}' cannot be used yet: {exc.message}",
                         f"{exc.hint}; then: lingxi tune export {adapter}") from exc


def peft_folder(adapter: str, settings: Settings) -> Path:
    """The adapter's peft weights (what the hf provider applies); ModelError while there are none."""
    from lingxi.tune.adapters import adapter_dir

    _manifest(adapter, settings)  # "no adapter named ..." with the known names
    folder = adapter_dir(adapter, settings) / "adapter"
    if not (folder / "adapter_config.json").is_file():
        raise ModelError(f"The adapter '{adapter}' has no peft weights ({folder} holds no adapter_config.json), "
                         "so the hf provider cannot apply it.",
                         "finish training it: rerun its lingxi tune command")
    return folder


def loras(spec: ModelSpec, settings: Settings | None, file_of: Callable[[str, Settings], Path]) -> list[tuple[str, float]]:
    """(file, scale) of each adapter of `spec`, each checked against the base first; `file_of` is
    gguf_path (llama.cpp) or peft_folder (hf)."""
    if not spec.adapters:
        return []
    from lingxi.config import load_settings

    settings = settings or load_settings()
    out = []
    for adapter, scale in spec.adapters.items():
        check_base(adapter, spec, spec.model or spec.path or "", settings)
        out.append((str(file_of(adapter, settings)), scale))
    return out
