"""SQL text and helpers for the pgvector store (`lingxi.knowledge.pg`): DSN handling, names, the
upsert statement, the BM25 query over pre-tokenised tsvectors."""

from __future__ import annotations

import re
from collections.abc import Sequence

K1, B = 1.2, 0.75
DF_CAP = 10_000  # document frequencies are counted up to this (a rarer term is what matters)
COLUMNS = ("id", "source", "file_hash", "text", "headings", "page", "start", "end", "hash", "kind", "metadata")
SELECT = ", ".join(f'"{c}"' for c in COLUMNS)

UPSERT_SQL = (
    'INSERT INTO {t} AS t (id, source, file_hash, text, headings, page, start, "end", hash, kind, metadata, '
    "terms, n_terms, vector) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::tsvector, %s, %s) "
    "ON CONFLICT (id) DO UPDATE SET source = EXCLUDED.source, file_hash = EXCLUDED.file_hash, "
    'text = EXCLUDED.text, headings = EXCLUDED.headings, page = EXCLUDED.page, start = EXCLUDED.start, "end" = '
    'EXCLUDED."end", hash = EXCLUDED.hash, kind = EXCLUDED.kind, metadata = EXCLUDED.metadata, '
    "terms = EXCLUDED.terms, n_terms = EXCLUDED.n_terms, "
    # an unchanged chunk (same content hash) keeps the vector it already has: never embed twice
    "vector = COALESCE(EXCLUDED.vector, CASE WHEN t.hash = EXCLUDED.hash THEN t.vector END)"
)

# BM25 (k1, b) over the stored lexemes: document frequencies from the GIN index, capped at DF_CAP
BM25_SQL = (
    "WITH q AS MATERIALIZED (SELECT term, ln(1 + (%(n)s - df + 0.5) / (df + 0.5)) AS idf FROM ("
    "  SELECT term, (SELECT count(*) FROM (SELECT 1 FROM {t} WHERE terms @@ tq LIMIT %(cap)s) s) AS df"
    "  FROM unnest(%(terms)s::text[], %(tqs)s::tsquery[]) AS u(term, tq)) d),"
    " scored AS (SELECT h.id, sum(q.idf * u.tf * %(k1p1)s / (u.tf + %(k1)s * "
    "   (1 - %(b)s + %(b)s * h.n_terms / greatest(%(avgdl)s, 1)))) AS score"
    "  FROM {t} h CROSS JOIN LATERAL (SELECT lexeme, cardinality(positions) AS tf FROM unnest(h.terms)) u"
    "  JOIN q ON q.term = u.lexeme WHERE h.terms @@ %(any)s::tsquery AND {where}"
    "  GROUP BY h.id ORDER BY score DESC, h.id LIMIT %(k)s)"
    f" SELECT {SELECT}, s.score FROM scored s JOIN {{t}} USING (id) ORDER BY s.score DESC, s.id"
)


def redact(dsn: str) -> str:
    """The DSN without its password (for messages)."""
    dsn = re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", dsn)
    return re.sub(r"(password\s*=\s*)\S+", r"\1***", dsn)


def without_password(dsn: str) -> str:
    """The DSN with its password removed (what a knowledge base's kb.json may keep)."""
    dsn = re.sub(r"(://[^:/@]+):[^@]*@", r"\1@", dsn)
    return re.sub(r"\s*password\s*=\s*\S+", "", dsn).strip()


def table_for(kb_name: str) -> str:
    """A PostgreSQL table name for a knowledge base: readable, unique, under the 63-byte limit."""
    import hashlib

    safe = re.sub(r"[^a-z0-9_]", "_", kb_name.lower())[:40]
    return f"kb_{safe}_{hashlib.sha1(kb_name.encode()).hexdigest()[:8]}"


def quote_lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(words: Sequence[str]) -> str:
    """A tsvector in its text form with positions, built from lingxi's terms without any parser."""
    positions: dict[str, list[int]] = {}
    for i, word in enumerate(words, start=1):
        if len(word.encode()) < 1024:
            pos = positions.setdefault(word, [])
            if len(pos) < 255:
                pos.append(min(i, 16383))
    return " ".join(f"{quote_lexeme(w)}:{','.join(map(str, p))}" for w, p in positions.items())


def settings_dsn() -> str:
    """The DSN from lingxi's settings (``pg_dsn`` in lingxi.toml or ``LINGXI_PG_DSN``), or ""."""
    from lingxi.config import load_settings

    try:
        secret = load_settings().pg_dsn
    except Exception:  # a broken lingxi.toml is reported where settings are used; here it is "no DSN"
        return ""
    return secret.get_secret_value() if secret else ""


def column(name: str) -> str:
    return f'"{name}"'


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
