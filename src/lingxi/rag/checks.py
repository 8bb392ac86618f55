"""Rule checks of a claim against the passage window that should state it (Chinese and English).

    align(sentence, passage)             -> the passage window (1–2 sentences) that best matches
    veto(sentence, window, question)     -> None, or the name of the rule that refuses the pair
    states_nothing(sentence, question)   -> True for "1.", "The grep option", "The answer is 0."

The rules never let a pair through when

* ``negation`` — the sentence and its window differ in polarity (不/没/未/非/无/别…, not/no/never/
  n't/none/without…; words like 非常, 未来, 无论, "not only" are not negations);
* ``number`` — a number the sentence adds to the question (Arabic or Chinese numerals, 1,000 /
  1.5万 / 二十五 / twenty-five) is absent from the window, or stands there with another unit;
* ``subject`` — a name the sentence is about (capitalised words, 《titles》, 约翰·史密斯) is absent
  from the window;
* ``empty`` — the sentence states nothing: a bare number or marker, or a fragment without a
  predicate ("The grep option", "The ssh -L option is", 「答案是」);
* ``anchor`` — the sentence restates the question (two or more of its terms) with an answer taken
  from the wrong place: the passage sentences that hold the answer's words share far fewer of the
  question's terms than the passage's best place for the question does ("Who won Super Bowl 50:
  Carolina Panthers." against a paragraph whose Panthers sentence is about the runner-up). The gap
  (`ANCHOR_GAP`, over single sentences) was chosen on the training half of the generated pairs
  (bench/verify_pairs.py): it refused 46 of 97 wrong-answer and 35 of 96 recombined pairs, and 2
  of 117 supported "answer" pairs (0 of 117 verbatim); two-sentence windows caught a third less.

These are cheap (microseconds) and run before the learned head (`lingxi.rag.entail`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from lingxi.knowledge.text import sentence_spans, terms

# -- negation ---------------------------------------------------------------------------------

_ZH_NOT_NEG = re.compile(r"非常|未来|无论|不仅|不但|不断|不久|不过|不少|不同|并非不|无数|无线|非洲|差不多|不得不|"
                         r"毫无疑问|无疑|莫斯科|莫扎特|未必不|除非")  # fmt: skip
_ZH_NEG = re.compile(r"不|没|未|非|无|别|莫|勿|否|毋")
_ZH_STRONG = re.compile(r"不是|没有|并不|并非|从未|未曾|不会|不能|不可|无法|不再|不得|\bnot\b|\bnever\b|\bno\b", re.I)
_EN_NEG = re.compile(r"\b(?:not|no|never|none|nobody|nothing|nowhere|neither|nor|cannot|without|lacks?|lacking)\b|"
                     r"n['’]t\b", re.I)  # fmt: skip
_EN_NOT_NEG = re.compile(r"\bnot only\b|\bno(?:t)? (?:longer than|more than|less than|fewer than)\b|\bno\.\s*\d", re.I)


def negations(text: str) -> int:
    """How many negation cues the text holds (after removing words that only look negative)."""
    zh = _ZH_NOT_NEG.sub("", text)
    en = _EN_NOT_NEG.sub("", text)
    return len(_ZH_NEG.findall(re.sub(r"[^\u3400-\u9fff]", " ", zh))) + len(_EN_NEG.findall(en))


def polarity_differs(sentence: str, window: str) -> bool:
    """True when a clause of the sentence and the window clause it restates differ in polarity
    (parity of negation cues). A clause restates another when they share at least two terms and
    half of the sentence clause's. Across languages clauses cannot be aligned: there only a
    negation the sentence adds to a window without any is caught."""
    from lingxi.rag import lang as L

    if L.detect(sentence) != L.detect(window):
        return len(_ZH_STRONG.findall(sentence)) % 2 == 1 and negations(window) == 0
    wcl = [(set(terms(c)), negations(c) % 2) for c in clauses(window)]
    for c in clauses(sentence):
        mine = set(terms(c))
        if len(mine) < 2:
            continue
        best = max(wcl, key=lambda w: len(mine & w[0]), default=None)
        if best is None:
            continue
        shared = len(mine & best[0])
        if shared >= 2 and shared >= 0.5 * len(mine) and shared >= 0.34 * len(best[0]) and negations(c) % 2 != best[1]:
            return True
    return False


def clauses(text: str) -> list[str]:
    return [p for p in re.split(r"[，,；;：:。.!?！？()（）]+\s*", text) if p.strip()] or [text]


# -- numbers ----------------------------------------------------------------------------------

_ZH_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_UNIT = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG = {"万": 10_000, "亿": 100_000_000}
_ZH_NUM = re.compile(r"[零〇一二两三四五六七八九十百千万亿]+")
_EN_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                        "fourteen fifteen sixteen seventeen eighteen nineteen".split())}  # fmt: skip
_EN_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_EN_NUM = re.compile(r"\b(?:(" + "|".join(_EN_TENS) + r")(?:[- ](" + "|".join(list(_EN_WORDS)[1:10]) + r"))?|("
                     + "|".join(_EN_WORDS) + r"))\b", re.I)  # fmt: skip
_ARABIC = re.compile(r"(?<![A-Za-z0-9_.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(\s*[万亿])?")
_UNIT_AFTER = re.compile(r"\s*(%|[\u3400-\u9fff]|[A-Za-z]+)")
# Chinese measure words and units that follow a number (the unit a number is "of")
_ZH_UNIT_CHARS = set("年月日天号时分秒岁个名人次位场件条本部座所家种项元美镑米里公克吨度倍户页章届代世纪期")
_EN_FILLER = frozenset("a an the of in on at and or to for per".split())


def zh_number(text: str) -> int | None:
    """二十五 -> 25, 一千零三 -> 1003, 三万五千 -> 35000, 两 -> 2, 一九九八 -> 1998 (digit by digit)."""
    if not text:
        return None
    if all(ch in _ZH_DIGIT for ch in text):
        return int("".join(str(_ZH_DIGIT[ch]) for ch in text))
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _ZH_DIGIT:
            digit = _ZH_DIGIT[ch]
        elif ch in _ZH_UNIT:
            section += (1 if digit is None else digit) * _ZH_UNIT[ch]
            digit = None
        elif ch in _ZH_BIG:
            total = (total + section + (digit or 0)) * _ZH_BIG[ch]
            section, digit = 0, None
    return total + section + (digit or 0)


@lru_cache(maxsize=50_000)
def numbers(text: str) -> tuple[tuple[float, str], ...]:
    """(value, unit) for every number in the text; the unit is the measure word or word after it
    ('' when none): "25 vacation days" -> (25, 'vacation'), "25天" -> (25, '天'), "1.5万人" -> (15000, '人')."""
    out: list[tuple[float, str]] = []
    taken: list[tuple[int, int]] = []
    for m in _ARABIC.finditer(text):
        value = float(m.group(1).replace(",", "") + ("." + m.group(2) if m.group(2) else ""))
        if m.group(3):
            value *= _ZH_BIG[m.group(3).strip()]
        out.append((value, _unit(text, m.end())))
        taken.append(m.span())
    for m in _ZH_NUM.finditer(text):
        s = m.group(0)
        if s in ("万", "亿", "千", "百") or not _unit(text, m.end()) or text.startswith("十分", m.start()):
            continue  # only before a measure word: 四合院, 一些, 十分 are words, not quantities
        v = zh_number(s)
        if v is not None:
            out.append((float(v), _unit(text, m.end())))
    for m in _EN_NUM.finditer(text):
        if m.group(3):
            v = _EN_WORDS[m.group(3).lower()]
        else:
            v = _EN_TENS[m.group(1).lower()] + (_EN_WORDS[m.group(2).lower()] if m.group(2) else 0)
        if v in (0, 1) and not _unit(text, m.end()):
            continue  # "one of", "zero" without a unit: not a quantity
        out.append((float(v), _unit(text, m.end())))
    return tuple(out)


def _unit(text: str, end: int) -> str:
    m = _UNIT_AFTER.match(text, end)
    if not m:
        return ""
    u = m.group(1)
    if u.isascii() and u.lower() in _EN_FILLER:
        return ""
    if not u.isascii() and u not in _ZH_UNIT_CHARS:
        return ""
    return u.lower() if u.isascii() else u


def number_differs(sentence: str, window: str, question: str = "") -> bool:
    """True when a number the sentence adds (not in the question) is not in the window with its value,
    or the window has that value only with another unit (both units known)."""
    asked = {v for v, _ in numbers(question)}
    have = numbers(window)
    for value, unit in numbers(sentence):
        if value in asked:
            continue
        same = [u for v, u in have if abs(v - value) < 1e-9]
        if not same:
            return True
        comparable = [u for u in same if u and u.isascii() == unit.isascii()]  # units compare within a script
        if unit and comparable and all(not _same_unit(u, unit) for u in comparable) and not _unit_near(value, unit, window):
            return True
    return False


def _same_unit(a: str, b: str) -> bool:
    return a == b or a.rstrip("s") == b.rstrip("s") or {a, b} <= {"天", "日"}


def _unit_near(value: float, unit: str, window: str) -> bool:
    """The value followed, within two words, by the unit ("25 vacation days" has 25 … days)."""
    if not unit.isascii():
        return False
    num = re.escape(str(int(value)) if value == int(value) else str(value))
    return bool(re.search(rf"(?<![\d.]){num}\s+(?:[A-Za-z-]+\s+){{0,2}}{re.escape(unit.rstrip('s'))}", window.replace(",", ""), re.I))


# -- subject names ----------------------------------------------------------------------------

_EN_NAME = re.compile(r"(?<![A-Za-z0-9])[A-Z][A-Za-z0-9'’-]*[A-Za-z0-9](?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][A-Za-z0-9'’-]*[A-Za-z0-9])*")
# a transliterated name is fixed by the two characters before its dot and the one after (约什·诺…)
_ZH_NAME = re.compile(r"[\u3400-\u9fff]{2}·[\u3400-\u9fff]|《([^》]{1,30})》")
_EN_SKIP = frozenset("The A An This That These Those It Its In On At By For From With As If When While After Before "
                     "He She They We You I There Here Yes No".split())  # fmt: skip


def subject_names(sentence: str) -> list[str]:
    """Names the sentence is about: capitalised word runs (a first word only when it is not a
    function word), transliterated names and 《titles》."""
    out = []
    for m in _EN_NAME.finditer(sentence):
        words = [w for w in m.group(0).split() if w not in _EN_SKIP]
        if words:
            out.append(" ".join(words))
    out += [m.group(1) or m.group(0) for m in _ZH_NAME.finditer(sentence)]
    return out


def subject_missing(sentence: str, window: str, passage: str = "", question: str = "") -> bool:
    """True when a name in the sentence (not in the question) occurs nowhere in the window or the passage's headings."""
    low, q = (window + " " + passage).lower(), question.lower()
    cross = bool(re.search(r"[\u3400-\u9fff]", sentence)) != bool(re.search(r"[\u3400-\u9fff]", window))
    for name in subject_names(sentence):
        if cross and not name.isascii():
            continue  # 伯特·布林 cannot be looked up in an English passage
        n = name.lower()
        if n in q or n in low:
            continue
        parts = [p for p in re.split(r"[\s·]+", n) if len(p) > 2]
        if parts and all(p in low or p in q for p in parts):
            continue  # "John Smith" against "Smith"
        return True
    return False


