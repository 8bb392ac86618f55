"""The tree summary index ("summarise a book"): chunk -> section -> document.

    >>> report = summarize(kb, Model("deepseek"))      # or: lingxi kb summarize NAME --model deepseek

Every document's chunks are grouped by heading path (a section; a long section
is cut into parts that fit the prompt). Each section gets a summary written by
the chat model, and the section summaries are summarised again into one
document summary (a document with a single section is summarised straight from
its chunks). The summaries are stored beside the chunks as ordinary searchable
nodes of the same source: ``kind = "summary"``, with ``level`` (1 section, 2
document), ``level_name`` and ``children`` (the ids of the chunks or summaries
they summarise) in their metadata, so a question about a whole document finds
its summary, and ``filters={"kind": "summary"}`` searches summaries only.

Each document is rewritten in one commit (its chunks keep their vectors), so a
re-run replaces that document's summaries, and changing the file drops them
(run summarize again after an ingest). Summaries are embedded like any chunk.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from lingxi.errors import StoreError
from lingxi.types import Chunk

SUMMARY = "summary"
LEVELS = {1: "section", 2: "document"}
PROMPT = (
    "Summarise the following text in the language it is written in. Keep names, numbers and the main points; "
    "at most {sentences} sentences. Reply with the summary only.\n\n{text}"
)


@dataclass
class SummaryReport:
    documents: int = 0
    sections: int = 0
    model_calls: int = 0
    seconds: float = 0.0
    failed: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"documents": self.documents, "sections": self.sections, "model_calls": self.model_calls,
                "seconds": round(self.seconds, 3), "failed": self.failed}  # fmt: skip


def summarize(
    kb: Any, model: Any, *, max_chars: int = 6000, sentences: int = 4, max_tokens: int = 256,
    sources: Sequence[str] | None = None, progress: Callable[[str, int, int], None] | None = None,
) -> SummaryReport:  # fmt: skip
    """Build (or rebuild) the summary tree of every document in `kb` (or of `sources`) with `model`.
    `max_chars` bounds the text sent in one prompt. A document whose model call fails is left as
    it was and listed in the report's `failed`."""
    from lingxi.types import SamplingParams

    params = SamplingParams(max_tokens=max_tokens, temperature=0.0)
    report, started = SummaryReport(), time.perf_counter()

    def ask(text: str) -> str:
        report.model_calls += 1
        reply = model.chat([{"role": "user", "content": PROMPT.format(sentences=sentences, text=text)}], params)
        return (reply.text or "").strip()

    docs = _documents(kb.store, sources)
    for n, (source, chunks) in enumerate(docs.items(), start=1):
        try:
            nodes = _tree(source, chunks, ask, max_chars)
        except Exception as exc:  # one failing document must not stop the others
            report.failed.append((source, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__))
            continue
        _write(kb.store, source, chunks, nodes)
        report.documents += 1
        report.sections += sum(1 for c in nodes if c.metadata["level"] == 1)
        if progress:
            progress("summaries", n, len(docs))
    report.seconds = time.perf_counter() - started
    return report


def _documents(store: Any, sources: Sequence[str] | None) -> dict[str, list[Chunk]]:
    """Every stored chunk (summaries included) grouped by source, in document order."""
    iter_chunks = getattr(store, "iter_chunks", None)
    if iter_chunks is None:
        raise StoreError("This knowledge base's store cannot list its chunks, so it cannot be summarised.",
                         "use the lancedb or pgvector store")  # fmt: skip
    wanted = set(sources) if sources is not None else None
    docs: dict[str, list[Chunk]] = {}
    for chunk in iter_chunks():
        if wanted is None or chunk.source in wanted:
            docs.setdefault(chunk.source, []).append(chunk)
    for chunks in docs.values():
        chunks.sort(key=lambda c: (c.metadata.get("kind") == SUMMARY, c.page or 0, c.start, c.id))
    return dict(sorted(docs.items()))


