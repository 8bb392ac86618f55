"""The data flywheel: thumbs up/down and corrected answers saved by the server become training data.

    rows = read_feedback(settings, since=parse_when("2026-12-01"))
    records, info = build(rows, "dpo")          # [{"prompt": [...], "chosen": ..., "rejected": ...}, ...]

The page and ``POST /api/feedback`` save one row per rating in the home database's ``feedback``
table: the conversation sent to the model (``messages``), the ``answer`` rated, the ``rating``
(+1 / -1), an optional ``comment`` and an optional ``correction``: the user's corrected answer
(a comment that starts with ``correction:``, ``corrected:``, ``更正：`` or ``正确答案：`` counts as
one too); it counts as a good answer to the same messages.

- SFT: every answer rated up, and every correction, as ``{"messages": [..., assistant]}``;
- DPO: for messages that have both a good answer (up or corrected) and one rated down, every
  (good, down) pair as ``{"prompt", "chosen", "rejected"}`` (a correction is the first chosen);
- KTO: every rated answer as ``{"prompt", "completion", "label"}`` (label from the thumb; a
  correction is true): KTO needs no pairs, so it also uses the ratings DPO cannot pair.

The same answer rated more than once counts once, by the sum of its ratings (a tie drops it).
Personal data is redacted (`lingxi.guard.pii`, and credentials with `lingxi.redact`) unless the
caller opts out. Every record is checked with `lingxi.tune.data.normalise`, so what is written
reads back with `read_examples`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lingxi.errors import TuneError
from lingxi.tune.data import normalise

FORMATS = ("sft", "dpo", "kto")
_CORRECTION = re.compile(r"^\s*(?:correct(?:ion|ed)(?: answer)?|fix|更正|纠正|正确答案|正确回答)\s*[:：]\s*", re.I)
_RELATIVE = re.compile(r"^(\d+)\s*([hdw])$", re.I)
COLLECT_HINT = ("rate answers with the thumbs on the page `lingxi serve` shows, or POST /api/feedback "
                '{"model", "messages", "answer", "rating": 1|-1, "comment": "correction: ..."}')


@dataclass
class Feedback:
    """One saved rating: the conversation sent to the model, the answer, the thumb, the comment."""

    id: int
    ts: float
    model: str
    messages: list[dict[str, Any]]
    answer: str
    rating: int
    comment: str | None = None
    corrected: str | None = None  # the API's `correction` field

    @property
    def correction(self) -> str | None:
        """The corrected answer: the API's `correction` field, else what a comment ``correction: ...`` carries."""
        if self.corrected and self.corrected.strip():
            return self.corrected.strip()
        if not self.comment:
            return None
        m = _CORRECTION.match(self.comment)
        return self.comment[m.end():].strip() or None if m else None


@dataclass
class Built:
    """What `build` made and what it left out, for the summary the CLI prints."""

    format: str
    rows: int
    records: int
    prompts: int
    skipped: dict[str, int] = field(default_factory=dict)
    redacted: bool = True

    def skip(self, why: str, n: int = 1) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + n


