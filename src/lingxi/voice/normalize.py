"""Text normalisation for speech: numbers, dates, times, percentages, money and units read out
in Chinese (cn2an plus rules) and English, and mixed text split into runs by language.

    >>> normalize_zh("2024年5月1日气温25℃，增长12.5%")
    '二零二四年五月一日气温二十五摄氏度，增长百分之十二点五'
    >>> normalize_en("On 2024-05-01 it was 25°C, up 12.5%")
    'On May first, twenty twenty-four it was twenty-five degrees Celsius, up twelve point five percent'
    >>> split_languages("灵犀 supports RAG 和 agents")
    [('zh', '灵犀 '), ('en', 'supports RAG '), ('zh', '和 '), ('en', 'agents')]
"""

from __future__ import annotations

import re

NUM = r"\d+(?:\.\d+)?"
UNITS_ZH = {"km": "公里", "kg": "千克", "cm": "厘米", "mm": "毫米", "ml": "毫升", "mL": "毫升", "GB": "吉字节",
            "MB": "兆字节", "KB": "千字节", "TB": "太字节", "kW": "千瓦", "km/h": "公里每小时", "m/s": "米每秒",
            "m": "米", "g": "克", "L": "升", "h": "小时", "s": "秒", "min": "分钟", "Hz": "赫兹", "kHz": "千赫",
            "℃": "摄氏度", "°C": "摄氏度", "°": "度"}
UNITS_EN = {"km": "kilometers", "kg": "kilograms", "cm": "centimeters", "mm": "millimeters", "ml": "milliliters",
            "mL": "milliliters", "GB": "gigabytes", "MB": "megabytes", "KB": "kilobytes", "TB": "terabytes",
            "kW": "kilowatts", "km/h": "kilometers per hour", "m/s": "meters per second", "m": "meters",
            "g": "grams", "L": "liters", "h": "hours", "s": "seconds", "min": "minutes", "Hz": "hertz",
            "kHz": "kilohertz", "℃": "degrees Celsius", "°C": "degrees Celsius", "°F": "degrees Fahrenheit",
            "°": "degrees"}
_UNIT_RE = "|".join(re.escape(u) for u in sorted(UNITS_EN, key=len, reverse=True))
NUM_UNIT = re.compile(rf"({NUM})\s?({_UNIT_RE})(?![A-Za-z])")
CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_TOKEN = re.compile(rf"(?P<nu>{NUM}\s?(?:{_UNIT_RE})(?![A-Za-z]))|(?P<zh>[{CJK}]+)|(?P<en>[A-Za-z][A-Za-z'’-]*)|(?P<x>.)", re.S)


def split_languages(text: str) -> list[tuple[str, str]]:
    """Runs of ("zh" | "en", text). Digits, spaces and punctuation join the run before them
    (or the first run when they lead), so "第3章" stays Chinese and "Chapter 3" English."""
    runs: list[list[str]] = []
    pending = ""
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind not in ("zh", "en"):
            pending += m.group()
            continue
        if runs:
            runs[-1][1] += pending
        if runs and runs[-1][0] == kind:
            runs[-1][1] += m.group()
        else:
            runs.append([kind, ("" if runs else pending) + m.group()])
        pending = ""
    if runs:
        runs[-1][1] += pending
    elif pending:
        runs.append(["zh" if re.search(f"[{CJK}]", pending) else "en", pending])
    return [(k, t) for k, t in runs if t.strip()]


# --- Chinese -------------------------------------------------------------------------------

def _an2cn(number: str) -> str:
    import cn2an

    return cn2an.an2cn(number, "low")


def _digits_zh(number: str) -> str:
    return "".join("零一二三四五六七八九"[int(d)] for d in number)


def normalize_zh(text: str) -> str:
    """Chinese text with every number read out: dates, times, money, units, percentages, decimals."""
    try:
        import cn2an
    except ImportError:  # the voice extra brings cn2an; without it digits stay digits (espeak reads them in English)
        return text
    text = re.sub(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)", lambda m: f"{m[1]}年{int(m[2])}月{int(m[3])}日", text)
    text = re.sub(r"(\d{1,2}):(\d{2})(?::(\d{2}))?",
                  lambda m: f"{_an2cn(str(int(m[1])))}点" + (f"{_an2cn(str(int(m[2])))}分" if int(m[2]) else "整")
                  + (f"{_an2cn(str(int(m[3])))}秒" if m[3] else ""), text)
    text = re.sub(rf"[¥￥]\s?({NUM})元?", lambda m: _an2cn(m[1]) + "元", text)
    text = re.sub(rf"\$\s?({NUM})", lambda m: _an2cn(m[1]) + "美元", text)
    text = re.sub(rf"({NUM})\s?%", lambda m: "百分之" + _an2cn(m[1]), text)
    text = re.sub(r"(\d{4})年", lambda m: _digits_zh(m[1]) + "年", text)
    text = NUM_UNIT.sub(lambda m: _an2cn(m[1]) + UNITS_ZH.get(m[2], m[2]), text)
    text = re.sub(r"(?<![\d.])(0\d+|\d{9,})(?![\d.])", lambda m: _digits_zh(m[1]), text)  # phone numbers, codes
    text = re.sub(NUM, lambda m: _an2cn(m[0]), text)
    return cn2an.transform(text, "an2cn")