# -- sentences that state nothing ---------------------------------------------------------------

_EN_FILL = re.compile(r"^(?:the\s+)?(?:answer|result|response|reply|option|options|source|sources)\s+(?:is|are|was|:)\s*", re.I)
_ZH_FILL = re.compile(r"^(?:答案|结果|回答|选项|资料|来源)(?:是|为|：|:)\s*")
_EN_VERB = re.compile(r"\b(?:is|are|was|were|be|been|being|am|has|have|had|do|does|did|can|could|will|would|shall|"
                      r"should|may|might|must|\w{3,}(?:ed|es|s)|went|made|took|came|got|gave|found|began|won|wrote|"
                      r"became|left|held|led|built|ran|saw|knew|told|brought|thought|put|set|cut|let|met|paid|sold|"
                      r"sent|spent|stood|taught|felt|kept|lost|meant|heard|said|fell|grew|drew|flew|rose|broke|chose|"
                      r"spoke|drove|wore|ate|fought|caught|bought|sat|hung|struck|run|make|take|come|get|give|find|"
                      r"begin|win|write|become|leave|hold|lead|build|see|know|tell|bring|think|use|need|want|allow|"
                      r"support|include|contain|exclude|return|start|stop|keep|show|mean|work|live|die|born|called|"
                      r"known|seen|taken|given|written|done|gone)\b", re.I)  # fmt: skip
