"""Language centring: a KB that mixes Chinese and English searches both fairly."""

from __future__ import annotations

import numpy as np

from lingxi.knowledge.fusion import fuse
from lingxi.knowledge.languages import MIN_CHUNKS, LanguageCentres, centred_order
from lingxi.types import Chunk


def _unit(v):
    return (v / np.linalg.norm(v)).astype(np.float32)


def test_centres_only_for_a_mixed_kb(tmp_path):
    rng = np.random.default_rng(0)
    langs = LanguageCentres(tmp_path)
    assert not langs.known() and langs.centres() == {}
    langs.add(["北京是中国的首都。"] * MIN_CHUNKS, rng.standard_normal((MIN_CHUNKS, 8)))
    assert langs.known() and langs.centres() == {}  # one language: search as before
    langs.add(["Paris is the capital of France."] * 3, rng.standard_normal((3, 8)))
    assert langs.centres() == {}  # too few English chunks to trust a centre
    langs.add(["Paris is the capital of France."] * MIN_CHUNKS, rng.standard_normal((MIN_CHUNKS, 8)))
    centres = LanguageCentres(tmp_path).centres()  # persisted, read back
    assert set(centres) == {"zh", "en"} and centres["zh"].shape == (8,)


def test_centring_lets_the_other_language_win():
    zh_axis, en_axis, topic = np.eye(8, dtype=np.float32)[:3]
    centres = {"zh": zh_axis * 0.8, "en": en_axis * 0.8}
    query = _unit(zh_axis + 0.5 * topic)  # a Chinese question about the topic
    answer = Chunk(id="en#0", source="en.md", text="The topic, explained in English.")
    distractor = Chunk(id="zh#0", source="zh.md", text="另一个无关的中文段落。")
    vecs = {"en#0": _unit(en_axis + 0.9 * topic), "zh#0": _unit(zh_axis)}
    dense = [(c, float(vecs[c.id] @ query)) for c in (distractor, answer)]
    assert dense[0][1] > dense[1][1]  # plain cosine: the language wins
    shifted, offset = centred_order("这个主题是什么？", query, centres)
    assert len(shifted) == 1 and float(shifted[0] @ vecs["en#0"]) > float(shifted[0] @ vecs["zh#0"])
    hits = fuse("这个主题是什么？", [], dense, 2, offset=offset)
    assert hits[0].chunk.id == "en#0"
    assert hits[0].scores["vector"] == dense[1][1]  # reported scores stay plain cosines
    assert fuse("这个主题是什么？", [], dense, 2)[0].chunk.id == "zh#0"  # without centring


ZH_TOPICS = ["红烧肉要用小火慢炖两个小时。", "明天北方地区有大雨和大风。", "熊猫主要以竹子为食。", "长江是中国最长的河流。",
             "围棋起源于中国，已有四千多年历史。", "春节期间人们会贴春联、放鞭炮。", "高铁让城市之间的距离变短了。",
             "茶叶按加工方式可分为六大类。", "京剧的角色分为生旦净丑。", "这家公司今年的营业收入增长了百分之十。",
             "孩子们在操场上踢足球。", "秦始皇统一了六国。", "西湖位于杭州市区西面。", "手机电池不宜长时间充电。",
             "唐诗是中国古典诗歌的高峰。", "针灸是传统中医的一种疗法。", "图书馆周末开放到晚上九点。", "黄山以奇松怪石闻名。",
             "饺子是北方人过年必吃的食物。", "太极拳讲究以柔克刚。", "丝绸之路连接了东西方贸易。", "瓷器在宋代达到了很高水平。",
             "敦煌莫高窟保存了大量壁画。", "长城的修建历经多个朝代。"]
EN_TOPICS = ["The Eiffel Tower in Paris is 330 metres tall.", "Penguins live mostly in the Southern Hemisphere.",
             "Photosynthesis turns light into chemical energy.", "The Amazon rainforest spans nine countries.",
             "Jazz was born in New Orleans.", "A marathon is 42.195 kilometres long.", "Bees communicate by dancing.",
             "The Moon has no atmosphere to speak of.", "Coffee beans are the seeds of a cherry.", "Mount Everest is in the Himalayas.",
             "Shakespeare wrote Hamlet around 1600.", "Volcanoes form where tectonic plates meet.", "The Nile flows north into the Mediterranean.",
             "Chess pieces include the knight and the bishop.", "Whales are mammals, not fish.", "The Sahara is the largest hot desert.",
             "Honey never spoils if sealed.", "Tokyo hosted the Olympic Games in 1964.", "Octopuses have three hearts.",
             "Glass is made from sand.", "The Great Barrier Reef lies off Australia.", "Mozart composed over 600 works.",
             "Copper conducts electricity well.", "The Titanic sank in 1912."]


def test_a_mixed_kb_keeps_centres_and_finds_the_english_answer_to_a_chinese_question(tmp_path, e5):
    from lingxi.knowledge.kb import KnowledgeBase

    folder = tmp_path / "docs"
    folder.mkdir()
    for i, text in enumerate(ZH_TOPICS):
        (folder / f"zh{i}.txt").write_text(text, encoding="utf-8")
    for i, text in enumerate(EN_TOPICS):
        (folder / f"en{i}.txt").write_text(text, encoding="utf-8")
    kb = KnowledgeBase.create("mixed", e5)
    kb.ingest(folder)
    assert kb.languages.counts() == {"zh": len(ZH_TOPICS), "en": len(EN_TOPICS)} and set(kb.languages.centres()) == {"zh", "en"}
    hits = kb.search("埃菲尔铁塔有多高？", k=3, mode="vector")
    assert hits[0].chunk.source.endswith("en0.txt"), [h.chunk.text for h in hits]
    (kb.path / "languages.npz").unlink()  # a KB from before centres were kept: recounted from the store
    assert kb.count_languages() == {"zh": len(ZH_TOPICS), "en": len(EN_TOPICS)}
