"""QA scorers, retrieval metrics and the judge, against hand-computed values."""

from __future__ import annotations

import json
import math

import pytest

from lingxi.errors import ConfigError
from lingxi.evals.judge import JUDGE_PROMPTS, judge_faithfulness, judge_relevance, judge_rows, parse_verdict
from lingxi.evals.qa import (cmrc_em, cmrc_f1, mixed_segmentation, qa_scores, read_predictions, read_squad,
                             squad_em, squad_f1)
from lingxi.evals.retrieval import evaluate_search, ndcg_at_k, retrieval_scores
from lingxi.models.scripted import ScriptedChat
from lingxi.types import Chunk, Hit


def test_cmrc_segmentation_and_scores():
    assert mixed_segmentation("于1898年创办, Peking University！", rm_punc=True) == \
        ["于", "1898", "年", "创", "办", ",", "peking", "university"]
    # LCS of [1898, 年] in [于, 1898, 年]: p = 2/3, r = 1 -> F1 = 0.8
    assert cmrc_f1(["1898年"], "于1898年") == pytest.approx(0.8)
    assert cmrc_f1(["北京", "1898年"], "1898年") == 1.0  # max over references
    assert cmrc_em(["《红楼梦》"], "红楼梦") == 1.0 and cmrc_em(["红楼梦"], "红楼") == 0.0
    assert cmrc_f1(["红楼梦"], "水浒传") == 0.0


def test_squad_scores():
    assert squad_em(["The Eiffel Tower"], "eiffel tower.") == 1.0
    assert squad_f1(["the Eiffel Tower"], "Eiffel tower in Paris") == pytest.approx(2 * 0.5 * 1 / 1.5)


def test_qa_scores_picks_scorer_and_counts_unanswered():
    refs = {"q1": ["1898年"], "q2": ["蔡元培"], "q3": ["北京"]}
    s = qa_scores({"q1": "1898年", "q2": "于1898年"}, refs)
    assert s["scorer"] == "cmrc2018" and s["skip"] == 1 and s["total"] == 3
    assert s["em"] == pytest.approx(100 / 3) and s["f1"] == pytest.approx(100 / 3)
    en = qa_scores({"a": "Paris"}, {"a": ["Paris", "the city of Paris"]})
    assert en["scorer"] == "squad-v1.1" and en["em"] == 100.0


def test_read_squad_and_predictions(tmp_path):
    data = {"data": [{"paragraphs": [{"context": "北京大学创办于1898年。", "qas": [
        {"id": "Q1 ", "question": "北京大学何时创办？", "answers": [{"text": "1898年", "answer_start": 7}]}]}]}]}
    (tmp_path / "d.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert read_squad(tmp_path / "d.json")[0]["id"] == "Q1" and read_squad(tmp_path / "d.json")[0]["answers"] == ["1898年"]
    (tmp_path / "p.jsonl").write_text('{"id": "Q1", "prediction": "1898年"}\n{"id": "Q2", "answer": "x"}\n')
    assert read_predictions(tmp_path / "p.jsonl") == {"Q1": "1898年", "Q2": "x"}
    with pytest.raises(ConfigError, match="does not exist"):
        read_squad(tmp_path / "missing.json")


def test_retrieval_metrics_by_hand():
    # query 1: relevant at rank 2 (of 1 relevant); query 2: relevant at ranks 1 and 3 (of 2 relevant)
    s = retrieval_scores([([False, True, False], 1), ([True, False, True], 2)], ks=(1, 3))
    assert s["recall@1"] == pytest.approx((0 + 0.5) / 2) and s["recall@3"] == pytest.approx(1.0)
    assert s["mrr"] == pytest.approx((0.5 + 1.0) / 2) and s["hit@1"] == 0.5
    ideal2 = 1 + 1 / math.log2(3)
    assert s["ndcg@3"] == pytest.approx(((1 / math.log2(3)) + (1 + 1 / math.log2(4)) / ideal2) / 2)
    assert ndcg_at_k([1.0, 1.0], 2, 2) == pytest.approx(1.0)


def test_evaluate_search_matches_ids_sources_and_answer_text():
    docs = {"a": Chunk(id="c1", source="/kb/beijing.md", text="北京大学创办于1898年"),
            "b": Chunk(id="c2", source="/kb/other.md", text="无关")}

    def search(query, k):
        order = ["b", "a"] if "北大" in query else ["a", "b"]
        return [Hit(chunk=docs[x], score=1.0) for x in order][:k]

    rows = [{"query": "北大何时创办", "relevant": ["beijing.md"]}, {"query": "创办年份", "answer": "1898年"},
            {"query": "x", "relevant": ["c2"]}]
    s = evaluate_search(search, rows, ks=(1, 2))
    assert [it["ranks"] for it in s["items"]] == [[2], [1], [2]]
    assert s["mrr"] == pytest.approx((0.5 + 1 + 0.5) / 3)


def test_judge_prompts_scores_and_aggregate():
    fake = ScriptedChat(['{"score": 5, "reason": "supported"}', '{"score": 2, "reason": "off topic"}'])
    v = judge_faithfulness(fake, "何时创办？", "1898年", "北京大学创办于1898年。")
    assert v.score == 5 and v.normalized == 1.0
    sent = fake.calls[0]["messages"][0].content
    assert "北京大学创办于1898年。" in sent and "CONTEXT" in sent and "Do not use outside knowledge" in sent
    assert judge_relevance(fake, "q", "a").normalized == pytest.approx(0.25)
    assert "CONTEXT" not in fake.calls[1]["messages"][0].content
    assert parse_verdict("relevance", "I'd say 4 out of 5").score == 4
    assert parse_verdict("relevance", "no idea").score is None
    agg = judge_rows(ScriptedChat(['{"score": 5, "reason": ""}', '{"score": 3, "reason": ""}'] * 2),
                     [{"question": "q", "answer": "a", "context": "c"}] * 2)
    assert agg["faithfulness_mean"] == 5 and agg["relevance"] == pytest.approx(0.5) and agg["n"] == 2
    assert set(JUDGE_PROMPTS) == {"faithfulness", "relevance"}