def parse_when(text: str | None, *, now: float | None = None) -> float | None:
    """A time for --since/--until: an ISO date or datetime (UTC unless it says), or '7d', '12h', '2w' ago."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if m := _RELATIVE.match(text):
        unit = {"h": 3600, "d": 86400, "w": 7 * 86400}[m[2].lower()]
        return (time.time() if now is None else now) - int(m[1]) * unit
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise TuneError(f"'{text}' is not a date.", "use a date like 2026-12-01, a time like 2026-12-01T08:00, "
                        "or a span back from now like 7d, 12h, 2w") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def read_feedback(settings: Any, since: float | None = None, until: float | None = None,
                  model: str | None = None) -> list[Feedback]:
    """The feedback rows saved in [since, until) (optionally for one model), oldest first;
    TuneError saying how to collect feedback when there are none."""
    from contextlib import closing

    from lingxi import db

    where, args = ["ts >= ?", "ts < ?"], [since if since is not None else 0.0, until if until is not None else 1e18]
    with closing(db.connect(settings)) as conn:
        rows = conn.execute("SELECT id, ts, model, messages, answer, rating, comment, correction FROM feedback WHERE "
                            + " AND ".join(where) + " ORDER BY ts, id", tuple(args)).fetchall()
        total = conn.execute("SELECT COUNT(*), MIN(ts), MAX(ts) FROM feedback").fetchone()
    out = []
    for r in rows:
        try:
            messages = json.loads(r["messages"])
        except (TypeError, ValueError):
            messages = None
        if model is None or _bare(r["model"]) == model or r["model"] == model:
            out.append(Feedback(int(r["id"]), float(r["ts"]), r["model"], messages if isinstance(messages, list) else [],
                                r["answer"] or "", int(r["rating"]), r["comment"], r["correction"]))
    if not out:
        span = f" since {_day(since)}" if since is not None else ""
        span += f" before {_day(until)}" if until is not None else ""
        span += f" for the model '{model}'" if model else ""
        held = (f"; the database holds {total[0]} in all, from {_day(total[1])} to {_day(total[2])}"
                if total and total[0] else "; the database holds none yet")
        raise TuneError(f"No feedback was saved{span}{held}.",
                        COLLECT_HINT if not (total and total[0]) else "widen --since/--until or drop --model; " + COLLECT_HINT)
    return out


def _bare(model: str) -> str:
    """'kb:docs@smollm2' -> 'smollm2' (the model a knowledge-base answer came from)."""
    return model.split("@", 1)[1] if model.startswith("kb:") and "@" in model else model


def _prompt(messages: list[dict[str, Any]]) -> list[dict[str, str]] | None:
    """The conversation as plain {role, content} text turns ending with the user's, else None."""
    out = []
    for m in messages:
        if not isinstance(m, dict):
            return None
        content = m.get("content")
        if isinstance(content, list):  # OpenAI content parts: keep the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        role = m.get("role")
        if role == "developer":
            role = "system"
        if role not in ("system", "user", "assistant") or not isinstance(content, str):
            return None
        out.append({"role": role, "content": content})
    return out if out and out[-1]["role"] == "user" and out[-1]["content"].strip() else None


def scrubber(redact: bool) -> Callable[[str], str]:
    """The text filter applied to every message and answer: PII and credentials out, or nothing.

    Personal data is what `lingxi.guard.pii` finds (names, phones, e-mails, ID and card numbers,
    accounts, addresses), hidden as [KIND]; place names alone are kept (`guard.pii.place_name`)."""
    if not redact:
        return lambda s: s
    from lingxi.errors import ConfigError
    from lingxi.guard.pii import PII, hide
    from lingxi.redact import redact as secrets

    finder = PII()

    def pii(text: str) -> str:
        spans = finder.spans(text)
        return hide(text, spans, "redact")[0] if spans else text

    try:
        pii("probe: call 13812345678")
    except ConfigError as exc:
        raise TuneError(f"Personal data cannot be redacted here: {exc.message}",
                        f"{exc.hint}, or pass --no-redact to write the feedback as saved") from exc
    cache: dict[str, str] = {}

    def clean(text: str) -> str:
        if text not in cache:
            cache[text] = secrets(pii(text)) if text.strip() else text
        return cache[text]

    return clean


@dataclass
class _Group:
    prompt: list[dict[str, str]]
    good: dict[str, int] = field(default_factory=dict)  # answer -> net rating (sum of its thumbs)
    bad: dict[str, int] = field(default_factory=dict)
    corrections: list[str] = field(default_factory=list)


