"""Training data: one reader for every tuning method, with errors that name the bad line.

    read_examples("chat.jsonl", "sft")      # [{"messages": [...]}, ...]
    read_examples("prefs.jsonl", "dpo")     # [{"prompt": [...], "chosen": "...", "rejected": "..."}, ...]
    read_examples("ratings.jsonl", "kto")   # [{"prompt": [...], "completion": "...", "label": True}, ...]
    read_examples("notes/", "pretrain")     # [{"text": "..."}, ...]  (txt/md/... through the KB loaders)

Accepted records (JSON Lines, or one JSON array):

- SFT: ``{"messages": [{"role", "content"}, ...]}`` (OpenAI chat, the last turn the assistant's),
  ``{"prompt", "completion"}`` (optional ``system``) or alpaca ``{"instruction", "input", "output"}``;
- DPO: ``{"prompt", "chosen", "rejected"}`` where prompt is a string or a list of messages;
- KTO: ``{"prompt", "completion", "label"}`` with label true/false (or 1/0, "up"/"down");
- pretrain: plain text files or folders, or JSON Lines with ``{"text"}``.

Every example is normalised to messages, so the model's own chat template is applied in one
place (`lingxi.tune.template`) for training, export and serving alike.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lingxi.errors import TuneError

METHODS = ("sft", "dpo", "kto", "pretrain")
ROLES = ("system", "user", "assistant")
_LABELS = {True: True, False: False, 1: True, 0: False, "true": True, "false": False, "up": True, "down": False,
           "1": True, "0": False, "+1": True, "-1": False, -1: False}


def read_examples(path: str | Path, method: str) -> list[dict[str, Any]]:
    """The examples in `path` for a tuning method, normalised; a bad record raises TuneError naming its line."""
    if method not in METHODS:
        raise TuneError(f"Unknown tuning method '{method}'.", f"use one of: {', '.join(METHODS)}")
    path = Path(path).expanduser()
    if not path.exists():
        raise TuneError(f"The data file '{path}' does not exist.", "check the path given to --data")
    if method == "pretrain":
        return _raw_text(path)
    if path.is_dir():
        raise TuneError(f"'{path}' is a folder; {method} data is one JSON Lines file.",
                        "point --data at a .jsonl file (folders of text are for `lingxi tune pretrain`)")
    out = [normalise(rec, method, f"{path.name} line {line}") for line, rec in records(path)]
    if not out:
        raise TuneError(f"'{path}' holds no examples.", "add at least one JSON record per line")
    return out


def records(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed record) for a JSON Lines file or a JSON array (line numbers then count items)."""
    text = _read(path)
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TuneError(f"{path.name} line {exc.lineno}: not valid JSON ({exc.msg}).", "fix the JSON syntax") from exc
        yield from enumerate(data, start=1)
        return
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as exc:
            raise TuneError(f"{path.name} line {n}: not valid JSON ({exc.msg} at column {exc.colno}).",
                            "each line must be one JSON object") from exc


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise TuneError(f"'{path}' is not UTF-8 text.", "save it as UTF-8") from exc


def normalise(rec: Any, method: str, where: str) -> dict[str, Any]:
    """One record in its method's normal form; `where` ("file line N") starts every error."""
    if not isinstance(rec, dict):
        raise TuneError(f"{where}: expected a JSON object, got {type(rec).__name__}.", _shape_hint(method))
    if method == "sft":
        return {"messages": _sft_messages(rec, where)}
    if method == "pretrain":
        return {"text": _text(rec, "text", where, method)}
    prompt = _prompt(rec, where, method)
    if method == "dpo":
        return {"prompt": prompt, "chosen": _text(rec, "chosen", where, method),
                "rejected": _text(rec, "rejected", where, method)}
    label = rec.get("label")
    key = label.lower() if isinstance(label, str) else label
    if isinstance(key, float) or key not in _LABELS:
        raise TuneError(f"{where}: 'label' must be true or false (got {json.dumps(label)}).", _shape_hint(method))
    return {"prompt": prompt, "completion": _text(rec, "completion", where, method), "label": _LABELS[key]}


def _shape_hint(method: str) -> str:
    return {
        "sft": 'an SFT line is {"messages": [...]}, {"prompt": ..., "completion": ...} or {"instruction", "input", "output"}',
        "dpo": 'a DPO line is {"prompt": ..., "chosen": ..., "rejected": ...}',
        "kto": 'a KTO line is {"prompt": ..., "completion": ..., "label": true|false}',
        "pretrain": 'a pretrain line is {"text": ...}',
    }[method]


