"""Does a passage entail a sentence? Rule checks first, then a small learned head on e5 features.

    judge = Entailment(embedder)                       # cheap; loads the head on first use
    j = judge.one("tar --exclude-vcs takes no arguments.", passage, question)
    j.supported, j.verdict, j.score, j.check            # False, 'contradicted', 0.0, 'negation'

Order of checks (the first that decides is recorded in ``check``):

1. ``empty``    — the sentence states nothing (`checks.states_nothing`): never supported;
2. ``number`` / ``negation`` / ``subject`` / ``anchor`` — rule vetoes on the aligned window (`checks.veto`):
   a changed number or unit, a flipped polarity, a name the window does not have, an answer taken
   from a part of the passage about something else than the question;
3. ``lexical``  — across languages, a number or Latin-script word of the sentence missing from the
   passage (`verify.cross_lingual_facts`) refuses the pair; within a language, the calibrated words + cosine rule (`Thresholds.support_lexical`
   of the sentence's new terms stated in one passage sentence, and the e5 cosine of sentence and
   passage >= `support_cosine`) decides what the rules let through;
4. ``nli``      — a logistic head over features of the e5 vectors (cos, lexical shares, length;
   the 768 element-wise [u·w, |u−w|] features were measured and overfit at this data size) of the
   sentence (u, as a query) and of the passage (w: the chunk vector the store already holds, so
   the default path embeds nothing new), trained offline by ``bench/train_verifier.py`` on pairs
   generated from CMRC 2018 and XQuAD (``verifier_head.json`` records the data hash, the
   features kept and the held-out metrics). Across languages, where words cannot be compared, it
   decides, above main's calibrated cross-lingual cosine floor (`support_cross_lingual_facts`). Within a language it vetoes only when `Thresholds.support_head` is set: it raised
   held-out precision on the generated pairs (0.66 → 0.74) but rejected verbatim sentences of
   short real documents (bench/results/trust_verify.md), so it is off by default there. Its
   probability is reported as ``score`` either way;
5. ``judge``    — optionally (``judge_model=``), a chat model constrained to answer
   ``entailed`` / ``contradicted`` / ``not stated`` confirms what the head passed.

Without an embedder only the rules and the lexical rule decide (``check="lexical"``).

``mode="topic"`` judges syllabus topics rather than claims (the curriculum-coverage check): a
topic is often a fragment without a predicate (「光的直线传播」, "the water cycle"), which rule 1
refuses as a claim. In topic mode such a fragment is covered by a passage that holds the calibrated
share of its words (`Thresholds.support_lexical` of the fragment's terms over the whole passage;
``check="topic"``); a topic that is a full sentence is judged as a claim.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import numpy as np

from lingxi.rag import checks
from lingxi.rag import lang as L

Verdict = Literal["entailed", "contradicted", "not stated"]
Mode = Literal["claim", "topic"]
MODES = ("claim", "topic")
HEAD_FILE = "verifier_head.json"
PREFILTER_LEXICAL = 0.5  # same-language pairs below this share of new terms in one window never reach the head
NO_VECTOR_LEXICAL = 0.75  # without embeddings: the calibrated words-only rule (Thresholds.support_lexical)


@dataclass
class Judgement:
    supported: bool
    verdict: Verdict
    score: float  # the head's probability of entailment (0 when a rule decided; in topic mode the words' share)
    check: str  # empty | number | negation | subject | anchor | lexical | nli | judge | topic
    window: str = ""  # the passage sentences the claim was compared with
    lexical: float = 0.0
    cross: bool = False  # sentence and passage in different languages


@lru_cache(maxsize=1)
def load_head() -> dict:
    """The trained heads (weights, scaler, thresholds, data hash, metrics) shipped with lingxi."""
    text = resources.files("lingxi.rag").joinpath(HEAD_FILE).read_text(encoding="utf-8")
    head = json.loads(text)
    for part in ("same", "cross"):
        h = head[part]
        h["_w"], h["_mu"], h["_sd"] = (np.asarray(h[k], dtype=np.float32) for k in ("coef", "mean", "scale"))
        h["_cols"] = np.asarray(h.get("columns", range(len(h["coef"]))), dtype=np.int64)
    return head


def features(u: np.ndarray, w: np.ndarray, lexical: float, lexical_passage: float, n_words: int) -> np.ndarray:
    """The head's input for one (sentence, window) pair: u·w, |u−w|, then five scalars."""
    cos = float(np.dot(u, w))
    scal = np.array([cos, lexical, lexical_passage, min(n_words, 60) / 60.0, cos * lexical], dtype=np.float32)
    return np.concatenate([u * w, np.abs(u - w), scal]).astype(np.float32)