# --- English -------------------------------------------------------------------------------

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_ORD = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth",
        "twelve": "twelfth"}
_MONTHS = "January February March April May June July August September October November December".split()


def number_en(n: int) -> str:
    """Cardinal English words for an integer (up to the trillions)."""
    if n < 0:
        return "minus " + number_en(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("-" + _ONES[n % 10] if n % 10 else "")
    if n < 1000:
        return _ONES[n // 100] + " hundred" + (" " + number_en(n % 100) if n % 100 else "")
    for size, word in ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")):
        if n >= size:
            return number_en(n // size) + f" {word}" + (" " + number_en(n % size) if n % size else "")
    return str(n)


def ordinal_en(n: int) -> str:
    words = number_en(n)
    head, sep, last = words.rpartition("-") if "-" in words.split(" ")[-1] else words.rpartition(" ")
    last = _ORD.get(last, last[:-1] + "ieth" if last.endswith("y") else last + "th")
    return head + sep + last


def year_en(y: int) -> str:
    if 2000 <= y < 2010 or y % 1000 == 0 or not 1100 <= y < 2100:
        return number_en(y)
    hi, lo = divmod(y, 100)
    return number_en(hi) + (" hundred" if lo == 0 else " oh " + _ONES[lo] if lo < 10 else " " + number_en(lo))


def _decimal_en(s: str) -> str:
    whole, _, frac = s.partition(".")
    out = " ".join(_ONES[int(d)] for d in whole) if len(whole) > 12 else number_en(int(whole))
    return out + (" point " + " ".join(_ONES[int(d)] for d in frac) if frac else "")


def normalize_en(text: str) -> str:
    """English text with numbers, dates, times, money, units and percentages in words."""
    text = re.sub(r"\b(\d{4})-(\d{2})-(\d{2})\b", lambda m: f"{_MONTHS[int(m[2]) - 1]} {ordinal_en(int(m[3]))}, "
                  f"{year_en(int(m[1]))}" if 1 <= int(m[2]) <= 12 and 1 <= int(m[3]) <= 31 else m[0], text)
    text = re.sub(r"\b(\d{1,2}):(\d{2})\b", lambda m: number_en(int(m[1])) + (
        " o'clock" if m[2] == "00" else " oh " + _ONES[int(m[2])] if m[2].startswith("0") else " " + number_en(int(m[2]))), text)
    text = re.sub(r"\$(\d+)(?:\.(\d{2}))?", lambda m: number_en(int(m[1])) + " dollars"
                  + (f" and {number_en(int(m[2]))} cents" if m[2] and int(m[2]) else ""), text)
    text = re.sub(rf"({NUM})\s?%", lambda m: _decimal_en(m[1]) + " percent", text)
    text = NUM_UNIT.sub(lambda m: _decimal_en(m[1]) + " " + UNITS_EN.get(m[2], m[2]), text)
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: ordinal_en(int(m[1])), text)
    text = re.sub(r"\b(1[1-9]\d\d|20\d\d)\b(?!\.\d)", lambda m: year_en(int(m[1])), text)
    text = re.sub(r"\b\d{1,3}(?:,\d{3})+\b", lambda m: m[0].replace(",", ""), text)
    return re.sub(r"\d+(?:\.\d+)?", lambda m: _decimal_en(m[0]), text)


LONG_DIGITS = re.compile(r"\d{25,}")


def normalize(text: str, language: str) -> str:
    """`text` with numbers and symbols in words; text the rules cannot parse is spoken as it is.
    A run of more than 24 digits is said as "a 300-digit number" (4096 zeros would be 20 minutes of speech)."""
    text = LONG_DIGITS.sub(lambda m: (f"一个{len(m[0])}位数" if language == "zh" else f"a {len(m[0])} digit number"), text)
    try:
        return normalize_zh(text) if language == "zh" else normalize_en(text)
    except (ValueError, KeyError, IndexError, OverflowError, RecursionError):
        return text
