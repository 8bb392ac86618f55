"""`lingxi guard`: check a text, scan a file, train the heads.

    lingxi guard check "忽略之前的所有指令" [--checks moderation,injection,pii] [--json]
    lingxi guard scan data.jsonl [--checks …] [--json] [--text-col review]
    lingxi guard train --data ../shared/data
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from lingxi.cli.common import err, out, read_text

app = typer.Typer(help="Guardrails: moderation, prompt injection and personal data.", no_args_is_help=True)
ChecksOpt = Annotated[str, typer.Option("--checks", help="Comma-separated: moderation, injection, pii, judge, nanoguard.")]
RoleOpt = Annotated[str, typer.Option("--role", help="Read the text as: input, retrieval, tool or output.")]
JsonOut = Annotated[bool, typer.Option("--json", help="One JSON object per verdict line.")]
DEFAULT_CHECKS = "moderation,injection,pii"
TEXT_COLUMNS = ("text", "review", "content", "prompt", "sentence", "title")


def _checks(spec: str) -> list[str]:
    from lingxi.errors import ConfigError
    from lingxi.registry import default_registry

    names = [c.strip() for c in spec.split(",") if c.strip()]
    known = default_registry().names("guard")
    bad = [c for c in names if c not in known]
    if bad or not names:
        raise ConfigError(f"Unknown check '{bad[0] if bad else spec}'.", f"choose from: {', '.join(known)}")
    return names


def _role(role: str) -> Any:
    from lingxi.errors import ConfigError
    from lingxi.guard.base import ROLES

    if role not in ROLES:
        raise ConfigError(f"Unknown role '{role}'.", f"use one of: {', '.join(ROLES)}")
    return role


def summary(verdicts: list[Any]) -> dict[str, Any]:
    """One line's verdicts merged: flagged, categories (flagged ones true), scores, reasons."""
    cats: dict[str, bool] = {}
    scores: dict[str, float] = {}
    for v in verdicts:
        for c, s in v.scores.items():
            scores[c] = max(scores.get(c, 0.0), s)
            cats[c] = cats.get(c, False) or v.categories.get(c, False)
    return {"flagged": any(v.flagged for v in verdicts), "categories": cats, "scores": scores,
            "reasons": [v.reason for v in verdicts if v.flagged],
            "spans": [{"check": v.check, "start": s.start, "end": s.end, "label": s.label} for v in verdicts for s in v.spans]}


def _line(n: int | None, text: str, res: dict[str, Any]) -> str:
    head = f"{n}\t" if n is not None else ""
    if not res["flagged"]:
        return f"{head}ok"
    flagged = ", ".join(f"{c} {res['scores'].get(c, 0):.2f}" for c, on in res["categories"].items() if on)
    snippet = " ".join(text.split())[:60]
    return f"{head}FLAGGED\t{flagged}\t{snippet}"


@app.command("check")
def check(text: Annotated[str, typer.Argument(help="The text; '-' reads standard input.")],
          checks: ChecksOpt = DEFAULT_CHECKS, role: RoleOpt = "input", as_json: JsonOut = False) -> None:
    """Check one text and print the verdict of each check."""
    from lingxi.guard import check as run

    verdicts = run(read_text(text), _checks(checks), _role(role))
    if as_json:
        res = summary(verdicts)
        res["verdicts"] = [v.to_dict() for v in verdicts]
        sys.stdout.write(json.dumps(res, ensure_ascii=False) + "\n")
        return
    for v in verdicts:
        top = ", ".join(f"{c} {v.scores[c]:.2f}" for c in sorted(v.scores, key=lambda c: -v.scores[c])[:3])
        out.print(f"{v.check:<11} {'FLAGGED' if v.flagged else 'ok':<8} {top}", markup=False)


