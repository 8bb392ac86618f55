"""PgStore on PostgreSQL + pgvector: insert rate, query latency and recall on random vectors.

Loads N random unit vectors (384-d by default) with short random Chinese texts through
`PgStore.upsert` (GIN + btree indexes maintained; no HNSW yet, as in the store below its
``hnsw_min_rows``), times the HNSW build that `optimize()` then runs, times 1,000 more
upserts with the HNSW index in place, then runs the same random queries through the store:

* unfiltered vector search, exact (index scans disabled) and through HNSW,
* filtered on ``kind`` (10% of rows) and on ``page`` (1% of rows), each with
  ``hnsw.iterative_scan`` = relaxed_order (lingxi's setting) and off (pgvector's default),
* BM25 keyword search with a two-bigram Chinese query.

Recall@10 is against exact cosine search in numpy over the rows that pass the filter.
The planner picks the plan (HNSW or a scan of the filtered rows); the report shows which.
Uniform random vectors are the hard case for HNSW (no clusters), so recall here is a floor.

    export LINGXI_TEST_PG_DSN="$(scripts/pg.sh start)"
    .venv/bin/python bench/pg_store.py [--n 20000] [--dim 384] [--queries 200] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import uuid
from importlib.metadata import version
from pathlib import Path

import numpy as np
import psycopg
from psycopg.conninfo import make_conninfo

from lingxi.knowledge.pg import PgStore
from lingxi.types import Chunk

K = 10
BATCH = 1000
EXTRA = 1000  # upserts timed with the HNSW index in place


def corpus(n: int, dim: int, seed: int = 0) -> tuple[list[Chunk], np.ndarray]:
    rng = np.random.default_rng(seed)
    vecs = rng.standard_normal((n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    chars = rng.integers(0x4E00, 0x4E00 + 1500, size=(n, 60))
    chunks = [
        Chunk(id=f"/bench/{i // 50}.txt#{i % 50}", source=f"/bench/{i // 50}.txt", text="".join(map(chr, chars[i])),
              start=0, end=60, page=i % 100, hash=f"h{i}", metadata={"kind": f"k{i % 10}", "file_hash": "f"})
        for i in range(n)
    ]  # fmt: skip
    return chunks, vecs


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def run(dsn: str, n: int, dim: int, nq: int) -> dict:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    store = PgStore(dsn, dim, schema=schema, hnsw_min_rows=1)
    store_off = PgStore(dsn, dim, schema=schema, iterative_scan="off")
    chunks, vecs = corpus(n + EXTRA, dim)
    chunks, vecs, extra, extra_vecs = chunks[:n], vecs[:n], chunks[n:], vecs[n:]
    out: dict = {"n": n, "dim": dim, "queries": nq, "k": K}
    try:
        t0 = time.perf_counter()
        for i in range(0, n, BATCH):
            part = chunks[i : i + BATCH]
            store.upsert(part, {c.id: vecs[i + j] for j, c in enumerate(part)})
        load_s = time.perf_counter() - t0
        out["insert"] = {"seconds": round(load_s, 2), "rows_per_s": round(n / load_s, 1), "batch": BATCH,
                         "indexes": "gin(terms) + btree, no hnsw yet"}  # fmt: skip
        t0 = time.perf_counter()
        store.optimize()
        out["optimize_with_hnsw_build_s"] = round(time.perf_counter() - t0, 2)
        assert store.has_vector_index()
        t0 = time.perf_counter()
        store.upsert(extra, {c.id: extra_vecs[j] for j, c in enumerate(extra)})
        extra_s = time.perf_counter() - t0
        out["insert_with_hnsw"] = {"rows": EXTRA, "seconds": round(extra_s, 2), "rows_per_s": round(EXTRA / extra_s, 1)}
        chunks, vecs = chunks + extra, np.vstack([vecs, extra_vecs])
        with psycopg.connect(dsn, autocommit=True) as conn:
            out["server"] = conn.execute("SHOW server_version").fetchone()[0]
            out["pgvector"] = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
            out["table_mb"] = round(conn.execute(f"SELECT pg_total_relation_size('\"{schema}\".chunks')").fetchone()[0] / 2**20, 1)
        store.optimize()
        exact_store = PgStore(make_conninfo(dsn, options="-c enable_indexscan=off"), dim, schema=schema)
        out["cases"] = queries(store, store_off, exact_store, chunks, vecs, nq, dsn, schema)
        exact_store.close()
        out["keyword"] = keyword(store, chunks, nq)
    finally:
        store.close()
        store_off.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return out


def queries(store, store_off, exact_store, chunks, vecs, nq, dsn, schema) -> list[dict]:
    rng = np.random.default_rng(1)
    qs = rng.standard_normal((nq, vecs.shape[1])).astype(np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    kinds = np.array([c.metadata["kind"] for c in chunks])
    pages = np.array([c.page for c in chunks])
    cases = [("none, exact", None, np.ones(len(chunks), bool)), ("none", None, np.ones(len(chunks), bool)),
             ("kind (10%)", {"kind": "k3"}, kinds == "k3"),
             ("page (1%)", {"page": 7}, pages == 7)]  # fmt: skip
    results = []
    for name, flt, mask in cases:
        ids = np.array([c.id for c in chunks])[mask]
        exact = [set(ids[np.argsort(-(vecs[mask] @ q))[:K]]) for q in qs]
        stores = [("relaxed_order", store)] if flt is None else [("relaxed_order", store), ("off", store_off)]
        if name.endswith("exact"):
            stores = [("relaxed_order", exact_store)]
        lat: dict[str, list[float]] = {m: [] for m, _ in stores}
        rec: dict[str, list[float]] = {m: [] for m, _ in stores}
        got: dict[str, list[int]] = {m: [] for m, _ in stores}
        for m, s in stores:  # warm-up
            for q in qs[:10]:
                s.vector_search(q, K, flt)
        for i, q in enumerate(qs):
            order = stores if i % 2 == 0 else stores[::-1]  # interleave so noise hits both alike
            for m, s in order:
                t0 = time.perf_counter()
                hits = s.vector_search(q, K, flt)
                lat[m].append((time.perf_counter() - t0) * 1000)
                rec[m].append(len({c.id for c, _ in hits} & exact[i]) / K)
                got[m].append(len(hits))
        plan = "seq scan + sort" if name.endswith("exact") else explain(dsn, schema, flt, qs[0])
        for m, _ in stores:
            results.append({
                "filter": name, "iterative_scan": m if flt else "n/a (unfiltered)", "plan": plan,
                "p50_ms": round(pct(lat[m], 50), 2), "p95_ms": round(pct(lat[m], 95), 2),
                "recall_at_10": round(statistics.mean(rec[m]), 3), "mean_hits": round(statistics.mean(got[m]), 2),
            })  # fmt: skip
    return results


def explain(dsn: str, schema: str, flt: dict | None, q: np.ndarray) -> str:
    from pgvector.psycopg import register_vector

    from lingxi.knowledge.store import where_clause

    where = where_clause(flt, lambda c: f'"{c}"') or "true"
    with psycopg.connect(dsn, autocommit=True) as conn:
        register_vector(conn)
        rows = conn.execute(
            f'EXPLAIN SELECT id FROM "{schema}".chunks WHERE vector IS NOT NULL AND {where} ORDER BY vector <=> %s LIMIT 10',
            (q,),
        ).fetchall()  # fmt: skip
    text = " ".join(r[0] for r in rows)
    return "hnsw index" if "chunks_hnsw" in text else ("btree on filter + sort" if "Index" in text else "seq scan + sort")


def keyword(store, chunks, nq) -> dict:
    rng = np.random.default_rng(2)
    lat, got = [], []
    picks = rng.integers(0, len(chunks), nq)
    for i in picks:
        text = chunks[i].text
        j = int(rng.integers(0, len(text) - 8))
        query = text[j : j + 2] + " " + text[j + 5 : j + 7]  # two bigrams from one row
        t0 = time.perf_counter()
        hits = store.keyword_search(query, K)
        lat.append((time.perf_counter() - t0) * 1000)
        got.append(int(any(c.id == chunks[i].id for c, _ in hits)))
    return {"query": "two CJK bigrams taken from one row", "p50_ms": round(pct(lat, 50), 2),
            "p95_ms": round(pct(lat, 95), 2), "source_row_in_top10": round(statistics.mean(got), 3)}  # fmt: skip


def markdown(r: dict) -> str:
    lines = [
        "# PgStore (PostgreSQL + pgvector): insert, query latency, recall",
        "",
        f"{r['n']:,} random unit {r['dim']}-d vectors with 60-character random Chinese texts; PostgreSQL {r['server']}, "
        f"pgvector {r['pgvector']} ({r['build']}), psycopg {r['psycopg']}, {r['cpus']} CPUs, server from "
        "scripts/pg.sh (fsync off). "
        f"{r['queries']} random queries, k={r['k']}, ef_search=100; recall@10 against exact search over the filtered rows. "
        "Uniform random vectors have no clusters: the worst case for HNSW (real embeddings do far better).",
        "",
        f"- Insert through `PgStore.upsert` (batches of {r['insert']['batch']}, GIN + btree maintained, no HNSW yet): "
        f"**{r['insert']['rows_per_s']:,} rows/s** ({r['n']:,} rows in {r['insert']['seconds']} s).",
        f"- `optimize()` building the HNSW index (m=16, ef_construction=64) over them: {r['optimize_with_hnsw_build_s']} s.",
        f"- Insert with the HNSW index in place: **{r['insert_with_hnsw']['rows_per_s']:,} rows/s** "
        f"({r['insert_with_hnsw']['rows']:,} rows).",
        f"- Table + indexes: {r['table_mb']} MB.",
        "",
        "| filter | iterative_scan | plan | p50 ms | p95 ms | recall@10 | hits returned |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for c in r["cases"]:
        lines.append(f"| {c['filter']} | {c['iterative_scan']} | {c['plan']} | {c['p50_ms']} | {c['p95_ms']} | "
                     f"{c['recall_at_10']} | {c['mean_hits']} |")  # fmt: skip
    kw = r["keyword"]
    lines += ["", f"BM25 keyword search ({kw['query']}): p50 {kw['p50_ms']} ms, p95 {kw['p95_ms']} ms; "
              f"source row in top 10: {kw['source_row_in_top10']}.", ""]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", default=os.environ.get("LINGXI_TEST_PG_DSN") or os.environ.get("LINGXI_PG_DSN"))
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--build", default="portable build, OPTFLAGS=''", help="how pgvector was compiled (for the report)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    ap.add_argument("--name", default="pg_store")
    args = ap.parse_args()
    if not args.dsn:
        raise SystemExit('set LINGXI_TEST_PG_DSN (export LINGXI_TEST_PG_DSN="$(scripts/pg.sh start)") or pass --dsn')
    r = run(args.dsn, args.n, args.dim, args.queries)
    r.update(psycopg=version("psycopg"), pgvector_python=version("pgvector"), cpus=os.cpu_count(),
             machine=platform.machine(), build=args.build, when=time.strftime("%Y-%m-%dT%H:%M:%S"))  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(r, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md = markdown(r)
    (args.out / f"{args.name}.md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
