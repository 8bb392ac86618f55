"""Check every sentence of an answer against the passages it cites.

    claims = split_claims("灵犀可以离线运行[1]。它支持 GGUF 模型。[2]")
    verdicts = verify(claims, sources, question, vectors=Vectors(kb))

A sentence is *supported* by a passage in the same language when most of its
new terms (the terms it adds to the question, after the same Chinese bigram /
English stemming analysis keyword search uses), and all of its new numbers and
names, occur in one sentence of the passage AND its embedding is close to the
passage's; across languages only the embedding can judge. Thresholds are
calibrated (see `Thresholds`). Words alone cannot see negation or a rearranged
statement, so `verify` now decides with `lingxi.rag.entail` (rule checks for
negation, numbers with units, names and empty sentences, then a learned head on
the e5 vectors); `lexical_support` and `supports` remain its inputs and the
measured baseline (bench/trust_verify.py).

A cited passage that does not support its sentence is replaced by one that does,
if any; citations to numbers that were never shown are removed; sentences
nothing supports are marked unsupported (the caller drops or flags them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lingxi.knowledge.text import sentence_spans, terms
from lingxi.rag import lang as L
from lingxi.rag.answer import SentenceVerdict, Source, Thresholds
from lingxi.types import Citation

# [1]  [1, 2]  [1][2]  【1】  [^1]  [source 1]  [资料1]
_MARKER = re.compile(r"[\[【]{1,2}\s*(?:\^|source\s*|sources\s*|资料\s*|来源\s*)?(\d{1,3}(?:\s*[,，、;；]\s*\d{1,3})*)\s*[\]】]{1,2}", re.I)  # [[1]]: a tuned small model's doubled marker
_ONLY_MARKS = re.compile(r"^[\s\W]*$")


def strip_markers(text: str) -> str:
    """`text` without its citation markers ([1], [1, 2], 【3】, [source 2])."""
    return _MARKER.sub("", text).strip()
# labels small models put before an answer: "Answer:", "The answer is:", "资料：", "回答："
_LABEL = re.compile(r"^(?:the answer is|answer|sources?|资料|来源|答案|回答)\s*[:：]\s*", re.I)
SENTENCE_KIND = "query"  # e5 prefix for answer sentences (chunks are embedded as passages); calibrated


@dataclass
class Claim:
    text: str  # the sentence without its markers
    cited: list[int] = field(default_factory=list)


def split_claims(answer: str) -> list[Claim]:
    """Sentences (Chinese and English) with the [n] markers they carry. Markers standing
    alone, or opening a sentence within a line, belong to the sentence before
    ("… capital. [1] It …"); a marker opening a line labels that line ("[2] It …")."""
    claims: list[Claim] = []
    for a, b in sentence_spans(answer):
        raw = answer[a:b]
        lead = re.match(rf"^(?:\s*{_MARKER.pattern})+", raw, re.I)
        line_start = answer[:a].rstrip(" \t").endswith("\n") or not answer[:a].strip()
        if lead and claims and not (line_start and raw[lead.end():].strip()):
            claims[-1].cited.extend(_numbers(lead.group(0)))
            raw = raw[lead.end():]
        nums = _numbers(raw)
        text = _LABEL.sub("", _clean(_MARKER.sub("", raw)))
        if _ONLY_MARKS.match(text):
            if claims:
                claims[-1].cited.extend(nums)
            continue
        claims.append(Claim(text, nums))
    for c in claims:
        c.cited = list(dict.fromkeys(c.cited))
    return claims


def _numbers(text: str) -> list[int]:
    return [int(n) for m in _MARKER.finditer(text) for n in re.findall(r"\d+", m.group(1))]


def _clean(text: str) -> str:
    text = re.sub(r"\s+([。！？；，,.!?;])", r"\1", text)  # "capital [1]." -> "capital."
    return re.sub(r"\s{2,}", " ", text).strip()


class Vectors:
    """Embeddings for verification: chunk vectors from the KB's store, sentences from its embedder."""

    def __init__(self, kb: Any) -> None:
        self.kb = kb

    def chunks(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        return self.kb.store.get_vectors(list(ids)) if ids else {}

    def sentences(self, texts: Sequence[str]) -> np.ndarray:
        return self.kb.embedder.embed(list(texts), kind=SENTENCE_KIND)


def lexical_support(sentence: str, passage: str, question: str = "", window: int = 1) -> float:
    """Share of the sentence's new terms (not already in the question) found together in
    `window` consecutive sentences of the passage: a claim must be stated in one place, not
    stitched from words scattered over the passage ("… 11 points" when 11 counts sacks, or
    half of one sentence joined to half of another; calibration: one sentence catches far
    more of those than two, at almost the same recall).
    Numbers and names are facts: a window that lacks one of the sentence's new numbers or
    names (see `names`) supports nothing.
    A sentence that only repeats the question is judged on all its terms."""
    asked = set(terms(question))
    mine = set(terms(sentence))
    new = mine - asked or mine
    if not new:
        return 0.0
    critical = {t for t in new if any(ch.isdigit() for ch in t)} | (new & set(terms(" ".join(names(sentence)))))
    spans = list(sentence_spans(passage)) or [(0, len(passage))]
    best = 0
    for i in range(max(1, len(spans) - window + 1)):
        found = _found(new, passage[spans[i][0] : spans[min(i + window, len(spans)) - 1][1]], sentence, asked)
        if critical <= found:
            best = max(best, len(found))
    return best / len(new)


def _found(new: set[str], text: str, sentence: str, asked: set[str]) -> set[str]:
    """The new terms `text` states: as terms; a lone CJK character anywhere in it; a CJK pair
    split there by punctuation or digits (（1562年）元服 has 年元); or a CJK pair that only
    joins two stated pieces of the sentence (…是|台湾|地区…: 湾地 bridges 台湾 and 地区)."""
    have, cjk = set(terms(text)), "".join(_CJK_CHAR.findall(text))
    found = {t for t in new if t in have or (len(t) == 1 and t in text) or (_CJK_CHAR.match(t) and t in cjk)}
    known = found | asked | (have & set(terms(sentence)))
    for run in _CJK_RUN.findall(sentence):
        pairs = [run[k : k + 2] for k in range(len(run) - 1)]
        for k in range(1, len(pairs) - 1):
            if pairs[k] in new and pairs[k - 1] in known and pairs[k + 1] in known:
                found.add(pairs[k])
    return found


_CJK_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]{3,}")
_EN_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'’-]*[A-Za-z0-9](?:\s+[A-Z][\w'’-]*[A-Za-z0-9])*")
# a transliterated name is fixed by the two characters before its dot and the one after (约什·诺…)
_ZH_NAME = re.compile(r"[\u3400-\u9fff]{2}·[\u3400-\u9fff]|[《“「『]([^》”」』]{1,30})[》”」』]")


