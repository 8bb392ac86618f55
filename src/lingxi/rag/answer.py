"""What `ask` returns: the answer, where each sentence came from, and how sure we are.

Plain data (pydantic), no behaviour. `Answer.model_dump()` is what
`lingxi ask --json` prints.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lingxi.types import Citation, Usage

Mode = Literal["auto", "generate", "extractive"]
Verdict = Literal["supported", "unsupported"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Thresholds(_Data):
    """The decision thresholds of the pipeline.

    The defaults were calibrated by ``bench/calibrate_rag.py`` on CMRC 2018 (trial)
    and XQuAD (zh, en) questions that the benchmark does not use (40 in-KB + 40
    out-of-KB per data set); the run that chose them is recorded in
    ``bench/results/rag_calibration.json`` / ``.md``. Retrieval gate: >= 95% of in-KB
    questions answered, then most out-of-KB ones refused. Support: highest recall at
    precision >= 0.95 against wrong-answer, half-invented, recombined and other-passage
    sentences.
    """

    # retrieval: abstain unless some hit has this cosine similarity (e5, query vs passage) ...
    retrieval_cosine: float = 0.83
    # ... or its chunk contains this share of the question's keyword terms (English questions)
    retrieval_coverage: float = 0.55
    # the same for Chinese questions (e5 rates Chinese pairs more similar across the board)
    retrieval_cosine_zh: float = 0.885
    retrieval_coverage_zh: float = 0.35
    # a passage in another language than the question: this cosine (calibrated on XQuAD zh→en by
    # bench/trust_verify.py: answers >= 80 % of 150 calibration in-KB questions; held out: 0.83 answered
    # in-KB, 0.35 of out-of-KB questions passed, vs 0.93 / 0.56 at 0.7675, the >= 90 % choice), or
    # every Latin-script term of the question found in the passage
    retrieval_cosine_cross: float = 0.775
    # a sentence is supported by a chunk (same language) when this share of its new terms
    # (those not already in the question), all its new numbers included, occurs within one
    # sentence of the chunk ...
    support_lexical: float = 0.75
    # ... and its embedding is at least this similar to the chunk's
    support_cosine: float = 0.785
    # a sentence in another language than the chunk is judged on embeddings alone; calibration found
    # e5 cannot tell a right from a wrong cross-lingual claim, so this passes almost nothing (the
    # auto mode then answers extractively, in the passage's language) ...
    support_cross_lingual: float = 0.855
    # ... unless the sentence adds numbers or Latin-script names and the chunk has every one of them:
    # then this lower similarity suffices
    support_cross_lingual_facts: float = 0.775
    # the entailment head (lingxi.rag.entail): None = the threshold it was calibrated with
    # (bench/train_verifier.py, verifier_head.json); same-language and cross-lingual pairs
    support_head: float | None = None
    support_head_cross: float | None = None


class Source(_Data):
    """One numbered passage shown to the model (and to the user)."""

    n: int
    chunk_id: str
    source: str
    text: str
    page: int | None = None
    headings: list[str] = Field(default_factory=list)
    score: float = 0.0  # fused retrieval score (relative to the other hits)
    cosine: float | None = None  # absolute query-passage similarity, when the chunk has a vector
    coverage: float = 0.0  # share of the question's terms found in the chunk
    start_s: float | None = None  # audio sources: where the passage starts and ends in the recording
    end_s: float | None = None


class SentenceVerdict(_Data):
    """How one sentence of the draft answer fared in verification."""

    text: str
    cited: list[int] = Field(default_factory=list)  # what the model cited ([n] markers)
    citations: list[int] = Field(default_factory=list)  # what verification kept or found
    verdict: Verdict = "unsupported"
    lexical: float = 0.0  # best share of the sentence's new terms found in a cited chunk
    cosine: float = 0.0  # best embedding similarity to a cited chunk
    note: str = ""  # e.g. "citation [3] points to nothing", "re-attributed to [2]"
    # what the entailment check said of the best passage, and which check decided (lingxi.rag.entail):
    # empty | number | negation | subject | anchor | lexical | nli | judge | extracted | conflict
    entailment: Literal["entailed", "contradicted", "not stated", ""] = ""
    check: str = ""
    score: float = 0.0  # the entailment head's probability (0 when a rule decided)


class Timings(_Data):
    """Seconds spent per stage (first_token is measured from the start of generation)."""

    rewrite: float = 0.0
    retrieve: float = 0.0
    prompt: float = 0.0
    first_token: float | None = None
    generate: float = 0.0
    verify: float = 0.0
    total: float = 0.0


class Answer(_Data):
    question: str
    query: str = ""  # what was searched (the question, or its standalone rewrite)
    text: str
    lang: Literal["zh", "en"] = "en"
    mode: Literal["generate", "extractive", "abstain"] = "generate"
    abstained: bool = False
    reason: str = ""  # why we abstained or fell back, in one sentence
    draft: str = ""  # the model's raw answer before verification
    citations: list[Citation] = Field(default_factory=list)
    sentences: list[SentenceVerdict] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)  # the passages shown (closest ones when abstaining)
    usage: Usage = Field(default_factory=Usage)
    timings: Timings = Field(default_factory=Timings)
    model: str = ""
