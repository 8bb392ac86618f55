"""Cut Documents into Chunks that fit the embedding model.

    >>> chunks = Splitter(max_tokens=256, overlap=32).split(doc)

Text is cut into *units* (sentences for prose, lines for rows and code), units
are packed into chunks of at most `max_tokens` tokens (counted with the
embedding model's tokenizer when one is given), and consecutive chunks share
about `overlap` tokens. Markdown is first cut at headings: a chunk never spans
two sections and keeps its heading path in `Chunk.headings`. Every chunk keeps
its source, page, character offsets into the document text and a content hash.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lingxi.knowledge.text import estimate_tokens, sentence_spans
from lingxi.types import Chunk, Document

Counter = Callable[[str], int]
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_FENCE = re.compile(r"^(```|~~~)", re.MULTILINE)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass
class Splitter:
    max_tokens: int = 256
    overlap: int = 32
    count_tokens: Counter = estimate_tokens  # exact (the model's tokenizer), may be slow
    estimate: Counter = estimate_tokens  # fast; exact counts are only taken to confirm a chunk

    def __post_init__(self) -> None:
        if self.max_tokens < 16 or not 0 <= self.overlap < self.max_tokens // 2:
            from lingxi.errors import ConfigError

            raise ConfigError(
                f"Invalid chunk size {self.max_tokens} with overlap {self.overlap}.",
                "use max_tokens >= 16 and an overlap below half of it",
            )

    @property
    def _budget(self) -> int:
        """Packing target for the fast estimate. With a separate exact tokenizer (slow: the
        e5 one takes ~7 ms per chunk) we pack to 80% of the bound, which the estimate's
        worst measured under-count (x1.12 on XQuAD/CMRC for e5) keeps under it, and only
        confirm exactly what goes over."""
        return self.max_tokens if self.count_tokens is self.estimate else int(self.max_tokens * 0.8)

    @property
    def _widest(self) -> int:
        """Most characters in one chunk (32 per token): a 2 MB run the estimate calls 2 tokens is cut."""
        return max(256, self.max_tokens * 32)

    def split(self, doc: Document) -> list[Chunk]:
        kind = doc.metadata.get("kind", "text")
        sections = _sections(doc.text) if kind == "markdown" else [([], 0, len(doc.text))]
        chunks: list[Chunk] = []
        newlines = [m.start() for m in re.finditer("\n", doc.text)] if kind == "rows" else []
        for headings, start, end in sections:
            units = list(self._units(doc.text, start, end, kind))
            for a, b in self._pack(doc.text, units):
                chunks.append(_make_chunk(doc, a, b, headings, len(chunks), newlines))
        return chunks

    def _units(self, text: str, start: int, end: int, kind: str) -> Iterator[tuple[int, int, int]]:
        """(start, end, estimated tokens) of each unit; a unit too big for a chunk is cut."""
        if kind in ("rows", "code", "transcript"):
            spans = _block_spans(text, start, end) if kind == "code" else _line_spans(text, start, end)
        else:
            spans = sentence_spans(text, start, end)
        for a, b in spans:
            cost = self.estimate(text[a:b])
            # the estimate under-counts by at most x1.12: a unit estimated at twice the bound is over
            # it for sure, and is never given whole to the (slow, maybe quadratic) exact tokenizer
            fits = b - a <= self._widest and (cost <= self._budget or (
                cost <= 2 * self.max_tokens and self.count_tokens(text[a:b]) <= self.max_tokens))
            if fits:
                yield a, b, cost
            else:
                yield from ((x, y, self.estimate(text[x:y])) for x, y in self._hard_split(text, a, b))

    def _hard_split(self, text: str, a: int, b: int) -> Iterator[tuple[int, int]]:
        """A unit longer than a chunk: cut it at commas or spaces, else by characters.

        Each cut is searched near the length of the previous one (grow by an eighth until over
        the bound, then bisect that gap), never over the whole rest of the unit, so a 10 MB line
        costs linear time: the old search over all of it was quadratic (128 KB took 38 s). The
        search runs on the fast estimate up to the packing budget (80% of the bound, which the
        estimate's worst measured under-count keeps under it, as in `_pack`), never on a slow
        exact tokenizer (e5's reads ~0.6 MB/s: 10 MB x the probes took minutes)."""
        guess = max(64, self.max_tokens * 4)  # characters
        exact = self.count_tokens is not self.estimate
        count, bound = (self.estimate, self._budget) if exact else (self.count_tokens, self.max_tokens)
        while a < b:
            cut = self._longest(text, a, b, guess, lambda end: count(text[a:end]) <= bound)  # noqa: B023
            if cut < b:
                soft = max(text.rfind(c, a, cut) for c in "，、,： ")
                cut = soft + 1 if soft > a + (cut - a) // 2 else cut
            yield a, cut
            guess = max(16, cut - a)
            a = cut
            while a < b and text[a].isspace():
                a += 1

    def _longest(self, text: str, a: int, b: int, guess: int, fits: Callable[[int], bool]) -> int:
        """About the longest end (within 1.5%) for text[a:end] that fits, searched from a + guess."""
        good, bad = a + 1, 0  # an end known to fit, and one known not to (0: none yet)
        probe = min(b, a + guess)
        while True:
            if not fits(probe):
                bad = probe
                break
            good = probe
            if probe >= b or probe - a >= self._widest:
                return good
            probe = min(b, a + self._widest, a + max(probe - a + 16, (probe - a) * 9 // 8))
        lo, hi = good, bad - 1
        while hi - lo > (lo - a) // 64:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
        return lo

    def _pack(self, text: str, units: list[tuple[int, int, int]]) -> Iterator[tuple[int, int]]:
        """Greedy packing on estimated unit sizes up to the budget; a chunk over the budget
        (one big unit) is confirmed with the exact counter."""
        costs = [c for _, _, c in units]
        i = 0
        while i < len(units):
            used, j = costs[i], i + 1
            while j < len(units) and used + costs[j] <= self._budget and units[j][1] - units[i][0] <= self._widest:
                used, j = used + costs[j], j + 1
            while used > self._budget and j - 1 > i and self.count_tokens(text[units[i][0] : units[j - 1][1]]) > self.max_tokens:
                j -= 1
            yield units[i][0], units[j - 1][1]
            if j >= len(units):
                return
            k, back = j, 0  # the next chunk starts a few units back: the overlap
            while k - 1 > i and back + costs[k - 1] <= self.overlap:
                back, k = back + costs[k - 1], k - 1
            i = k


def _make_chunk(doc: Document, a: int, b: int, headings: list[str], n: int, newlines: list[int]) -> Chunk:
    body = doc.text[a:b]
    digest = content_hash(body)
    meta = {k: v for k, v in doc.metadata.items() if k not in ("page",) and isinstance(v, str | int | float | bool)}
    if doc.metadata.get("kind") == "rows":
        meta["row_start"] = bisect.bisect_left(newlines, a) + 1  # newlines before a: one binary search,
        meta["row_end"] = bisect.bisect_left(newlines, b) + 1  # not a scan from the start per chunk
    if doc.metadata.get("kind") == "transcript":  # audio: the time range the chunk's segments cover
        times = [(t0, t1) for s, e, t0, t1 in doc.metadata.get("segments", []) if s < b and e > a]
        if times:
            meta["start_s"], meta["end_s"] = float(min(t for t, _ in times)), float(max(t for _, t in times))
    return Chunk(
        id=hashlib.sha1(f"{doc.id}\0{n}\0{digest}".encode()).hexdigest()[:24],
        source=doc.source,
        text=body,
        start=a,
        end=b,
        page=doc.metadata.get("page"),
        headings=list(headings),
        hash=digest,
        metadata=meta,
    )


def _sections(text: str) -> list[tuple[list[str], int, int]]:
    """Markdown cut at headings (outside code fences): (heading path, start, end)."""
    fences = [m.start() for m in _FENCE.finditer(text)]
    inside = lambda pos: bisect.bisect_left(fences, pos) % 2 == 1  # noqa: E731
    marks = [m for m in _HEADING.finditer(text) if not inside(m.start())]
    out: list[tuple[list[str], int, int]] = []
    path: list[tuple[int, str]] = []
    pos = 0
    for m in marks:
        if m.start() > pos:
            out.append(([h for _, h in path], pos, m.start()))
        level = len(m.group(1))
        path = [(lv, h) for lv, h in path if lv < level] + [(level, m.group(2).strip())]
        pos = m.end()
    out.append(([h for _, h in path], pos, len(text)))
    return [s for s in out if text[s[1] : s[2]].strip()]


def _line_spans(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl < 0 else nl
        if text[pos:stop].strip():
            yield pos, stop
        pos = stop + 1


def _block_spans(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Code: blocks separated by blank lines (a function, a class header...)."""
    for m in re.finditer(r"\S(?:.|\n(?!\s*\n))*", text[start:end]):
        yield start + m.start(), start + m.end()


def embed_text(chunk: Chunk) -> str:
    """What gets embedded and keyword-indexed: the heading path, then the chunk text."""
    return " > ".join(chunk.headings) + "\n" + chunk.text if chunk.headings else chunk.text
