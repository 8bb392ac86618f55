"""The store conformance suite: every `Store` backend must pass it.

Subclass `StoreSuite` in a test module and override the `store` fixture to
return an empty store of dimension `StoreSuite.DIM`::

    from lingxi.testing.stores import StoreSuite

    class TestMyStore(StoreSuite):
        @pytest.fixture
        def store(self, tmp_path):
            return MyStore(tmp_path / "db", dim=self.DIM)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from lingxi.errors import StoreError
from lingxi.knowledge.store import Store
from lingxi.types import Chunk


def make_chunk(source: str, n: int, text: str, page: int | None = None, kind: str = "text") -> Chunk:
    import hashlib

    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return Chunk(id=f"{source}#{n}", source=source, text=text, start=0, end=len(text), page=page,
                 headings=["Intro"] if n == 0 else [], hash=digest, metadata={"kind": kind, "lang": "x"})  # fmt: skip


def unit(seed: int, dim: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


class StoreSuite:
    DIM = 8

    @pytest.fixture
    def store(self, tmp_path: Any) -> Store:  # pragma: no cover - every backend overrides it
        raise NotImplementedError("override the 'store' fixture to return an empty store")

    @pytest.fixture
    def filled(self, store: Store) -> Store:
        a = [make_chunk("/d/a.md", 0, "北京是中国的首都，有很多名胜古迹。", kind="markdown"),
             make_chunk("/d/a.md", 1, "The Great Wall runs across northern China.", kind="markdown")]
        b = [make_chunk("/d/b.pdf", 0, "上海是一座国际化大都市。", page=1),
             make_chunk("/d/b.pdf", 1, "Shanghai has the busiest container port.", page=2)]
        store.replace_sources({"/d/a.md": "ha", "/d/b.pdf": "hb"}, a + b, {c.id: unit(i, self.DIM) for i, c in enumerate(a + b)})
        return store

    def test_is_a_store(self, store: Store) -> None:
        assert isinstance(store, Store) and store.dim == self.DIM

    def test_empty_store(self, store: Store) -> None:
        assert store.count() == 0 and store.sources() == {}
        assert store.keyword_search("北京", 5) == [] and store.pending(10) == []
        assert store.vector_search(unit(0, self.DIM), 5) == []

    def test_count_sources_and_hashes(self, filled: Store) -> None:
        assert filled.count() == 4 and filled.count(embedded=True) == 4
        assert filled.sources() == {"/d/a.md": "ha", "/d/b.pdf": "hb"}

    def test_keyword_search_chinese_and_english(self, filled: Store) -> None:
        hits = filled.keyword_search("中国的首都在哪里", 3)
        assert hits[0][0].id == "/d/a.md#0" and hits[0][1] > 0
        assert filled.keyword_search("container ports", 3)[0][0].id == "/d/b.pdf#1"  # stemmed
        assert filled.keyword_search("zzqx 鑫淼", 3) == []  # no known term: nothing, not an error

    def test_chunk_round_trip(self, filled: Store) -> None:
        chunk = filled.keyword_search("Great Wall", 1)[0][0]
        assert chunk.source == "/d/a.md" and chunk.text.startswith("The Great Wall")
        assert chunk.metadata["kind"] == "markdown" and chunk.metadata["lang"] == "x"
        assert chunk.hash and chunk.end == len(chunk.text)
        paged = filled.keyword_search("container port", 1)[0][0]
        assert paged.page == 2
        assert filled.keyword_search("首都", 1)[0][0].headings == ["Intro"]

    def test_vector_search_orders_by_similarity(self, filled: Store) -> None:
        hits = filled.vector_search(unit(2, self.DIM), 4)
        assert hits[0][0].id == "/d/b.pdf#0" and hits[0][1] == pytest.approx(1.0, abs=1e-4)
        assert [h[1] for h in hits] == sorted((h[1] for h in hits), reverse=True)

    def test_metadata_filters(self, filled: Store) -> None:
        assert {c.source for c, _ in filled.vector_search(unit(0, self.DIM), 4, {"source": "/d/b.pdf"})} == {"/d/b.pdf"}
        assert [c.page for c, _ in filled.vector_search(unit(0, self.DIM), 4, {"page": [2]})] == [2]
        assert filled.count({"source": "/d/*.md"}) == 2 and filled.count({"kind": "markdown"}) == 2
        assert filled.keyword_search("首都 上海", 4, {"source": "/d/b.pdf"})[0][0].source == "/d/b.pdf"
        with pytest.raises(StoreError, match="Cannot filter"):
            filled.count({"colour": "red"})

    def test_replace_source_is_whole_and_keeps_unchanged_vectors(self, filled: Store) -> None:
        kept = make_chunk("/d/a.md", 0, "北京是中国的首都，有很多名胜古迹。", kind="markdown")
        new = make_chunk("/d/a.md", 2, "新增的段落讲的是长城。")
        filled.replace_sources({"/d/a.md": "ha2"}, [kept, new])
        assert filled.count({"source": "/d/a.md"}) == 2 and filled.sources()["/d/a.md"] == "ha2"
        assert filled.keyword_search("Great Wall", 4, {"source": "/d/a.md"}) == []
        assert set(filled.get_vectors([kept.id, new.id])) == {kept.id}  # unchanged chunk keeps its vector
        assert [c.id for c in filled.pending(10)] == [new.id]

    def test_delete_sources_removes_from_both_indexes(self, filled: Store) -> None:
        assert filled.delete_sources(["/d/b.pdf"]) == 2
        assert filled.count() == 2 and "/d/b.pdf" not in filled.sources()
        assert all(c.source != "/d/b.pdf" for c, _ in filled.keyword_search("上海 Shanghai", 4))
        assert all(c.source != "/d/b.pdf" for c, _ in filled.vector_search(unit(2, self.DIM), 4))
        assert filled.delete_sources(["/nope"]) == 0

    def test_pending_then_set_vectors(self, store: Store) -> None:
        chunks = [make_chunk("/d/c.txt", i, f"第{i}段内容。") for i in range(3)]
        store.upsert(chunks)
        assert store.count(embedded=False) == 3 and store.vector_search(unit(0, self.DIM), 3) == []
        assert store.keyword_search("第1段", 1)[0][0].id == "/d/c.txt#1"  # searchable before embedding
        todo = store.pending(2)
        assert len(todo) == 2
        assert store.set_vectors({c.id: unit(7, self.DIM) for c in todo}) == 2
        assert store.count(embedded=True) == 2
        assert store.set_vectors({"/gone#0": unit(1, self.DIM)}) == 0  # deleted chunks are not revived
        assert store.count() == 3

    def test_optimize_keeps_everything_searchable(self, filled: Store) -> None:
        filled.optimize()
        filled.upsert([make_chunk("/d/e.txt", 0, "优化之后新增的内容")])
        assert filled.keyword_search("新增", 1)[0][0].source == "/d/e.txt"
        filled.optimize()
        assert filled.count() == 5 and filled.keyword_search("首都", 1)[0][0].id == "/d/a.md#0"