def names(sentence: str) -> list[str]:
    """Name-like spans that, like numbers, must appear where the claim is stated: capitalised
    words inside an English sentence, transliterated names (约翰·埃尔维) and quoted titles."""
    out = [m.group(0) for m in _EN_NAME.finditer(sentence.strip())]
    out += [m.group(1) or m.group(0) for m in _ZH_NAME.finditer(sentence)]
    return out


_NUM = re.compile(r"\d+(?:[.,]\d+)*")
_LATIN = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")


def cross_lingual_facts(sentence: str, passage: str, question: str = "") -> bool | None:
    """Facts that survive translation: the numbers and Latin-script words a sentence adds to the
    question. None when it adds none; else whether the passage (in another language) has them all."""
    nums = [n.replace(",", "") for n in _NUM.findall(sentence) if n not in question]
    words = [w.lower() for w in _LATIN.findall(sentence) if w.lower() not in question.lower()]
    if not nums and not words:
        return None
    have_nums = {n.replace(",", "") for n in _NUM.findall(passage)}
    low = passage.lower()
    return all(n in have_nums for n in nums) and all(w in low for w in words)


def supports(lexical: float, cosine: float | None, cross_lingual: bool, t: Thresholds, facts: bool | None = None) -> bool:
    if cross_lingual:
        if cosine is None:
            return False
        return cosine >= t.support_cross_lingual or (facts is True and cosine >= t.support_cross_lingual_facts)
    if cosine is None:  # no embeddings at hand: words alone
        return lexical >= t.support_lexical
    return lexical >= t.support_lexical and cosine >= t.support_cosine


