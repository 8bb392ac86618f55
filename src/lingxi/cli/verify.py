"""`lingxi verify`: fact-check sentences against passages, or a draft against a knowledge base.

    lingxi verify pairs.jsonl --json          # lines {"sentence", "passage"[, "question"]} -> one JSON line each, in order
    lingxi verify draft.md --kb docs          # each sentence with its best supporting (or contradicting) passage
    lingxi verify draft.md --kb docs --json   # the same, one JSON line per sentence
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from lingxi.cli.common import JsonOpt, err, out
from lingxi.errors import ConfigError

MARK = {"entailed": "✓", "contradicted": "✗", "not stated": "?"}


def verify_command(
    path: Annotated[Path, typer.Argument(help="A .jsonl file of {\"sentence\", \"passage\"} lines, or a draft (with --kb).",
                                         show_default=False)],
    kb: Annotated[str | None, typer.Option("--kb", help="Fact-check the draft against this knowledge base.",
                                           show_default=False)] = None,
    question: Annotated[str, typer.Option("--question", "-q", help="What the sentences answer (sharpens the check).")] = "",
    k: Annotated[int, typer.Option("--k", "-k", help="Passages searched per sentence (with --kb).")] = 4,
    as_json: JsonOpt = False,
) -> None:
    """Check that each sentence is entailed by its passage (rules + a learned entailment head)."""
    from lingxi.rag.claims import verify_claims, verify_pairs

    text = _read(path)
    if kb is None:
        checks = verify_pairs(_pairs(text, path), question=question)
    else:
        checks = verify_claims(text, kb, question=question, k=k)
    if as_json:
        for c in checks:
            out.print(json.dumps(c.model_dump(exclude_defaults=False), ensure_ascii=False), markup=False, soft_wrap=True)
        return
    for c in checks:
        _show(c)
    kept = sum(c.supported for c in checks)
    err.print(f"({kept} of {len(checks)} sentences supported)", markup=False, style="dim")


def _read(path: Path) -> str:
    if not path.is_file():
        raise ConfigError(f"The file '{path}' does not exist.", "pass a .jsonl file of pairs, or a draft with --kb NAME")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"The file '{path}' is not UTF-8 text.", "save it as UTF-8") from exc


def _pairs(text: str, path: Path) -> list[dict[str, Any]]:
    pairs = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"Line {n} of '{path}' is not JSON ({exc.msg}).",
                              'write one {"sentence": "...", "passage": "..."} per line, or pass --kb NAME to check a draft') from exc  # fmt: skip
        if not isinstance(item, dict):
            raise ConfigError(f"Line {n} of '{path}' is not a JSON object.", 'write {"sentence": "...", "passage": "..."}')
        pairs.append(item)
    if not pairs:
        raise ConfigError(f"'{path}' holds no pairs.", 'write one {"sentence": "...", "passage": "..."} per line')
    return pairs


def _show(c: Any) -> None:
    where = f"  ({Path(c.source).name}{f' p.{c.page}' if c.page else ''})" if c.source else ""
    out.print(f"{MARK.get(c.verdict, '?')} {c.verdict:<12} {c.check:<8} {c.score:.2f}  {c.sentence}", markup=False)
    if c.passage:
        out.print(f"    “{' '.join(c.passage.split())[:200]}”{where}", markup=False, style="dim")