def _groups(rows: Iterable[Feedback], clean: Callable[[str], str], info: Built) -> list[_Group]:
    groups: dict[str, _Group] = {}
    net: dict[tuple[str, str], int] = {}
    for fb in rows:
        prompt = _prompt(fb.messages)
        if prompt is None:
            info.skip("messages not a text conversation ending with the user's turn")
            continue
        prompt = [{**m, "content": clean(m["content"])} for m in prompt]
        key = json.dumps(prompt, ensure_ascii=False, sort_keys=True)
        g = groups.setdefault(key, _Group(prompt))
        if fb.answer.strip():
            net[(key, clean(fb.answer))] = net.get((key, clean(fb.answer)), 0) + (1 if fb.rating > 0 else -1)
        if (fix := fb.correction) and clean(fix) not in g.corrections:
            g.corrections.append(clean(fix))
        if not fb.answer.strip() and not fix:
            info.skip("empty answer")
    for (key, answer), score in net.items():
        g = groups[key]
        if answer in g.corrections:
            continue
        if score > 0:
            g.good[answer] = score
        elif score < 0:
            g.bad[answer] = score
        else:
            info.skip("answer rated both up and down (tie)")
    return list(groups.values())


def build(rows: list[Feedback], fmt: str, *, redact: bool = True,
          clean: Callable[[str], str] | None = None) -> tuple[list[dict[str, Any]], Built]:
    """Training records in `fmt` (sft, dpo, kto) from feedback rows, and what was made of them."""
    if fmt not in FORMATS:
        raise TuneError(f"Unknown format '{fmt}'.", f"use one of: {', '.join(FORMATS)}")
    info = Built(fmt, len(rows), 0, 0, redacted=redact)
    groups = _groups(rows, clean or scrubber(redact), info)
    records: list[dict[str, Any]] = []
    for g in groups:
        made = len(records)
        good = [*g.corrections, *sorted(g.good, key=lambda a: -g.good[a])]
        if fmt == "sft":
            records += [{"messages": [*g.prompt, {"role": "assistant", "content": a}]} for a in good]
        elif fmt == "dpo":
            records += [{"prompt": g.prompt, "chosen": c, "rejected": r} for c in good for r in g.bad if c != r]
            if not records[made:] and (good or g.bad):
                info.skip("rated answers without an opposite rating for the same messages (use --format kto)",
                          len(good) + len(g.bad))
        else:
            records += [{"prompt": g.prompt, "completion": a, "label": True} for a in good]
            records += [{"prompt": g.prompt, "completion": a, "label": False} for a in g.bad]
        info.prompts += len(records) > made
    for i, rec in enumerate(records, start=1):
        normalise(rec, fmt, f"feedback record {i}")  # what we write must read back with tune's reader
    info.records = len(records)
    if not records:
        raise TuneError(_empty_reason(fmt, info), _empty_hint(fmt))
    return records, info


def _empty_reason(fmt: str, info: Built) -> str:
    why = "; ".join(f"{n} {what}" for what, n in info.skipped.items()) or "nothing usable"
    return {"sft": f"None of the {info.rows} feedback rows is an answer rated up or a correction ({why}).",
            "dpo": f"None of the {info.rows} feedback rows forms a pair: no messages have both a good answer "
                   f"(up or corrected) and one rated down ({why}).",
            "kto": f"None of the {info.rows} feedback rows is usable ({why})."}[fmt]


def _empty_hint(fmt: str) -> str:
    return {"sft": "rate good answers up, or add a comment 'correction: <the right answer>' to a thumbs down; "
                   "or use --format kto to learn from downs too",
            "dpo": "rate a second answer to the same question the opposite way (Retry on the page), or add "
                   "'correction: <the right answer>' to a thumbs down; or use --format kto",
            "kto": COLLECT_HINT}[fmt]


def write_jsonl(records: list[dict[str, Any]], path: str | Path) -> Path:
    """The records as JSON Lines (UTF-8, one object a line)."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def from_feedback(settings: Any, fmt: str, since: float | None = None, until: float | None = None,
                  model: str | None = None, redact: bool = True) -> tuple[list[dict[str, Any]], Built]:
    """read_feedback + build: the training records in `fmt` for the feedback in a time range."""
    if fmt not in FORMATS:
        raise TuneError(f"Unknown format '{fmt}'.", f"use one of: {', '.join(FORMATS)}")
    clean = scrubber(redact)  # fails early (before reading) when redaction cannot run
    return build(read_feedback(settings, since, until, model), fmt, redact=redact, clean=clean)