@dataclass
class _Score:
    n: int
    lexical: float
    cosine: float | None
    ok: bool
    judgement: Any = None  # lingxi.rag.entail.Judgement


def verify(
    claims: Sequence[Claim], sources: Sequence[Source], question: str = "", vectors: Vectors | None = None,
    thresholds: Thresholds | None = None, judge: Any = None, mode: str = "claim",
) -> list[SentenceVerdict]:  # fmt: skip
    """One verdict per claim: a claim is supported by a passage only when the passage entails it
    (`lingxi.rag.entail`: rule checks, then the learned head on the e5 vectors the KB holds).
    `judge` is an `Entailment` to use (default: one over the KB's embedder, in `mode`: "claim",
    or "topic" for syllabus topics, which may be fragments without a predicate)."""
    from lingxi.rag.entail import Entailment

    t = thresholds or Thresholds()
    by_n = {s.n: s for s in sources}
    svecs, cvecs = _embeddings(claims, sources, vectors)
    if judge is None or svecs is None:  # no vectors stored yet: the rules and words alone, as fast as before
        judge = Entailment(vectors.kb.embedder if svecs is not None else None,
                           threshold=t.support_head, cross_threshold=t.support_head_cross, mode=mode)  # fmt: skip
    out = []
    for i, claim in enumerate(claims):
        scores = _scores(claim.text, sources, question, svecs, i, cvecs, judge)
        out.append(_verdict(claim, scores, by_n))
    return out


def _embeddings(claims: Sequence[Claim], sources: Sequence[Source], vectors: Vectors | None) -> tuple[Any, dict]:
    if vectors is None or not claims or not sources:
        return None, {}
    cvecs = vectors.chunks([s.chunk_id for s in sources])
    return (vectors.sentences([c.text for c in claims]) if cvecs else None), cvecs


def passage_of(s: Source) -> str:
    return " ".join([*s.headings, s.text])


def _scores(text: str, sources: Sequence[Source], question: str, svecs: Any, i: int, cvecs: dict, judge: Any) -> list[_Score]:
    if not sources:
        return []
    pvecs = [cvecs.get(s.chunk_id) for s in sources]
    mine = svecs[i] if svecs is not None else None
    js = judge.many([(text, passage_of(s), question) for s in sources], vectors=[mine] * len(sources),
                    passage_vectors=pvecs if svecs is not None else None)  # fmt: skip
    out = []
    for s, vec, j in zip(sources, pvecs, js, strict=True):
        cos = float(np.dot(mine, vec)) if mine is not None and vec is not None else None
        out.append(_Score(s.n, lexical_support(text, passage_of(s), question), cos, j.supported, j))
    return out


def _rank(s: _Score) -> tuple:
    return (s.judgement.score if s.judgement is not None else 0.0, s.lexical, s.cosine or 0)