def _sections(chunks: list[Chunk], max_chars: int) -> Iterator[list[Chunk]]:
    """Parts of at most max_chars, each one prompt: consecutive heading groups are packed together
    (one call for several short sections, not one call each), and a part is cut at a heading
    change when it can be; a section longer than max_chars is cut into several parts."""
    groups: list[list[Chunk]] = []
    for chunk in chunks:
        if groups and chunk.headings == groups[-1][0].headings:
            groups[-1].append(chunk)
        else:
            groups.append([chunk])
    part: list[Chunk] = []
    size = 0
    for group in groups:
        for chunk in group:
            starts_group = chunk is group[0]
            cost = len(chunk.text) + (len(" > ".join(chunk.headings)) + 1 if starts_group else 0)
            if part and size + cost > max_chars:
                yield part
                part, size = [], 0
            part.append(chunk)
            size += cost
    if part:
        yield part


def _common(parts: list[Chunk]) -> list[str]:
    """The heading path every chunk of a part shares."""
    path = list(parts[0].headings)
    for c in parts[1:]:
        n = 0
        while n < min(len(path), len(c.headings)) and path[n] == c.headings[n]:
            n += 1
        path = path[:n]
    return path


def _tree(source: str, chunks: list[Chunk], ask: Callable[[str], str], max_chars: int) -> list[Chunk]:
    leaves = [c for c in chunks if c.metadata.get("kind") != SUMMARY]
    if not leaves:
        return []
    parts = list(_sections(leaves, max_chars))
    if len(parts) == 1:  # one section: the document summary reads the chunks themselves
        return [_node(source, 2, 0, ask(_joined(parts[0], max_chars)), parts[0], [])]
    sections = [_node(source, 1, i, ask(_joined(p, max_chars)), p, _common(p)) for i, p in enumerate(parts)]
    level, n, children = 2, 0, sections
    while len(children) > 1 and sum(len(c.text) for c in children) > max_chars:
        # too many section summaries for one prompt: fold them in groups first (still level 1)
        groups = list(_sections_by_size(children, max_chars))
        if len(groups) == len(children):
            break  # each summary fills a prompt on its own: the document prompt gets their beginnings
        children = [_node(source, 1, len(sections) + n + i, ask(_joined(g, max_chars)), g, []) for i, g in enumerate(groups)]
        sections.extend(children)
        n += len(groups)
    document = _node(source, level, 0, ask(_joined(children, max_chars)), children, [])
    return [*sections, document]


def _sections_by_size(nodes: list[Chunk], max_chars: int) -> Iterator[list[Chunk]]:
    group: list[Chunk] = []
    for node in nodes:
        if group and sum(len(c.text) for c in group) + len(node.text) > max_chars:
            yield group
            group = []
        group.append(node)
    if group:
        yield group


def _joined(chunks: Sequence[Chunk], max_chars: int) -> str:
    """The prompt text of a part: each heading path once, where it starts, then the chunks."""
    pieces, last = [], None
    for c in chunks:
        head = (" > ".join(c.headings) + "\n") if c.headings and c.headings != last else ""
        pieces.append(head + c.text)
        last = c.headings
    return "\n\n".join(pieces)[:max_chars]


def _node(source: str, level: int, n: int, text: str, children: Sequence[Chunk], headings: list[str]) -> Chunk:
    if not text:
        raise ValueError("the model returned an empty summary")
    first = children[0]
    return Chunk(
        id=f"{source}#summary-{LEVELS[level]}-{n}", source=source, text=text, start=first.start,
        end=max(c.end for c in children), page=first.page, headings=list(headings),
        hash=hashlib.sha256(text.encode()).hexdigest()[:32],
        metadata={"kind": SUMMARY, "level": level, "level_name": LEVELS[level], "children": [c.id for c in children]},
    )  # fmt: skip


def _write(store: Any, source: str, chunks: list[Chunk], nodes: list[Chunk]) -> None:
    """Replace the document's old summaries by `nodes` in one commit; its chunks keep their vectors."""
    keep = [c for c in chunks if c.metadata.get("kind") != SUMMARY]
    file_hash = str(keep[0].metadata.get("file_hash", "")) if keep else ""
    vectors = store.get_vectors([c.id for c in keep])
    store.replace_sources({source: file_hash}, [*keep, *nodes], vectors)
