"""Phrase lists for moderation, Chinese and English, one regex per category and strength.

Strong phrases (an intent or an unambiguous term) score 0.95 on their own; weak ones (a topic
word that education and news use too) score 0.4: below the flag threshold, but enough to send
the text to the e5 head. Intensifiers such as 难吃死了 / 笑死 / 气死我了 are not violence, and
垃圾 / 差评 are opinions, not hate: none of them is listed.
"""

from __future__ import annotations

import re

STRONG, WEAK = 0.95, 0.4

_PATTERNS: dict[str, dict[float, list[str]]] = {
    "hate": {
        STRONG: [r"黑鬼", r"尼哥", r"支那", r"死基佬", r"操你妈", r"贱人",
                 r"婊子", r"杂种", r"狗杂碎", r"\bn[i1]gg(?:er|a)s?\b", r"\bf[a@]gg?ots?\b", r"\bk[i1]kes?\b", r"\bch[i1]nks?\b",
                 r"\bretard(?:ed)?\b", r"go back to your (?:own )?country", r"\bsubhuman\b"],
        WEAK: [r"傻[逼屄比]", r"煞笔", r"草泥马", r"你妈[的逼]", r"滚出", r"脑残", r"废物", r"畜生", r"去死", r"\bidiots?\b", r"\bmoron\b", r"\bstupid\b", r"\bfilthy\b"],
    },
    "sexual": {
        STRONG: [r"约炮", r"裸照", r"做爱", r"性交", r"口交", r"黄色网站", r"色情(?:视频|图片|网站|小说|片)", r"卖淫", r"嫖娼", r"迷奸",
                 r"开房.{0,4}(?:做|睡)", r"\bporn\w*", r"\bnudes?\b", r"\bblow ?jobs?\b", r"\berotic\b", r"\bhave sex\b",
                 r"\bsex (?:scenes?|videos?|chat)\b", r"\bnaked (?:pictures?|photos?|body)\b"],
        WEAK: [r"色情", r"性爱", r"\bsex\b", r"\bescorts?\b", r"\bnaked\b"],
    },
    "violence": {
        STRONG: [r"(?:杀|砍|捅|弄|打)死(?:你|他|她|你们|他们|全家)", r"杀了(?:你|他|她|你们|他们|全家)", r"我要杀", r"往死里打",
                 r"(?:制作|制造|做|造)(?:一个|个)?(?:炸弹|炸药|燃烧瓶)", r"血洗", r"(?:打|揍)(?:断|残)(?:你|他|她)",
                 r"\b(?:kill|murder|stab|shoot) (?:you|him|her|them|everyone|people)\b", r"\b(?:pipe )?bombs? to\b",
                 r"\b(?:build|make) (?:a |an )?(?:pipe )?bomb\b", r"\bbeat (?:you|him|her) to death\b",
                 r"\btorture (?:a|the|him|her)\b"],
        WEAK: [r"炸弹", r"枪", r"屠杀", r"暴力", r"\bkill\b", r"\bbomb\b", r"\bweapons?\b"],
    },
    "self_harm": {
        STRONG: [r"我(?:真的)?(?:想|要)自杀", r"怎么自杀", r"自杀(?:方法|的方法)", r"不想活了", r"割腕", r"结束(?:自己的|我的)?生命",
                 r"(?:安眠药|药).{0,8}(?:一睡不醒|死)", r"(?:跳楼|上吊|烧炭)(?:自杀)?(?:会|要|需要|才|怎么)",
                 r"\bkill myself\b", r"\bend my life\b", r"\bsuicide (?:method|note)s?\b", r"\bhang myself\b",
                 r"\b(?:cut|hurt) myself\b", r"\boverdose on\b", r"\bdon'?t want to live\b"],
        WEAK: [r"自杀", r"轻生", r"自残", r"\bsuicid\w*", r"\bself[- ]harm\b"],
    },
    "illegal": {
        STRONG: [r"(?:制作|制造|合成|提炼)(?:冰毒|毒品|海洛因|摇头丸|K粉)", r"(?:买|卖)(?:到)?(?:枪支|毒品|大麻|假币|假钞)", r"洗钱",
                 r"伪造(?:身份证|护照|证件|公章)", r"勒索病毒", r"电信诈骗", r"代开发票", r"黑进", r"盗取.{0,6}(?:密码|账号)",
                 r"\bcook meth\b", r"\blaunder(?:ing)? money\b", r"\bransomware\b", r"\bfake passports?\b",
                 r"\bphishing (?:email|page|site)\b", r"\bhack into\b", r"\buntraceable gun\b", r"\bsell drugs\b"],
        WEAK: [r"毒品", r"诈骗", r"破解", r"\bdrugs?\b", r"\bhack\w*", r"\bsteal\b"],
    },
}

COMPILED: dict[str, list[tuple[float, re.Pattern[str]]]] = {
    cat: [(w, re.compile("|".join(f"(?:{p})" for p in pats), re.I)) for w, pats in levels.items()]
    for cat, levels in _PATTERNS.items()
}


def scan(text: str) -> tuple[dict[str, float], list[tuple[int, int, str, float]]]:
    """Per-category lexicon scores and the matched spans (start, end, category, score)."""
    scores: dict[str, float] = {}
    spans = []
    for cat, levels in COMPILED.items():
        for weight, rx in levels:
            for m in rx.finditer(text):
                spans.append((m.start(), m.end(), cat, weight))
                scores[cat] = max(scores.get(cat, 0.0), weight)
    return scores, spans
