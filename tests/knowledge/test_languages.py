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
