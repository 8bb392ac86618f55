"""Adapters as first-class models: ``$LINGXI_HOME/adapters/NAME`` holds one trained LoRA adapter.

    adapters/NAME/
        manifest.json    base model (name, path, SHA-256), data hash, method, hyper-parameters, metrics
        adapter/         the peft weights (adapter_config.json, adapter_model.safetensors)
        checkpoints/     the trainer's checkpoints while a run is unfinished (resumed by the same command)
        loss.png         the loss curve; report.md the run's summary
        adapter.gguf     the llama.cpp LoRA file, once exported (`lingxi tune export NAME`)
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from lingxi.config import Settings
from lingxi.errors import TuneError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def adapters_dir(settings: Settings) -> Path:
    return settings.home_dir / "adapters"


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise TuneError(f"'{name}' is not a usable adapter name.",
                        "use letters, digits, '.', '_' or '-' (no '+' or ':', which join adapters to a base)")
    return name


def adapter_dir(name: str, settings: Settings) -> Path:
    return adapters_dir(settings) / check_name(name)


def read_manifest(name: str, settings: Settings) -> dict[str, Any]:
    path = adapter_dir(name, settings) / "manifest.json"
    if not path.is_file():
        known = [a["name"] for a in list_adapters(settings)]
        raise TuneError(f"There is no adapter named '{name}'.",
                        f"adapters: {', '.join(known)}" if known else "train one with: lingxi tune sft --out NAME ...")
    try:
        return json.loads(path.read_text("utf-8"))
    except ValueError as exc:
        raise TuneError(f"The manifest of adapter '{name}' is damaged: {exc}.",
                        f"remove it with: lingxi adapters rm {name}") from exc


def write_manifest(name: str, manifest: dict[str, Any], settings: Settings) -> Path:
    folder = adapter_dir(name, settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "manifest.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), "utf-8")
    tmp.replace(path)
    return path


def list_adapters(settings: Settings) -> list[dict[str, Any]]:
    """One summary per adapter (name, method, base, status, validation loss, exported)."""
    out = []
    root = adapters_dir(settings)
    for folder in sorted(root.iterdir() if root.is_dir() else []):
        try:
            m = json.loads((folder / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            continue
        out.append({"name": folder.name, "method": m.get("method"), "base": m.get("base", {}).get("name"),
                    "base_sha256": m.get("base", {}).get("sha256"),
                    "status": m.get("status"), "steps": m.get("metrics", {}).get("steps"),
                    "validation_loss": m.get("metrics", {}).get("validation_loss"),
                    "exported": (folder / "adapter.gguf").is_file()})
    return out


def remove(name: str, settings: Settings) -> Path:
    folder = adapter_dir(name, settings)
    if not folder.exists():
        read_manifest(name, settings)  # raises the "no adapter" error with the known names
    shutil.rmtree(folder)
    return folder