_EN_TAIL_AUX = re.compile(r"\b(?:is|are|was|were|has|have|had|do|does|did|can|could|will|would|shall|should|may|"
                          r"might|must|be|the|a|an|of|to|and|or)\W*$", re.I)  # fmt: skip
_ZH_PRED = re.compile(r"[是有在为于被把了过着会能可要将说称成属由叫做用发出到得给让使对向从以不没未无非]")
_ZH_TAIL = re.compile(r"(?:是|为|和|与|及|：|:)\W*$")
_NOUNISH_S = frozenset("options its this has was is us as yes thus plus bus gas class glass process access address "
                       "series species news means".split())  # fmt: skip


def states_nothing(sentence: str, question: str = "") -> bool:
    """A bare number or marker ("1.", "2 [2]"), a filler plus a number ("The answer is 0."), or a
    fragment without a predicate ("The grep option", "The ssh -L option is", 「答案是」)."""
    text = re.sub(r"[\[【]\s*\d+\s*[\]】]", " ", sentence).strip()
    core = re.sub(r"[\W_]+", "", text)
    if not core or core.isdigit() or len(core) < 2:
        return True
    rest = _ZH_FILL.sub("", _EN_FILL.sub("", text)).strip(" .。!！?？")
    if not re.sub(r"[\W\d_]+", "", rest) or len(re.sub(r"\W+", "", rest)) < 2:
        return True  # only a number (or nothing) after a filler
    if re.search(r"[\u3400-\u9fff]", text):
        short = len(re.findall(r"[\u3400-\u9fff]", text)) <= 6 and not _ZH_PRED.search(text)
        return short or bool(_ZH_TAIL.search(text.rstrip("。.!！?？ ")))
    body = text.rstrip(" .!?;:")
    if _EN_TAIL_AUX.search(body):
        return True  # "The ssh -L option is"
    words = re.findall(r"[A-Za-z][\w'-]*", body)
    verbs = [w for w in _EN_VERB.findall(body) if w.lower() not in _NOUNISH_S and not w[0].isupper()]
    if len(words) <= 6 and not verbs:
        return True  # "The grep option", "Port 8700"
    return False


