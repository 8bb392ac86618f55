"""Questions built from passage sentences without a model: cloze, true/false and multiple choice.

The tiny embedded model writes weak questions; these never are wrong, because the key is the
passage's own words. They are the generator's fallback (and what a question looks like when
the model's attempts keep failing review), and they go through the same reviewer.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

BLANK = "____"
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:\s*[×x]\s*10\^?\d+)?\s*(?:米每秒|千米每秒|米|千米|度|秒|分钟|小时|厘米|%|倍)?")
_STOP = {"我们", "这种", "叫做", "就是", "因为", "所以", "也就", "可以", "一个", "它们", "这样", "他们", "也是", "还是",
         "本身", "时候", "是为", "为了", "便于", "分别", "都是", "一部分", "各个", "同一", "看起来", "只是"}


_DEFINED = re.compile(r"(?:叫做|叫作|称为|称作|是指)([^，。；、：\s]{2,8})(?=[。，；]|$)")
_VOCAB: set[str] = set()  # terms the courses define (叫做 X), taught to jieba so it keeps them whole


def _jieba() -> Any:
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


def learn(sentences: Sequence[str]) -> None:
    """Teach the segmenter the terms the material defines (光的反射, 镜面反射, 入射角, ...)."""
    import jieba

    for s in sentences:
        for term in _DEFINED.findall(s):
            if term not in _VOCAB:
                _VOCAB.add(term)
                jieba.add_word(term, freq=2000, tag="n")


def _words(sentence: str) -> list[str]:
    """Nouns of a sentence (jieba's parts of speech for Chinese), defined terms and longer first."""
    pos = _jieba()
    toks = [(w.word.strip(), w.flag) for w in pos.lcut(sentence)]
    words = [t for t, flag in toks if len(t) >= 2 and t not in _STOP and (flag.startswith(("n", "vn")) or t in _VOCAB)
             and not re.fullmatch(r"[\W\d_]+", t)]  # fmt: skip
    return sorted(dict.fromkeys(words), key=lambda w: (w in _VOCAB, len(w)), reverse=True)


def key_of(sentence: str) -> str | None:
    """What to ask about in `sentence`: the term it defines (…叫做 X), else a number with its unit,
    else its most telling noun."""
    d = _DEFINED.search(sentence)
    if d:
        return d.group(1)
    m = _NUMBER.search(sentence)
    if m and any(ch.isdigit() for ch in m.group(0)):
        return m.group(0).strip()
    words = _words(sentence)
    return words[0] if words else None


def _pick(seed: str, items: Sequence[str], n: int) -> list[str]:
    """n items chosen deterministically from `items` (by hashing with `seed`)."""
    ranked = sorted(items, key=lambda s: hashlib.sha1(f"{seed}|{s}".encode()).hexdigest())
    return ranked[:n]


def distractors(key: str, pool: Sequence[str], n: int = 3) -> list[str]:
    """Wrong options of the same kind as `key` (numbers for numbers, words of similar length)."""
    numeric = any(ch.isdigit() for ch in key)
    same = [w for w in dict.fromkeys(pool) if w != key and key not in w and w not in key
            and any(ch.isdigit() for ch in w) == numeric and abs(len(w) - len(key)) <= 3]  # fmt: skip
    if numeric and len(same) < n:
        m = re.search(r"\d+(?:\.\d+)?", key)
        if m:
            base = float(m.group(0))
            for f in (2, 0.5, 3, 10):
                v = base * f
                text = str(int(v)) if v.is_integer() else f"{v:g}"
                cand = key[: m.start()] + text + key[m.end():]
                if cand != key and cand not in same:
                    same.append(cand)
    defined = [w for w in same if w in _VOCAB]  # other terms the course defines make the best distractors
    return (_pick(key, defined, n) + _pick(key, [w for w in same if w not in _VOCAB], n))[:n]


def pool_of(sentences: Sequence[str]) -> list[str]:
    """Candidate distractors from the course's sentences: their keys and nouns."""
    learn(sentences)
    out: list[str] = []
    for s in sentences:
        k = key_of(s)
        if k:
            out.append(k)
        out += _words(s)[:4]
    return list(dict.fromkeys(out))


def cloze(sentence: str, key: str) -> dict[str, Any]:
    return {"kind": "short", "question": f"填空：{sentence.replace(key, BLANK, 1)}", "options": [], "answer": key,
            "explanation": sentence}


def multiple_choice(sentence: str, key: str, wrong: Sequence[str]) -> dict[str, Any] | None:
    if len(wrong) < 2:
        return None
    options = _pick(sentence, [key, *wrong], len(wrong) + 1)
    return {"kind": "mc", "question": f"选择正确的一项填空：{sentence.replace(key, BLANK, 1)}", "options": options,
            "answer": key, "explanation": sentence}


def true_false(sentence: str, key: str, wrong: Sequence[str]) -> dict[str, Any]:
    """A true statement (the sentence) or, every other time, a false one (a wrong term swapped in)."""
    falsify = bool(wrong) and int(hashlib.sha1(sentence.encode()).hexdigest(), 16) % 2 == 1
    statement = sentence.replace(key, wrong[0], 1) if falsify else sentence
    return {"kind": "truefalse", "question": f"判断对错：{statement}", "options": ["正确", "错误"],
            "answer": "错误" if falsify else "正确", "explanation": sentence}


def build(kind: str, sentence: str, pool: Sequence[str]) -> dict[str, Any] | None:
    """A question of `kind` (mc, short, truefalse) about `sentence`, or None when it has no key."""
    key = key_of(sentence)
    if not key or key not in sentence:
        return None
    wrong = distractors(key, [w for w in pool if w not in sentence])
    if kind == "mc":
        return multiple_choice(sentence, key, wrong) or cloze(sentence, key)
    if kind == "truefalse":
        return true_false(sentence, key, wrong)
    return cloze(sentence, key)