def _text(rec: dict[str, Any], key: str, where: str, method: str) -> str:
    value = rec.get(key)
    if value is None:
        raise TuneError(f"{where}: '{key}' is missing.", _shape_hint(method))
    if not isinstance(value, str) or not value.strip():
        raise TuneError(f"{where}: '{key}' must be a non-empty string.", _shape_hint(method))
    return value


def _messages(value: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise TuneError(f"{where}: 'messages' must be a non-empty list of {{role, content}} objects.",
                        'e.g. [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]')
    out = []
    for i, m in enumerate(value, start=1):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise TuneError(f"{where}: message {i} needs a role ({', '.join(ROLES)}) and a string content.",
                            'e.g. {"role": "user", "content": "Hi"}')
        out.append({"role": m["role"], "content": m["content"]})
    return out


def _sft_messages(rec: dict[str, Any], where: str) -> list[dict[str, str]]:
    if "messages" in rec:
        msgs = _messages(rec["messages"], where)
        if msgs[-1]["role"] != "assistant" or not msgs[-1]["content"].strip():
            raise TuneError(f"{where}: the last message must be the assistant's answer (it is what is learned).",
                            "end each conversation with a non-empty assistant message")
        return msgs
    if "instruction" in rec:  # alpaca
        instruction = _text(rec, "instruction", where, "sft")
        extra = rec.get("input") or ""
        user = f"{instruction}\n\n{extra}" if isinstance(extra, str) and extra.strip() else instruction
        return [*_system(rec, where), {"role": "user", "content": user},
                {"role": "assistant", "content": _text(rec, "output", where, "sft")}]
    if "prompt" in rec or "completion" in rec:
        prompt = _prompt(rec, where, "sft")
        return [*_system(rec, where), *prompt, {"role": "assistant", "content": _text(rec, "completion", where, "sft")}]
    raise TuneError(f"{where}: no 'messages', 'prompt'/'completion' or 'instruction'/'output' fields "
                    f"(found: {', '.join(sorted(rec)) or 'none'}).", _shape_hint("sft"))


def _system(rec: dict[str, Any], where: str) -> list[dict[str, str]]:
    system = rec.get("system")
    if system is None:
        return []
    if not isinstance(system, str):
        raise TuneError(f"{where}: 'system' must be a string.", "give the system prompt as text")
    return [{"role": "system", "content": system}]


def _prompt(rec: dict[str, Any], where: str, method: str) -> list[dict[str, str]]:
    value = rec.get("prompt")
    if value is None:
        raise TuneError(f"{where}: 'prompt' is missing.", _shape_hint(method))
    if isinstance(value, list):
        msgs = _messages(value, where)
        if msgs[-1]["role"] == "assistant":
            raise TuneError(f"{where}: the prompt must end with a user message.", "move the answer to its own field")
        return msgs
    if not isinstance(value, str) or not value.strip():
        raise TuneError(f"{where}: 'prompt' must be a non-empty string or a list of messages.", _shape_hint(method))
    return [{"role": "user", "content": value}]


def _raw_text(path: Path) -> list[dict[str, Any]]:
    if path.is_file() and path.suffix.lower() in (".jsonl", ".json"):
        out = [normalise(rec, "pretrain", f"{path.name} line {line}") for line, rec in records(path)]
    else:
        from lingxi.knowledge.loaders import load_file, walk
        from lingxi.errors import LingxiError

        out = []
        for file in walk(path):
            try:
                docs = load_file(file)
            except LingxiError as exc:
                raise TuneError(f"{file}: {exc.message}", exc.hint) from exc
            out.extend({"text": d.text} for d in docs if d.text.strip())
    if not out:
        raise TuneError(f"'{path}' holds no text to train on.", "point --data at .txt/.md files or a .jsonl of {\"text\"}")
    return out


def split(examples: list[dict[str, Any]], validation: float = 0.1, seed: int = 0,
          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, validation): a seeded shuffle; at least one validation example when there are 4 or more."""
    if not 0 <= validation < 1:
        raise TuneError(f"The validation share must be in [0, 1), got {validation}.", "e.g. --validation 0.1")
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_val = round(len(examples) * validation)
    if validation > 0 and n_val == 0 and len(examples) >= 4:
        n_val = 1
    val = sorted(order[:n_val])
    keep = sorted(order[n_val:])
    return [examples[i] for i in keep], [examples[i] for i in val]


def data_hash(path: str | Path) -> str:
    """SHA-256 over a file, or over a folder's files (relative names and bytes, sorted)."""
    path = Path(path).expanduser()
    h = hashlib.sha256()
    files: Iterable[Path] = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            h.update(str(f.relative_to(path)).encode() + b"\0")
        with f.open("rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    return h.hexdigest()
