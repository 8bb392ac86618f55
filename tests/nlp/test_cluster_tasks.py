"""Clustering (real embeddings, scripted names) and prompt-based tasks (scripted model)."""

from __future__ import annotations

import json

import pytest

from lingxi.errors import ConfigError
from lingxi.models.scripted import ScriptedChat
from lingxi.nlp.classify import embed_texts
from lingxi.nlp.cluster import cluster_texts, write_cluster_report
from lingxi.nlp.tasks import extract_entities, rewrite, summarise, translate

TOPICS = ["股市今天大涨，沪指上涨3%", "央行宣布降准0.5个百分点", "基金净值创新高", "银行股领涨大盘",
          "国足2比0战胜对手", "湖人队夺得总冠军", "梅西打进关键进球", "马拉松比赛周末开跑"]


def test_kmeans_separates_topics_and_names_clusters(e5, tmp_path):
    vecs = embed_texts(e5, TOPICS)
    names = [json.dumps({"name": f"主题{i}", "summary": f"第{i}组"}, ensure_ascii=False) for i in range(2)]
    fake = ScriptedChat(names)
    result = cluster_texts(TOPICS, 2, embedder=e5, model=fake, vectors=vecs, examples_per_cluster=3)
    groups = result.assignments
    assert len(set(groups[:4])) == 1 and len(set(groups[4:])) == 1 and groups[0] != groups[4]
    assert [c.name for c in result.clusters] == ["主题0", "主题1"] and sum(c.size for c in result.clusters) == 8
    assert all(len(c.examples) == 3 for c in result.clusters)
    assert "- " in fake.calls[0]["messages"][0].content and fake.calls[0]["params"].response_format
    files = write_cluster_report(result, tmp_path)
    assert open(files["scatter_png"], "rb").read(4) == b"\x89PNG"
    assert "| 0 | 主题0 | 4 |" in open(files["markdown"], encoding="utf-8").read()
    assert result.points_2d.shape == (8, 2)
    with pytest.raises(ConfigError, match="--k"):
        cluster_texts(TOPICS[:2], 3, embedder=e5, vectors=vecs[:2])


def test_prompt_tasks_send_the_right_instructions():
    fake = ScriptedChat(["摘要。", "Hello world", "更简洁的句子。"])
    assert summarise(fake, "很长的文章", max_words=30) == "摘要。"
    assert "30 words" in fake.calls[0]["messages"][0].content
    assert translate(fake, "你好世界", target="English") == "Hello world"
    assert "into English" in fake.calls[1]["messages"][0].content
    assert rewrite(fake, "啰嗦的句子", style="formal") == "更简洁的句子。"
    assert "formal" in fake.calls[2]["messages"][0].content


def test_extract_entities_keeps_only_spans_in_the_text():
    reply = {"entities": [{"text": "北京大学", "type": "ORG"}, {"text": "1898年", "type": "DATE"},
                          {"text": "清华", "type": "ORG"}, {"text": "蔡元培", "type": "ALIEN"}]}
    fake = ScriptedChat([json.dumps(reply, ensure_ascii=False)])
    ents = extract_entities(fake, "北京大学创办于1898年，蔡元培曾任校长。")
    assert ents == [{"text": "北京大学", "type": "ORG"}, {"text": "1898年", "type": "DATE"},
                    {"text": "蔡元培", "type": "OTHER"}]
    assert fake.calls[0]["params"].response_format["type"] == "json_schema"
    assert extract_entities(ScriptedChat(['{"entities": "oops"}']), "x", params={"temperature": 0}) == []
