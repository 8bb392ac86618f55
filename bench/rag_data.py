"""Data shared by bench/calibrate_rag.py and bench/rag.py.

Each data set (CMRC 2018 trial, XQuAD zh, XQuAD en) is split by *article*: the
paragraphs of even-numbered articles form the knowledge base ("in-KB"), the
questions of odd-numbered articles are asked against it as questions whose
passage is not there ("out-of-KB"). Questions are split again by parity of
their position: odd positions calibrate the thresholds, even positions are the
benchmark, so the benchmark never sees a question used for calibration.

Passages are written one file per paragraph under $LINGXI_HOME/bench/rag/DATASET
(never into the repository) and ingested into the KB `bench-rag-DATASET`
(multilingual-e5-small, default chunking); re-running reuses both.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
FILES = {"cmrc": "cmrc2018/cmrc2018_trial.json", "xquad-zh": "xquad/xquad.zh.json", "xquad-en": "xquad/xquad.en.json",
         "covid_qa": "covid_qa/200423_covidQA.json"}  # fmt: skip


@dataclass
class Item:
    id: str
    question: str
    answers: list[str]
    answer_start: int
    path: str  # the passage file
    article: int
    in_kb: bool
    position: int
    context: str = field(repr=False, default="")


def data_dir() -> Path:
    path = DATA.resolve()
    if not path.is_dir():
        raise SystemExit(f"the shared data folder {path} is absent: nothing to measure (see ../shared/data/README.md)")
    return path


def load(dataset: str, home: Path) -> list[Item]:
    """All questions of a data set, writing the passage files on first use."""
    raw = json.loads((data_dir() / FILES[dataset]).read_text(encoding="utf-8"))
    folder = home / "bench" / "rag" / dataset
    folder.mkdir(parents=True, exist_ok=True)
    items: list[Item] = []
    for a, article in enumerate(raw["data"]):
        for p, para in enumerate(article["paragraphs"]):
            path = folder / f"a{a:03d}_p{p:02d}.txt"
            if a % 2 == 0 and not path.exists():
                path.write_text(para["context"], encoding="utf-8")
            for qa in para["qas"]:
                answers = [x["text"] for x in qa["answers"]]
                items.append(Item(qa["id"], qa["question"], answers, qa["answers"][0]["answer_start"], str(path), a,
                                  a % 2 == 0, len(items), para["context"]))  # fmt: skip
    return items


def split(items: list[Item], part: str, n: int | None = None) -> tuple[list[Item], list[Item]]:
    """(in-KB, out-of-KB) questions of the 'calibration' or 'bench' part, at most n of each,
    spread evenly over the data set."""
    parity = 1 if part == "calibration" else 0
    pool = [i for i in items if i.position % 2 == parity]
    ins, outs = [i for i in pool if i.in_kb], [i for i in pool if not i.in_kb]
    return _spread(ins, n), _spread(outs, n)


def _spread(items: list[Item], n: int | None) -> list[Item]:
    if n is None or len(items) <= n:
        return items
    step = len(items) / n
    return [items[int(k * step)] for k in range(n)]


def knowledge_base(dataset: str, home: Path):  # noqa: ANN201
    """The KB of the data set's in-KB passages (built, or brought up to date, on first use)."""
    from lingxi.config import load_settings
    from lingxi.knowledge import KnowledgeBase

    settings = load_settings(home=str(home))
    kb = KnowledgeBase.create(f"bench-rag-{dataset}", "e5", settings=settings, exist_ok=True)
    kb.ingest(home / "bench" / "rag" / dataset)
    return kb


def gold_chunk(kb, item: Item):  # noqa: ANN001, ANN201
    """The chunk of the item's passage that holds the answer (by character offsets)."""
    from lingxi.knowledge.store import where_clause

    cols = ["id", "source", "text", "start", "end", "page", "headings", "hash", "kind", "metadata", "file_hash"]
    rows = kb.store._select(where_clause({"source": item.path}), cols)  # LanceStore: every chunk of the file
    chunks = [kb.store._chunk(r) for r in rows]
    pos = item.answer_start
    holding = [c for c in chunks if c.start <= pos < c.end and item.answers[0] in c.text]
    return holding[0] if holding else next((c for c in chunks if item.answers[0] in c.text), None)


_ZH_WH = re.compile(r"什么|哪一年|哪年|哪些|哪个|哪位|哪里|哪儿|哪|谁|多少|几|何时|怎样|如何")


def claim(question: str, answer: str, lang: str) -> str:
    """A declarative sentence stating `answer` to `question`, the way a short answer reads."""
    if lang == "zh":
        q = question.strip().rstrip("？?。")
        return (_ZH_WH.sub(answer, q, count=1) if _ZH_WH.search(q) else f"{q}：{answer}") + "。"
    return f"{question.strip().rstrip('?')}: {answer}."
