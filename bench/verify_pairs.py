"""(sentence, passage, question, label, kind) pairs for training and measuring the entailment verifier.

Generated from CMRC 2018 (trial) and XQuAD (zh, en) paragraphs read from ../shared/data
(never copied). For each question, with S the passage sentence holding the gold answer:

supported (label 1): ``verbatim`` (S itself), ``answer`` (a short declarative sentence built from
the question and its answer, `rag_data.claim`);
unsupported (label 0): ``negated`` (S with its polarity flipped: is → is not, 是 → 不是, or a
negation removed), ``number`` (S with one number changed), ``subject`` (S with its article's title
or a name swapped for another article's), ``other-passage`` (the answer sentence against another
paragraph of the same article, or of the next one, that lacks the answer), ``recombined`` (half of
S joined to half of another sentence of the passage), ``wrong-answer`` (the declarative sentence
with another question's answer, from the same paragraph when it has one).
Cross-lingual pairs (``xquad-zh→en``): the Chinese sentences against the parallel English paragraph.

Part "train" uses the odd-positioned questions (the same half bench/calibrate_rag.py calibrates
on); part "bench" the even-positioned ones, so the measurement never sees a training pair.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from rag_data import FILES, claim, data_dir

from lingxi.knowledge.text import sentence_spans

KINDS = ("verbatim", "answer", "negated", "number", "subject", "other-passage", "recombined", "wrong-answer")


@dataclass
class Q:
    id: str
    question: str
    answer: str
    start: int
    context: str
    title: str
    article: int
    para: int
    position: int


def read(dataset: str) -> list[Q]:
    raw = json.loads((data_dir() / FILES[dataset]).read_text(encoding="utf-8"))
    out: list[Q] = []
    for a, art in enumerate(raw["data"]):
        title = art.get("title", "") or ""
        for p, para in enumerate(art["paragraphs"]):
            for qa in para["qas"]:
                ans = qa["answers"][0]
                out.append(Q(qa["id"], qa["question"], ans["text"], ans["answer_start"], para["context"], title, a, p, len(out)))
    return out


def data_hash() -> str:
    h = hashlib.sha256()
    for name in sorted(FILES[k] for k in ("cmrc", "xquad-zh", "xquad-en")):  # the sets the pairs come from
        h.update((data_dir() / name).read_bytes())
    return h.hexdigest()[:16]


def answer_sentence(q: Q) -> str:
    for a, b in sentence_spans(q.context):
        if a <= q.start < b:
            return q.context[a:b]
    return ""


_EN_AUX = re.compile(r"\b(is|are|was|were|can|could|will|would|has|have|had|does|do|did|should|may|must)\b(?! not)")
_ZH_PRED = (("可以", "不可以"), ("是", "不是"), ("有", "没有"), ("在", "不在"), ("会", "不会"), ("能", "不能"), ("被", "没有被"))


def negate(s: str, lang: str) -> str | None:
    if lang == "en":
        if re.search(r"\bnot\b", s):
            return re.sub(r"\s+not\b", "", s, count=1)
        m = _EN_AUX.search(s)
        return s[: m.end()] + " not" + s[m.end():] if m else None
    for neg in ("没有", "不是", "不"):
        if neg in s and neg + "仅" not in s:
            return s.replace(neg, {"没有": "有", "不是": "是", "不": ""}[neg], 1)
    for pos, neg in _ZH_PRED:
        k = s.find(pos)
        if k > 0:
            return s[:k] + neg + s[k + len(pos):]
    return None


_DIGITS = re.compile(r"\d+")
_ZH_SWAP = {"一": "三", "二": "五", "两": "四", "三": "七", "四": "六", "五": "八", "六": "九", "七": "二", "八": "一", "九": "四", "十": "百"}


def change_number(s: str) -> str | None:
    m = _DIGITS.search(s)
    if m:
        n = int(m.group(0))
        new = n + 3 if 1000 <= n <= 2100 else (n + 1 if n < 10 else n + max(2, n // 7))
        return s[: m.start()] + str(new) + s[m.end():]
    m = re.search(r"[一二两三四五六七八九十](?=[年月日天个名人次位岁种条项本部座届])", s)
    if m:
        return s[: m.start()] + _ZH_SWAP[m.group(0)] + s[m.end():]
    return None


def swap_subject(s: str, q: Q, others: list[Q]) -> str | None:
    other = next((o for o in others if o.title and o.title != q.title and o.title not in q.context), None)
    if q.title and other and q.title in s:
        return s.replace(q.title, other.title)
    from lingxi.rag.checks import subject_names

    mine = [n for n in subject_names(s) if n not in q.question]
    theirs = [n for o in others[:5] for n in subject_names(answer_sentence(o)) if n not in q.context]
    if mine and theirs:
        return s.replace(mine[0], theirs[0], 1)
    return None


def _halves(sentence: str) -> tuple[str, str] | None:
    cuts = [m.end() for m in re.finditer(r"[，,；;、]", sentence)]
    if not cuts:
        return None
    cut = min(cuts, key=lambda c: abs(c - len(sentence) / 2))
    return sentence[:cut], sentence[cut:]


def recombined(q: Q, s: str) -> str | None:
    own = _halves(s)
    others = [q.context[a:b] for a, b in sentence_spans(q.context) if not a <= q.start < b]
    others = [h for h in map(_halves, others) if h]
    if not own or not others:
        return None
    mix = own[0] + others[len(others) // 2][1]
    return None if mix.strip() in q.context else mix


def pairs_for(items: list[Q], lang: str, part: str, n: int, dataset: str) -> list[dict]:
    parity = 1 if part == "train" else 0
    pool = [q for q in items if q.position % 2 == parity]
    step = max(1, len(pool) // n)
    chosen = pool[::step][:n]
    paras: dict[tuple[int, int], str] = {(q.article, q.para): q.context for q in items}
    out: list[dict] = []
    for k, q in enumerate(chosen):
        s = answer_sentence(q)
        if not s or q.answer not in s:
            continue
        others = [o for o in chosen[k + 1:] + chosen[:k] if o.article != q.article]
        same_para = [o for o in items if (o.article, o.para) == (q.article, q.para) and o.answer not in q.answer
                     and q.answer not in o.answer]  # fmt: skip
        good = claim(q.question, q.answer, lang)
        base = {"question": q.question, "dataset": dataset, "lang": lang, "article": q.article}
        add = lambda sent, passage, label, kind: out.append({**base, "sentence": sent, "passage": passage, "label": label, "kind": kind})  # noqa: E731
        add(s, q.context, 1, "verbatim")
        add(good, q.context, 1, "answer")
        for kind, bad in (("negated", negate(s, lang)), ("number", change_number(s)), ("subject", swap_subject(s, q, others)),
                          ("recombined", recombined(q, s))):
            if bad and bad != s:
                add(bad, q.context, 0, kind)
        other = next((p for (a, pp), p in paras.items() if a == q.article and pp != q.para and q.answer not in p), None)
        other = other or next((o.context for o in others if q.answer not in o.context), None)
        if other:
            add(good, other, 0, "other-passage")
        wrong = (same_para or others)[0].answer if (same_para or others) else None
        if wrong and wrong not in s:
            add(claim(q.question, wrong, lang), q.context, 0, "wrong-answer")
    return out


def cross_pairs(zh: list[Q], en: list[Q], part: str, n: int) -> list[dict]:
    """Chinese sentences (XQuAD zh) against the parallel English paragraph."""
    en_by = {q.id: q for q in en}
    rows = pairs_for(zh, "zh", part, n, "xquad-zh→en")
    out = []
    for r in rows:
        if r["kind"] in ("verbatim", "recombined", "subject"):
            continue  # the English paragraph is judged against Chinese claims only
        src = next((q for q in zh if q.question == r["question"]), None)
        if src is None or src.id not in en_by:
            continue
        en_q = en_by[src.id]
        passage = en_q.context
        if r["kind"] == "other-passage":
            passage = next((q.context for q in en if q.article == en_q.article and q.para != en_q.para
                            and en_q.answer not in q.context), None) or next(  # fmt: skip
                (q.context for q in en if q.article != en_q.article), passage)
        out.append({**r, "passage": passage, "lang": "zh-en"})
    extra = []
    for r in out:  # negated and changed-number Chinese claims against the English paragraph
        if r["kind"] == "answer":
            for kind, bad in (("negated", negate(r["sentence"], "zh")), ("number", change_number(r["sentence"]))):
                if bad and bad != r["sentence"]:
                    extra.append({**r, "sentence": bad, "label": 0, "kind": kind})
    return out + extra


def all_pairs(part: str, n: int) -> list[dict]:
    cm, xz, xe = read("cmrc"), read("xquad-zh"), read("xquad-en")
    return (pairs_for(cm, "zh", part, n, "cmrc") + pairs_for(xz, "zh", part, n, "xquad-zh")
            + pairs_for(xe, "en", part, n, "xquad-en") + cross_pairs(xz, xe, part, n))  # fmt: skip


if __name__ == "__main__":
    import collections
    import sys

    rows = all_pairs(sys.argv[1] if len(sys.argv) > 1 else "train", int(sys.argv[2]) if len(sys.argv) > 2 else 20)
    print(collections.Counter((r["dataset"], r["kind"]) for r in rows))
    for r in rows[:16]:
        print(r["kind"], r["label"], r["sentence"][:100])
    Path("/tmp/verify_pairs_sample.json").write_text(json.dumps(rows[:50], ensure_ascii=False, indent=1))
