"""The store conformance suite on a real PostgreSQL + pgvector.

Needs a server: ``export LINGXI_TEST_PG_DSN="$(scripts/pg.sh start)"`` (CI does
this). Without it the server tests are skipped; the offline ones still run.
Every test works in its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import numpy as np
import pytest

from lingxi.errors import StoreError
from lingxi.testing.stores import StoreSuite, make_chunk, unit

pytest.importorskip("psycopg", reason="the pg extra is not installed: pip install 'lingxi[pg]'")

from lingxi.knowledge.pg import PgStore, redact, tsvector_literal  # noqa: E402

# read at import: the autouse home fixture clears LINGXI_* variables before each test
DSN = os.environ.get("LINGXI_TEST_PG_DSN", "")
needs_pg = pytest.mark.skipif(
    not DSN, reason='LINGXI_TEST_PG_DSN is not set: run  export LINGXI_TEST_PG_DSN="$(scripts/pg.sh start)"'
)


@pytest.fixture
def schema() -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    import psycopg

    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _store(schema: str, dim: int, table: str = "chunks") -> Iterator[PgStore]:
    store = PgStore(DSN, dim, table=table, schema=schema)
    yield store
    store.close()


@needs_pg
class TestPgConformance(StoreSuite):
    @pytest.fixture
    def store(self, schema: str) -> Iterator[PgStore]:
        yield from _store(schema, self.DIM)


@needs_pg
def test_dimension_mismatch_is_refused(schema: str) -> None:
    PgStore(DSN, 8, schema=schema).upsert([make_chunk("/a", 0, "hello")])
    with pytest.raises(StoreError, match="8-dimensional"):
        PgStore(DSN, 16, schema=schema).count()


@needs_pg
def test_failed_replace_leaves_the_source_as_it_was(schema: str) -> None:
    store = PgStore(DSN, 8, schema=schema)
    old = [make_chunk("/d/a.md", i, f"旧的内容 number {i}") for i in range(3)]
    store.replace_sources({"/d/a.md": "h1"}, old, {c.id: unit(i, 8) for i, c in enumerate(old)})
    new = [make_chunk("/d/a.md", 0, "新的内容"), make_chunk("/d/a.md", 1, "bad vector")]
    with pytest.raises(StoreError, match="shape"):
        store.replace_sources({"/d/a.md": "h2"}, new, {new[1].id: np.zeros(5, np.float32)})
    assert store.sources() == {"/d/a.md": "h1"} and store.count(embedded=True) == 3
    assert store.keyword_search("旧的", 5)[0][0].id.startswith("/d/a.md#")


@needs_pg
def test_selective_filter_still_returns_k_hits(schema: str) -> None:
    """2% of rows pass the filter. Seq scans are disabled so the HNSW index must answer; without
    iterative scans it returns none of them here (its first ef_search candidates hold no match)."""
    from psycopg.conninfo import make_conninfo

    store = PgStore(make_conninfo(DSN, options="-c enable_seqscan=off"), 16, schema=schema, hnsw_min_rows=500)
    rng = np.random.default_rng(0)
    chunks = [make_chunk("/d", i, f"row {i}", kind="rare" if i % 50 == 0 else "text") for i in range(1000)]
    vecs = rng.standard_normal((len(chunks), 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    store.upsert(chunks, {c.id: v for c, v in zip(chunks, vecs, strict=True)})
    assert not store.has_vector_index()
    store.optimize()  # 1000 embedded rows >= hnsw_min_rows: builds the index
    assert store.has_vector_index()
    hits = store.vector_search(vecs[1], 10, {"kind": "rare"})
    assert len(hits) == 10 and {c.metadata["kind"] for c, _ in hits} == {"rare"}
    exact = sorted((float(vecs[i] @ vecs[1]) for i in range(0, 1000, 50)), reverse=True)[:10]
    assert [s for _, s in hits] == pytest.approx(exact, abs=1e-3)  # HNSW may miss one; not here


@needs_pg
def test_filter_values_are_quoted(schema: str) -> None:
    store = PgStore(DSN, 8, schema=schema)
    store.upsert([make_chunk("/d/it's 100%.md", 0, "quoted source"), make_chunk("/d/x.md", 0, "other")])
    assert store.count({"source": "/d/it's 100%.md"}) == 1
    assert store.count({"source": "/d/it's*"}) == 1
    assert store.count({"source": "x' OR '1'='1"}) == 0


@needs_pg
def test_bm25_prefers_rare_terms(schema: str) -> None:
    store = PgStore(DSN, 8, schema=schema)
    docs = [make_chunk(f"/d/{i}", 0, "the common word appears here") for i in range(20)]
    docs.append(make_chunk("/d/rare", 0, "common word next to a platypus"))
    docs.append(make_chunk("/d/many", 0, "common common common common word"))
    store.upsert(docs)
    assert store.keyword_search("platypus common", 3)[0][0].source == "/d/rare"


def test_dsn_password_never_shown() -> None:
    store = PgStore("postgresql://me:s3cret@127.0.0.1:1/db", 8)
    assert "s3cret" not in repr(store) and "s3cret" not in redact("host=x password=s3cret")
    with pytest.raises(StoreError) as info:
        store.count()
    assert "s3cret" not in str(info.value) and "Could not connect" in str(info.value)


def test_missing_dsn_says_which_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINGXI_PG_DSN", raising=False)
    with pytest.raises(StoreError, match="LINGXI_PG_DSN"):
        PgStore(None, 8)


def test_tsvector_literal_keeps_terms_exactly() -> None:
    assert tsvector_literal(["don't", "北京", "北京", "a\\b"]) == "'don''t':1 '北京':2,3 'a\\\\b':4"


@needs_pg
def test_pgvector_knowledge_base_ingests_and_searches(tmp_path, bag) -> None:
    from lingxi.knowledge.kb import KnowledgeBase

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# 安装\n\n本软件支持离线安装，第1段内容讲安装步骤。", encoding="utf-8")
    (docs / "b.txt").write_text("Coffee is brewed from roasted coffee beans.", encoding="utf-8")
    kb = KnowledgeBase.create("pgkb", embedding=bag, store="pgvector", dsn=DSN)
    try:
        assert kb.config["store"] == "pgvector" and "dsn" in kb.config and "table" in kb.config
        again = KnowledgeBase.open("pgkb", embedding=bag)
        assert type(again.store).__name__ == "PgStore" and again.store.table == kb.config["table"]
        report = kb.ingest(docs)
        assert len(report.added) == 2 and again.info()["embedded"] == report.chunks
        hits = again.search("离线安装的步骤", k=2)
        assert hits[0].chunk.source.endswith("a.md") and {"keyword", "vector"} <= hits[0].scores.keys()
        assert again.search("1段内容", k=1, mode="keyword")[0].chunk.source.endswith("a.md")
        assert again.search("roasted coffee", k=1)[0].chunk.source.endswith("b.txt")
        from lingxi.models.scripted import ScriptedChat

        assert again.summarize(ScriptedChat(default="一段摘要"))["documents"] == 2  # the tree index works on pg too
        assert again.search("一段摘要", k=1, filters={"kind": "summary"})[0].chunk.metadata["level"] == 2
    finally:
        KnowledgeBase.remove("pgkb")
    assert "pgkb" not in KnowledgeBase.names()
    import psycopg

    with psycopg.connect(DSN) as conn:  # the server-side table went with it
        assert conn.execute("SELECT to_regclass(%s)", (f'lingxi."{kb.config["table"]}"',)).fetchone()[0] is None


def test_pg_dsn_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINGXI_PG_DSN", "postgresql://me:pw@127.0.0.1:1/db")
    from lingxi.config import load_settings

    assert load_settings().pg_dsn.get_secret_value().endswith("/db")
    monkeypatch.delenv("LINGXI_PG_DSN")
    monkeypatch.setattr("lingxi.knowledge.pg.settings_dsn", lambda: "postgresql://x@127.0.0.1:2/viatoml")
    assert PgStore(None, 8).dsn.endswith("viatoml")


def test_kb_json_keeps_no_password() -> None:
    from lingxi.knowledge.pg import table_for, without_password

    assert without_password("postgresql://me:s3cret@h:5432/db") == "postgresql://me@h:5432/db"
    assert "s3cret" not in without_password("host=h password=s3cret dbname=d")
    assert len(table_for("x" * 64)) < 63 and table_for("a.b") != table_for("a_b")
