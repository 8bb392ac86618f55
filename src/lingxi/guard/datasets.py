"""The public data sets the guard is trained and measured on (read from a data folder such as
``../shared/data``), the project's own hand-written seeds, and one fixed split rule.

Training may use only COLD train, the seeds' "train" part and the "A" half of the benign sets;
bench/guard.py measures on COLD dev, the seeds' "test" part, the "B" half and giskard.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from lingxi.errors import ConfigError

CATEGORIES = ("hate", "sexual", "violence", "self_harm", "illegal")


@dataclass
class Labelled:
    texts: list[str]
    labels: list[int]


def seeds() -> dict[str, Any]:
    return json.loads(resources.files("lingxi.guard").joinpath("data/seeds.json").read_text("utf-8"))


def half(text: str) -> str:
    """'A' (may be trained on) or 'B' (measured on only), fixed by the text's hash."""
    return "A" if hashlib.sha1(text.encode("utf-8")).digest()[0] % 2 == 0 else "B"


def folder(data: str | Path, name: str) -> Path:
    path = Path(data).expanduser() / name
    if not path.is_dir():
        raise ConfigError(f"The data set folder {path} does not exist.",
                          "pass --data pointing at the shared data folder (the one holding cold/, waimai_10k/, ...)")
    return path


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cold(data: str | Path, split: str) -> Labelled:
    """COLD (Chinese offensive language): label 1 offensive (hate/harassment), 0 safe."""
    path = folder(data, "cold") / f"{split}.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("TEXT")]
    return Labelled([r["TEXT"] for r in rows], [int(r["label"]) for r in rows])


def waimai(data: str | Path) -> Labelled:
    """Food-delivery reviews: label 1 positive, 0 negative (harsh opinions, not offensive)."""
    path = folder(data, "waimai_10k") / "waimai_10k.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("review")]
    return Labelled([r["review"] for r in rows], [int(r["label"]) for r in rows])


def questions(data: str | Path, which: str) -> list[str]:
    """Benign questions: 'cmrc' (Chinese), 'xquad-zh' or 'xquad-en'."""
    if which == "cmrc":
        path = folder(data, "cmrc2018") / "cmrc2018_trial.json"
    else:
        path = folder(data, "xquad") / f"xquad.{which.split('-')[1]}.json"
    doc = json.loads(path.read_text("utf-8"))
    return [qa["question"] for art in doc["data"] for p in art["paragraphs"] for qa in p["qas"]]


def giskard(data: str | Path) -> list[str]:
    path = folder(data, "giskard_prompt_injections") / "prompt_injections.csv"
    with path.open(encoding="utf-8", newline="") as f:
        return [r["prompt"] for r in csv.DictReader(f) if r.get("prompt")]


def sources(data: str | Path) -> dict[str, Path]:
    """The files training reads (their hashes go into the head's record)."""
    d = Path(data).expanduser()
    return {"cold/train.csv": d / "cold" / "train.csv", "waimai_10k/waimai_10k.csv": d / "waimai_10k" / "waimai_10k.csv",
            "cmrc2018/cmrc2018_trial.json": d / "cmrc2018" / "cmrc2018_trial.json",
            "xquad/xquad.en.json": d / "xquad" / "xquad.en.json"}