def head_score(x: np.ndarray, cross: bool) -> float:
    h = load_head()["cross" if cross else "same"]
    z = float(np.dot((x[h["_cols"]] - h["_mu"]) / h["_sd"], h["_w"]) + h["intercept"])
    return 1.0 / (1.0 + np.exp(-z))


def head_threshold(cross: bool) -> float:
    return float(load_head()["cross" if cross else "same"]["threshold"])


class Entailment:
    """Judges (sentence, passage) pairs; `embedder` has ``embed(texts, kind)`` (e5), or is None."""

    def __init__(self, embedder: Any = None, judge_model: Any = None, threshold: float | None = None,
                 cross_threshold: float | None = None, mode: Mode = "claim") -> None:  # fmt: skip
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.embedder, self.judge_model, self.mode = embedder, judge_model, mode
        self.threshold, self.cross_threshold = threshold, cross_threshold
        from lingxi.rag.answer import Thresholds

        self.words = Thresholds()  # support_lexical / support_cosine: the calibrated words + cosine rule
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def one(self, sentence: str, passage: str, question: str = "") -> Judgement:
        return self.many([(sentence, passage, question)])[0]

    def many(self, pairs: Sequence[tuple[str, str, str]], vectors: Sequence[np.ndarray | None] | None = None,
             passage_vectors: Sequence[np.ndarray | None] | None = None) -> list[Judgement]:  # fmt: skip
        """One judgement per (sentence, passage, question). `vectors` / `passage_vectors` may hold
        the sentences' query vectors and the passages' stored chunk vectors (one per pair, or None):
        what is missing is embedded (and cached)."""
        out: list[Judgement | None] = []
        todo: list[tuple] = []
        for i, (sentence, passage, question) in enumerate(pairs):
            j, pending = self._rules(sentence, passage, question)
            out.append(j)
            if pending is not None:
                todo.append((i, sentence, passage, *pending))
        if todo and self.embedder is not None:
            self._score(todo, out, vectors, passage_vectors)
        for i, _s, _p, window, lex, _lexp, cross in todo:
            if out[i] is None:  # no embedder: words alone
                ok = lex >= NO_VECTOR_LEXICAL and not cross
                out[i] = Judgement(ok, "entailed" if ok else "not stated", lex, "lexical", window, lex)
        return [j for j in out if j is not None]

    def _rules(self, sentence: str, passage: str, question: str) -> tuple[Judgement | None, tuple | None]:
        from lingxi.rag.verify import cross_lingual_facts, lexical_support

        window = checks.align(sentence, passage, question)
        rule = checks.veto(sentence, window, question, passage)
        if rule == "empty" and self.mode == "topic":  # a topic, not a claim: covered by a passage that holds its words
            share = lexical_support(sentence, passage, question)
            ok = share >= self.words.support_lexical
            return Judgement(ok, "entailed" if ok else "not stated", round(share, 4), "topic" if ok else "empty",
                             window, share), None
        if rule is not None:
            verdict: Verdict = "contradicted" if rule in ("number", "negation") else "not stated"
            return Judgement(False, verdict, 0.0, rule, window), None
        cross = L.detect(sentence) != L.detect(passage)
        if cross and cross_lingual_facts(sentence, passage, question) is False:
            return Judgement(False, "not stated", 0.0, "lexical", window), None  # numbers and Latin names survive translation
        lex = lexical_support(sentence, window, question)
        if not cross and lex < PREFILTER_LEXICAL:
            return Judgement(False, "not stated", 0.0, "lexical", window, lex), None
        lexp = lexical_support(sentence, passage, question)
        return None, (window, lex, lexp, cross)

    def _score(self, todo: list, out: list, vectors: Sequence | None, passage_vectors: Sequence | None) -> None:
        us = self._vectors([t[1] for t in todo], [vectors[t[0]] if vectors is not None else None for t in todo], "query")
        ws = self._vectors([t[2] for t in todo],
                           [passage_vectors[t[0]] if passage_vectors is not None else None for t in todo], "passage")
        for (i, sentence, _passage, window, lex, lexp, cross), u, w in zip(todo, us, ws, strict=True):
            x = features(u, w, lex, lexp, _n_words(sentence))
            p = round(head_score(x, cross), 4)
            if not cross:  # the calibrated words + cosine rule; the head vetoes only when asked to (threshold set)
                ok = lexp >= self.words.support_lexical and x[768] >= self.words.support_cosine
                check = "lexical"
                if ok and self.threshold is not None:
                    ok, check = p >= self.threshold, "nli"
            else:  # the head, above main's calibrated cross-lingual cosine floor
                floor = x[768] >= self.words.support_cross_lingual_facts
                ok, check = floor and p >= (head_threshold(True) if self.cross_threshold is None else self.cross_threshold), "nli"
            j = Judgement(bool(ok), "entailed" if ok else "not stated", float(p), check, window, lex, cross)
            if ok and self.judge_model is not None:
                j = self._judge(sentence, window, j)
            out[i] = j

    def _vectors(self, texts: list[str], given: list, kind: str) -> list[np.ndarray]:
        need = [t for t, v in zip(texts, given, strict=True) if v is None]
        made = iter(self._embed(need, kind)) if need else iter(())
        return [np.asarray(v, dtype=np.float32) if v is not None else next(made) for v in given]

    def _embed(self, texts: list[str], kind: str) -> list[np.ndarray]:
        missing = list(dict.fromkeys(t for t in texts if (kind, t) not in self._cache))
        if missing:
            for t, v in zip(missing, self.embedder.embed(missing, kind=kind), strict=True):
                self._cache[(kind, t)] = np.asarray(v, dtype=np.float32)
        if len(self._cache) > 4096:
            self._cache = dict(list(self._cache.items())[-2048:])
        return [self._cache[(kind, t)] for t in texts]

    def _judge(self, sentence: str, window: str, j: Judgement) -> Judgement:
        verdict = llm_judge(self.judge_model, sentence, window)
        return Judgement(verdict == "entailed", verdict, j.score, "judge", j.window, j.lexical)


def _n_words(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9]+|[\u3400-\u9fff]", text))


JUDGE_PROMPT = (
    "Passage:\n{passage}\n\nClaim: {claim}\n\n"
    "Does the passage state the claim? Answer with one of: entailed, contradicted, not stated.\nAnswer:"
)


def llm_judge(model: Any, sentence: str, window: str) -> Verdict:
    """A chat model (opened through the funnel) as a grammar-constrained judge of one pair."""
    from lingxi.types import SamplingParams

    schema = {"type": "object", "properties": {"verdict": {"enum": ["entailed", "contradicted", "not stated"]}},
              "required": ["verdict"]}  # fmt: skip
    params = SamplingParams(temperature=0.0, max_tokens=16,
                            response_format={"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema}})
    text = model.chat(JUDGE_PROMPT.format(passage=window, claim=sentence), params).text
    try:
        v = json.loads(text).get("verdict", "")
    except (ValueError, AttributeError):
        v = text.strip().lower()
    return v if v in ("entailed", "contradicted", "not stated") else "not stated"  # type: ignore[return-value]