def _verdict(claim: Claim, scores: list[_Score], by_n: dict[int, Source]) -> SentenceVerdict:
    ghosts = [n for n in claim.cited if n not in by_n]
    cited = [s for s in scores if s.n in claim.cited]
    notes = [f"citation [{n}] points to no source" for n in ghosts]
    keep = [s for s in cited if s.ok]
    if not keep:
        others = sorted((s for s in scores if s.ok), key=_rank, reverse=True)
        keep = others[:1]
        if keep:
            notes.append(f"re-attributed to [{keep[0].n}]" if claim.cited else f"found in [{keep[0].n}]")
    judged = keep or cited or scores
    best = max(judged, key=_rank, default=None)
    if not keep and best is not None:  # say why: a contradiction found in any passage speaks loudest
        loud = [s for s in judged if s.judgement is not None and s.judgement.verdict == "contradicted"]
        best = loud[0] if loud else best
        if best.judgement is not None:
            notes.append(f"[{best.n}]: {WHY.get(best.judgement.check, best.judgement.check)}")
    j = best.judgement if best is not None else None
    return SentenceVerdict(
        text=claim.text, cited=claim.cited, citations=[s.n for s in keep],
        verdict="supported" if keep else "unsupported",
        lexical=round(best.lexical, 4) if best else 0.0,
        cosine=round(best.cosine, 4) if best and best.cosine is not None else 0.0, note="; ".join(notes),
        entailment=j.verdict if j is not None else "not stated", check=j.check if j is not None else "empty",
        score=j.score if j is not None else 0.0,
    )  # fmt: skip


WHY = {"empty": "the sentence states nothing", "number": "a number or its unit differs from the passage",
       "negation": "the passage states the opposite (negation)", "subject": "a name in it is not in the passage",
       "anchor": "the passage says it of something else than the question asks about",
       "lexical": "the passage does not state it in one place", "nli": "the passage does not entail it",
       "judge": "the judge model found it not stated"}  # fmt: skip


def quote(sentence: str, passage: str, limit: int = 240) -> str:
    """The passage sentence that shares the most terms with `sentence` (the evidence to show)."""
    want = set(terms(sentence))
    spans = list(sentence_spans(passage)) or [(0, len(passage))]
    a, b = max(spans, key=lambda sp: len(want & set(terms(passage[sp[0] : sp[1]]))))
    text = " ".join(passage[a:b].split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def citations(verdicts: Sequence[SentenceVerdict], sources: Sequence[Source]) -> list[Citation]:
    """One Citation per source that a supported sentence cites, quoting its best evidence."""
    by_n = {s.n: s for s in sources}
    out: dict[int, Citation] = {}
    for v in verdicts:
        if v.verdict != "supported":
            continue
        for n in v.citations:
            if n not in out:
                s = by_n[n]
                out[n] = Citation(n=n, chunk_id=s.chunk_id, source=s.source, quote=quote(v.text, s.text),
                                  score=round(v.lexical if v.cosine == 0 else (v.lexical + v.cosine) / 2, 4),
                                  start_s=s.start_s, end_s=s.end_s)  # fmt: skip
    return [out[n] for n in sorted(out)]


def render(verdicts: Sequence[SentenceVerdict], language: L.Lang, unsupported: str = "drop") -> str:
    """The verified answer text: supported sentences with their [n] markers; unsupported ones
    dropped (``unsupported="drop"``) or kept with a ``[?]`` flag (``"mark"``)."""
    parts = []
    for v in verdicts:
        if v.check == "conflict":
            parts.append(v.text)  # carries its own [n] markers
        elif v.verdict == "supported":
            parts.append(_with_marks(v.text, v.citations, language))
        elif unsupported == "mark":
            parts.append(_with_marks(v.text, [], language, flag="[?]"))
    return L.join_sentences(parts, language)


def _with_marks(text: str, ns: list[int], language: L.Lang, flag: str = "") -> str:
    marks = flag or "".join(f"[{n}]" for n in ns)
    m = re.search(r"[。！？；.!?;]+[\"'”’」』）)]*$", text)
    if not marks:
        return text
    sep = "" if language == "zh" else " "
    return f"{text[: m.start()]}{sep}{marks}{text[m.start():]}" if m else f"{text}{sep}{marks}"


_DONT_KNOW = re.compile(r"i don'?t know|i do not know|cannot answer|can't answer|not (?:mentioned|contain)|"
                        r"我不知道|无法回答|没有(?:提到|提及|相关|答案)|不清楚", re.I)  # fmt: skip


def says_dont_know(text: str) -> bool:
    """True when a draft answer is the model declining (it then counts as an abstention)."""
    head = text.strip()[:80]
    return bool(_DONT_KNOW.search(head))
