"""Techniques that write longer text in several calls: chain-of-density and skeleton-of-thought.

chain_of_density (Adams et al., 2023) writes a sparse summary, then rewrites it
`steps - 1` times at the same length, each time fusing in 1-3 entities from the
document that the summary lacks; every step's summary is returned.

skeleton_of_thought (Ning et al., 2023) asks for a short outline, then expands
each point in its own call — concurrently for remote providers, one after the
other for local models (a local model serves one request at a time anyway).
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from lingxi.models.base import ChatModel, as_params
from lingxi.types import Message, SamplingParams

REMOTE_PROVIDERS = ("openai",)

_COD_SCHEMA = {
    "type": "object",
    "properties": {
        "missing_entities": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        "summary": {"type": "string"},
    },
    "required": ["missing_entities", "summary"],
}
COD_FIRST = (
    "Article:\n{document}\n\n"
    "Write a first summary of the article in about {words} words (Chinese: characters). It should be general "
    "and non-specific, mentioning only 1-3 of its key entities. Reply as JSON: "
    '{{"missing_entities": [the entities you mention], "summary": "..."}}'
)
COD_NEXT = (
    "Article:\n{document}\n\nCurrent summary:\n{summary}\n\n"
    "Step {step}: identify 1-3 informative entities (names, numbers, places, dates, events) from the article "
    "that the current summary lacks. Rewrite the summary at the same length so that it keeps every entity it "
    "already has and adds the missing ones: fuse, compress and drop filler phrases to make room. Reply as JSON: "
    '{{"missing_entities": [the entities you added], "summary": "..."}}'
)


@dataclass
class DensityStep:
    step: int
    summary: str
    added: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.summary


def _parse_density(text: str) -> tuple[str, list[str]]:
    """The summary and new entities from a step's reply; tolerant of prose around the JSON."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if match:
        try:
            data = json.loads(match.group(0))
            ents = [str(e) for e in data.get("missing_entities") or [] if str(e).strip()]
            return str(data.get("summary", "")).strip(), ents
        except (ValueError, AttributeError):
            pass
    return text.strip(), []


def chain_of_density(model: ChatModel, document: str, steps: int = 5, words: int = 80,
                     params: SamplingParams | dict | None = None, json_mode: bool = True) -> list[DensityStep]:
    """`steps` summaries of the document, each denser in entities than the one before."""
    base = as_params(params)
    if json_mode:
        fmt = {"type": "json_schema", "json_schema": {"name": "density_step", "schema": _COD_SCHEMA}}
        base = base.model_copy(update={"response_format": fmt})
    out: list[DensityStep] = []
    for step in range(1, steps + 1):
        if step == 1:
            prompt = COD_FIRST.format(document=document, words=words)
        else:
            prompt = COD_NEXT.format(document=document, summary=out[-1].summary, step=step)
        summary, added = _parse_density(model.chat([Message(role="user", content=prompt)], base).text)
        if not summary and out:
            summary = out[-1].summary
        out.append(DensityStep(step=step, summary=summary, added=added))
    return out


def entity_density(summary: str, entities: list[str]) -> float:
    """Entities that appear in the summary per 100 characters (length-fair for Chinese and English)."""
    if not summary:
        return 0.0
    found = {e for e in entities if e and e.lower() in summary.lower()}
    return 100.0 * len(found) / len(summary)


SOT_OUTLINE = (
    "Question: {question}\n\nDo not answer yet. Write only the skeleton of a good answer: a numbered list of "
    "3 to {max_points} points, each 3-8 words. 只写提纲，不要展开。"
)
SOT_EXPAND = (
    "Question: {question}\n\nSkeleton of the answer:\n{outline}\n\n"
    "Write point {n} ('{point}') out in 1-2 sentences. Reply with that text only."
)
_POINT = re.compile(r"^\s*(?:\d+[.)、．]|[-*•])\s*(.+?)\s*$")


@dataclass
class Skeleton:
    outline: list[str]
    expansions: list[str]
    parallel: bool

    @property
    def text(self) -> str:
        return "\n".join(f"{i}. {p}" for i, p in enumerate(self.expansions, 1))


def parse_outline(text: str, max_points: int = 8) -> list[str]:
    """The points of a numbered or bulleted list (the whole text as one point when there is no list)."""
    points = [m.group(1) for line in text.splitlines() if (m := _POINT.match(line))]
    if not points:
        points = [line.strip() for line in text.splitlines() if line.strip()][:1]
    return points[:max_points]


def is_remote(model: ChatModel) -> bool:
    return getattr(model, "provider", None) in REMOTE_PROVIDERS


def skeleton_of_thought(model: ChatModel, question: str, max_points: int = 6,
                        params: SamplingParams | dict | None = None, parallel: bool | None = None,
                        max_workers: int = 8) -> Skeleton:
    """An outline first, then each point expanded (in parallel for remote providers unless told)."""
    p = as_params(params)
    outline_text = model.chat([Message(role="user", content=SOT_OUTLINE.format(
        question=question, max_points=max_points))], p).text
    points = parse_outline(outline_text, max_points)
    outline = "\n".join(f"{i}. {pt}" for i, pt in enumerate(points, 1))

    def expand(item: tuple[int, str]) -> str:
        n, point = item
        prompt = SOT_EXPAND.format(question=question, outline=outline, n=n, point=point)
        return model.chat([Message(role="user", content=prompt)], p).text.strip()

    items = list(enumerate(points, 1))
    parallel = is_remote(model) if parallel is None else parallel
    if parallel and len(items) > 1:
        with ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
            expansions = list(pool.map(expand, items))
    else:
        expansions = [expand(it) for it in items]
    return Skeleton(outline=points, expansions=expansions, parallel=parallel)