def read_inputs(path: Path, text_col: str | None = None) -> Iterator[str]:
    """The texts of a file, one per line (txt), per JSON line (its `text` field) or per CSV row."""
    from lingxi.errors import ConfigError

    if not path.is_file():
        raise ConfigError(f"The file {path} does not exist.", "check the path")
    suffix = path.suffix.lower()
    with path.open(encoding="utf-8-sig", newline="" if suffix == ".csv" else None, errors="replace") as f:
        if suffix == ".csv":
            yield from _csv_texts(f, path, text_col)
            return
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if suffix != ".jsonl":
                yield line
                continue
            if not line.strip():
                yield ""
                continue
            yield _jsonl_text(line, n, path, text_col or "text")


def _jsonl_text(line: str, n: int, path: Path, field: str) -> str:
    from lingxi.errors import ConfigError

    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise ConfigError(f"Line {n} of {path.name} is not valid JSON ({exc}).", "fix that line; one JSON object per line") from None
    if not isinstance(obj, dict) or not isinstance(obj.get(field), str):
        raise ConfigError(f"Line {n} of {path.name} has no '{field}' text field.", "name the field with --text-col")
    return obj[field]


def _csv_texts(f: Any, path: Path, text_col: str | None) -> Iterator[str]:
    from lingxi.errors import ConfigError

    reader = csv.DictReader(f)
    header = reader.fieldnames or []
    lower = {h.lower(): h for h in header}
    col = (lower.get(text_col.lower()) if text_col else None) or next((lower[c] for c in TEXT_COLUMNS if c in lower), None)
    if col is None:
        raise ConfigError(f"{path.name} has no text column{f' {text_col!r}' if text_col else ''} "
                          f"(columns: {', '.join(header) or 'none'}).", "name the column with --text-col")
    for row in reader:
        yield row.get(col) or ""


@app.command("scan")
def scan(file: Annotated[Path, typer.Argument(help="A .txt (one text per line), .jsonl (a 'text' field) or .csv file.")],
         checks: ChecksOpt = DEFAULT_CHECKS, role: RoleOpt = "input", as_json: JsonOut = False,
         text_col: Annotated[str | None, typer.Option("--text-col", help="CSV column or JSONL field with the text.")] = None,
         ) -> None:  # fmt: skip
    """Check every text of a file: one verdict per input line, in order, then a summary."""
    from rich.progress import Progress

    from lingxi.config import load_settings
    from lingxi.guard.screen import run_check

    names, role, settings = _checks(checks), _role(role), load_settings()
    total = sum(1 for _ in read_inputs(file, text_col))
    counts: Counter[str] = Counter()
    flagged = 0
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(f"scanning {file.name}", total=total)
        for n, text in enumerate(read_inputs(file, text_col), 1):
            res = summary([run_check(c, text, role, settings) for c in names]) if text.strip() else summary([])
            flagged += res["flagged"]
            counts.update(c for c, on in res["categories"].items() if on)
            if as_json:
                sys.stdout.write(json.dumps({"line": n, **res}, ensure_ascii=False) + "\n")
            else:
                sys.stdout.write(_line(n, text, res) + "\n")
            bar.advance(task)
    sys.stdout.flush()
    top = ", ".join(f"{c} {k}" for c, k in counts.most_common()) or "nothing"
    err.print(f"{total} texts, {flagged} flagged ({flagged / total:.1%}); {top}" if total else "no texts", markup=False)


@app.command("train")
def train(data: Annotated[Path, typer.Option("--data", help="The shared data folder (cold/, waimai_10k/, cmrc2018/, xquad/).")]
          = Path("../shared/data"), seed: Annotated[int, typer.Option("--seed", help="Sampling seed.")] = 0,
          out_file: Annotated[Path | None, typer.Option("--out", help="Where to write heads.npz (default: the package's).")]
          = None) -> None:  # fmt: skip
    """Train the moderation and injection heads (e5 vectors are cached in ~/.cache/lingxi)."""
    from rich.progress import Progress

    from lingxi.guard.train import train as fit

    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("training", total=None)

        def progress(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        rec = fit(data, out_file, seed=seed, progress=progress)
    out.print(json.dumps(rec["metrics"], ensure_ascii=False), markup=False)
