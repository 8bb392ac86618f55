"""Extractive-QA scores: exact match and F1.

* Chinese: a Python 3 port of the official CMRC 2018 scorer (v5), shipped with
  the data in ``cmrc2018/cmrc2018_evaluate.py``: mixed segmentation (each CJK
  character is a token), punctuation removed, F1 from the longest common
  substring of tokens, max over the reference answers. The official script uses
  ``nltk.word_tokenize`` on the non-Chinese stretches; here a regex
  (words and single punctuation marks) does that, which gives the same tokens
  for the numbers, Latin words and symbols in CMRC answers.
* English: SQuAD v1.1 — lowercase, drop punctuation and articles, bag-of-tokens F1.

Scores are percentages (0-100), as both official scripts print them.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from lingxi.errors import ConfigError

CMRC_PUNCT = set(['-', ':', '_', '*', '^', '/', '\\', '~', '`', '+', '=', '，', '。', '：', '？', '！', '“', '”', '；',
                  '’', '《', '》', '……', '·', '、', '「', '」', '（', '）', '－', '～', '『', '』'])
_CJK = re.compile(r"[\u4e00-\u9fa5]")
_WORDS = re.compile(r"\w+(?:[.'’]\w+)*|[^\w\s]", re.UNICODE)
Lang = Literal["zh", "en", "auto"]


def _word_tokenize(text: str) -> list[str]:
    return _WORDS.findall(text)


def mixed_segmentation(text: str, rm_punc: bool = False) -> list[str]:
    text = str(text).lower().strip()
    out: list[str] = []
    buffer = ""
    for char in text:
        if rm_punc and char in CMRC_PUNCT:
            continue
        if _CJK.match(char) or char in CMRC_PUNCT:
            if buffer:
                out.extend(_word_tokenize(buffer))
                buffer = ""
            out.append(char)
        else:
            buffer += char
    if buffer:
        out.extend(_word_tokenize(buffer))
    return out


def remove_punctuation(text: str) -> str:
    return "".join(c for c in str(text).lower().strip() if c not in CMRC_PUNCT)


def find_lcs(s1: Sequence[str], s2: Sequence[str]) -> tuple[Sequence[str], int]:
    """Longest common substring (contiguous) of two token lists, and its length."""
    m = [[0] * (len(s2) + 1) for _ in range(len(s1) + 1)]
    best, end = 0, 0
    for i in range(len(s1)):
        for j in range(len(s2)):
            if s1[i] == s2[j]:
                m[i + 1][j + 1] = m[i][j] + 1
                if m[i + 1][j + 1] > best:
                    best, end = m[i + 1][j + 1], i + 1
    return s1[end - best:end], best


def cmrc_f1(answers: Sequence[str], prediction: str) -> float:
    scores = []
    pred = mixed_segmentation(prediction, rm_punc=True)
    for ans in answers:
        ref = mixed_segmentation(ans, rm_punc=True)
        _, n = find_lcs(ref, pred)
        if n == 0:
            scores.append(0.0)
            continue
        p, r = n / len(pred), n / len(ref)
        scores.append(2 * p * r / (p + r))
    return max(scores) if scores else 0.0


def cmrc_em(answers: Sequence[str], prediction: str) -> float:
    pred = remove_punctuation(prediction)
    return 1.0 if any(remove_punctuation(a) == pred for a in answers) else 0.0


def squad_normalize(text: str) -> str:
    text = "".join(c for c in text.lower() if c not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def squad_f1(answers: Sequence[str], prediction: str) -> float:
    best = 0.0
    pred = squad_normalize(prediction).split()
    for ans in answers:
        ref = squad_normalize(ans).split()
        common = sum((Counter(pred) & Counter(ref)).values())
        if common:
            p, r = common / len(pred), common / len(ref)
            best = max(best, 2 * p * r / (p + r))
        elif not pred and not ref:
            best = max(best, 1.0)
    return best


def squad_em(answers: Sequence[str], prediction: str) -> float:
    return 1.0 if any(squad_normalize(a) == squad_normalize(prediction) for a in answers) else 0.0


def detect_lang(texts: Sequence[str]) -> Literal["zh", "en"]:
    joined = "".join(texts)[:2000]
    return "zh" if len(_CJK.findall(joined)) > 0.1 * max(1, len(joined.replace(" ", ""))) else "en"


def qa_scores(predictions: Mapping[str, str], references: Mapping[str, Sequence[str]],
              lang: Lang = "auto") -> dict[str, Any]:
    """EM and F1 (0-100) over all reference questions; a question without a prediction scores 0 (as officially)."""
    if not references:
        raise ConfigError("There are no reference answers to score against.", "check the data set file")
    if lang == "auto":
        lang = detect_lang([a for ans in references.values() for a in ans])
    f1_fn, em_fn = (cmrc_f1, cmrc_em) if lang == "zh" else (squad_f1, squad_em)
    items, em, f1, skipped = [], 0.0, 0.0, 0
    for qid, answers in references.items():
        if qid not in predictions:
            skipped += 1
            items.append({"id": qid, "em": 0.0, "f1": 0.0, "prediction": None})
            continue
        e, f = em_fn(answers, predictions[qid]), f1_fn(answers, predictions[qid])
        em, f1 = em + e, f1 + f
        items.append({"id": qid, "em": e, "f1": f, "prediction": predictions[qid]})
    total = len(references)
    em_pct, f1_pct = 100.0 * em / total, 100.0 * f1 / total
    return {"lang": lang, "scorer": "cmrc2018" if lang == "zh" else "squad-v1.1", "em": em_pct, "f1": f1_pct,
            "average": (em_pct + f1_pct) / 2, "total": total, "skip": skipped, "items": items}


def read_squad(path: str | Path) -> list[dict[str, Any]]:
    """Questions from a SQuAD-format file (CMRC 2018, XQuAD, SQuAD): id, question, context, answers."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"The data set {path} does not exist.", "pass a SQuAD-format JSON file")
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for article in data.get("data", []):
        for para in article.get("paragraphs", []):
            for qa in para.get("qas", []):
                out.append({"id": str(qa["id"]).strip(), "question": qa["question"].strip(),
                            "context": para["context"], "answers": [a["text"] for a in qa.get("answers", [])]})
    if not out:
        raise ConfigError(f"{path} holds no questions.", "expected SQuAD format: data[].paragraphs[].qas[]")
    return out


def read_predictions(path: str | Path) -> dict[str, str]:
    """Predictions as {id: answer} (JSON object) or JSON lines of {"id", "prediction"|"answer"}."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"The predictions file {path} does not exist.", "write {id: answer} as JSON")
    text = path.read_text(encoding="utf-8").strip()
    if text.startswith("{") and "\n{" not in text:
        return {str(k): str(v) for k, v in json.loads(text).items()}
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return {str(r["id"]): str(r.get("prediction", r.get("answer", ""))) for r in rows}
