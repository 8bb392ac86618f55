"""A syllabus: learning objectives from a CSV (id, objective, grade, subject) or one per line."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from lingxi.errors import ConfigError


@dataclass
class Objective:
    id: str
    objective: str
    grade: str = ""
    subject: str = ""

    def to_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


_TEXT_COLS = ("objective", "目标", "text", "学习目标")
_ID_COLS = ("id", "编号", "code")


def read_syllabus(path: str | Path) -> list[Objective]:
    """Objectives from `path`: a CSV whose header names an `objective` column (and optionally id,
    grade, subject), else a text file with one objective per line (ids 1, 2, ...)."""
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Could not read the syllabus {p}: {exc}.", "give a UTF-8 CSV or text file") from exc
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip().lower() for h in rows[0]] if rows else []
    col = next((header.index(c) for c in _TEXT_COLS if c in header), None)
    if col is None:
        lines = [ln.strip().lstrip("-*•").strip() for ln in text.splitlines()]
        out = [Objective(str(i), ln) for i, ln in enumerate((ln for ln in lines if ln), start=1)]
    else:
        idc = next((header.index(c) for c in _ID_COLS if c in header), None)
        get = lambda r, name: r[header.index(name)].strip() if name in header and header.index(name) < len(r) else ""  # noqa: E731
        out = [Objective(r[idc].strip() if idc is not None and idc < len(r) and r[idc].strip() else str(i),
                         r[col].strip(), get(r, "grade"), get(r, "subject"))
               for i, r in enumerate(rows[1:], start=1) if col < len(r) and r[col].strip()]  # fmt: skip
    if not out:
        raise ConfigError(f"The syllabus {p} has no objectives.", "one objective per line, or a CSV with an objective column")
    ids = [o.id for o in out]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"The syllabus {p} repeats an objective id.", "give every objective its own id")
    return out
