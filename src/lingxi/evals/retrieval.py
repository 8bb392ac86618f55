"""Retrieval metrics over ranked results: Recall@k, hit rate@k, MRR and nDCG@k.

A labelled set is JSON lines of ``{"query": ..., "relevant": [ids or sources], "answer": optional}``:
a hit counts as relevant when its chunk id or source is listed, or (when given) the answer text occurs
in it — which lets a QA data set (CMRC) serve as a retrieval set without chunk ids.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lingxi.errors import ConfigError

DEFAULT_KS = (1, 3, 5, 10)


def recall_at_k(relevant_flags: Sequence[bool], n_relevant: int, k: int) -> float:
    """Share of the relevant items found in the top k (n_relevant: how many relevant items exist)."""
    return min(1.0, sum(relevant_flags[:k]) / n_relevant) if n_relevant else 0.0


def hit_at_k(relevant_flags: Sequence[bool], k: int) -> float:
    return 1.0 if any(relevant_flags[:k]) else 0.0


def reciprocal_rank(relevant_flags: Sequence[bool]) -> float:
    return next((1.0 / (i + 1) for i, rel in enumerate(relevant_flags) if rel), 0.0)


def ndcg_at_k(gains: Sequence[float], n_relevant: int, k: int) -> float:
    """nDCG with the given gains (1/0 for binary relevance); the ideal puts n_relevant gains of 1 first."""
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, n_relevant)))
    return dcg / ideal if ideal else 0.0


def retrieval_scores(results: Sequence[tuple[Sequence[bool], int]], ks: Sequence[int] = DEFAULT_KS) -> dict[str, Any]:
    """Mean metrics over queries; each result is (relevance flag per ranked hit, number of relevant items)."""
    if not results:
        raise ConfigError("There are no queries to score.", "give a labelled set with at least one query")
    n = len(results)
    out: dict[str, Any] = {"queries": n}
    for k in ks:
        out[f"recall@{k}"] = sum(recall_at_k(f, r, k) for f, r in results) / n
        out[f"hit@{k}"] = sum(hit_at_k(f, k) for f, _ in results) / n
        out[f"ndcg@{k}"] = sum(ndcg_at_k([float(x) for x in f], r, k) for f, r in results) / n
    out["mrr"] = sum(reciprocal_rank(f) for f, _ in results) / n
    return out


def read_labelled_queries(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"The labelled set {path} does not exist.", "write JSON lines of {query, relevant}")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if "query" not in row or not (row.get("relevant") or row.get("answer")):
            raise ConfigError(f"Line {n} of {path.name} needs 'query' and 'relevant' (or 'answer').",
                              'e.g. {"query": "...", "relevant": ["doc.md"]}')
        rows.append(row)
    return rows


def is_relevant(hit: Any, row: dict[str, Any]) -> bool:
    chunk = getattr(hit, "chunk", hit)
    wanted = set(row.get("relevant") or [])
    if getattr(chunk, "id", None) in wanted or getattr(chunk, "source", None) in wanted:
        return True
    if any(w and str(getattr(chunk, "source", "")).endswith("/" + w) for w in wanted):
        return True
    answer = row.get("answer")
    return bool(answer) and str(answer) in getattr(chunk, "text", "")


def evaluate_search(search: Callable[[str, int], Sequence[Any]], rows: Sequence[dict[str, Any]],
                    ks: Sequence[int] = DEFAULT_KS) -> dict[str, Any]:
    """Run `search(query, k)` for each labelled query and score the ranking."""
    depth = max(ks)
    results, items = [], []
    for row in rows:
        hits = list(search(row["query"], depth))
        flags = [is_relevant(h, row) for h in hits]
        n_rel = len(row.get("relevant") or []) or 1
        results.append((flags, n_rel))
        items.append({"query": row["query"], "ranks": [i + 1 for i, f in enumerate(flags) if f]})
    return {**retrieval_scores(results, ks), "items": items}