# -- the window --------------------------------------------------------------------------------


def windows(passage: str, size: int = 2) -> list[str]:
    """Every run of 1..size consecutive sentences of the passage."""
    spans = list(sentence_spans(passage)) or [(0, len(passage))]
    out = []
    for i in range(len(spans)):
        for j in range(i, min(len(spans), i + size)):
            out.append(" ".join(passage[spans[i][0] : spans[j][1]].split()))
    return out


def align(sentence: str, passage: str, question: str = "", size: int = 2) -> str:
    """The window (1..size passage sentences) that holds most of the sentence's terms, new terms first;
    the shortest among equals."""
    asked = set(terms(question))
    mine = set(terms(sentence))
    new = mine - asked or mine
    nums = {v for v, _ in numbers(sentence)}
    best, key = passage, (-1, -1, -1, 0)
    for w in windows(passage, size):
        have = set(terms(w))
        k = (len(nums & {v for v, _ in numbers(w)}), len(new & have), len(mine & have), -len(w))
        if k > key:
            best, key = w, k
    return best


ANCHOR_GAP = 0.4  # share of the question's terms: best place in the passage minus the answer's place


def anchor_missing(sentence: str, passage: str, question: str = "", gap: float | None = None) -> bool:
    """True when the sentence restates the question (>= 2 shared terms) and every passage sentence
    holding the most of its answer words (terms not in the question) shares at least `gap` less of
    those question terms than the passage's best sentence for them: the answer comes from a part of the
    passage about something else. Same-language pairs only (terms cannot be compared across)."""
    gap = ANCHOR_GAP if gap is None else gap
    if not question:
        return False
    asked_q, mine = set(terms(question)), set(terms(sentence))
    asked, new = mine & asked_q, mine - asked_q
    if len(asked) < 2 or not new:
        return False
    have = [set(terms(w)) for w in windows(passage, 1)]
    top = max((len(new & h) for h in have), default=0)
    if top == 0:
        return False
    at_answer = max(len(asked & h) for h in have if len(new & h) == top)
    best = max(len(asked & h) for h in have)
    return (best - at_answer) / len(asked) >= gap


def veto(sentence: str, window: str, question: str = "", passage: str = "") -> str | None:
    """The first rule that refuses `sentence` as stated by `window` ('empty', 'negation', 'number',
    'subject', 'anchor'), or None when the rules let it through to the learned check."""
    if states_nothing(sentence, question):
        return "empty"
    if number_differs(sentence, window, question):
        return "number"
    if polarity_differs(sentence, window):
        return "negation"
    if subject_missing(sentence, window, passage, question):
        return "subject"
    if passage and _same_script(sentence, passage) and anchor_missing(sentence, passage, question):
        return "anchor"
    return None


def _same_script(a: str, b: str) -> bool:
    from lingxi.rag import lang as L

    return L.detect(a) == L.detect(b)
