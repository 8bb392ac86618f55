"""Reading labelled text files: CSV with a header (text/review/title column, optional label column),
or TSV/TXT lines of ``text<TAB>label`` without a header (the THUCNews layout; a sibling
``class.txt`` turns numeric labels into names)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from lingxi.errors import ConfigError

TEXT_COLUMNS = ("text", "review", "title", "content", "sentence")


@dataclass
class Labelled:
    texts: list[str]
    labels: list[str] | None
    text_col: str
    source: str


def read_texts(path: str | Path, text_col: str | None = None, label_col: str = "label",
               limit: int | None = None) -> Labelled:
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"The file {path} does not exist.", "check the path")
    if path.suffix in (".tsv", ".txt"):
        return _read_tsv(path, limit)
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        col = text_col or next((c for c in TEXT_COLUMNS if c in header), None)
        if col is None or col not in header:
            raise ConfigError(f"{path.name} has no text column{f' {text_col!r}' if text_col else ''} "
                              f"(columns: {', '.join(header) or 'none'}).",
                              "name the column with --text-col, e.g. --text-col review")
        texts, labels = [], []
        for row in reader:
            if limit is not None and len(texts) >= limit:
                break
            texts.append((row.get(col) or "").strip())
            labels.append((row.get(label_col) or "").strip())
    has_labels = label_col in header and all(labels)
    return Labelled(texts, labels if has_labels else None, col, str(path))


def _read_tsv(path: Path, limit: int | None) -> Labelled:
    texts, labels = [], []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        if limit is not None and len(texts) >= limit:
            break
        text, sep, label = line.rpartition("\t")
        if not sep:
            raise ConfigError(f"Line {n} of {path.name} has no tab between text and label.",
                              "write one 'text<TAB>label' per line, or use a CSV with a header")
        texts.append(text.strip())
        labels.append(label.strip())
    names_file = path.with_name("class.txt")
    if names_file.is_file() and all(x.isdigit() for x in labels):
        names = [n.strip() for n in names_file.read_text(encoding="utf-8").splitlines() if n.strip()]
        if all(int(x) < len(names) for x in labels):
            labels = [names[int(x)] for x in labels]
    return Labelled(texts, labels, "text", str(path))
