"""Which database engine the tests run on: SQLite files (the default) or PostgreSQL.

``LINGXI_TEST_DB=postgresql`` (with ``LINGXI_TEST_PG_DSN``) makes every home directory
the tests create use its own PostgreSQL schema instead of ``HOME/lingxi.db``, so the
same test modules check both engines; `tests/test_db_engines.py` runs the database
modules that way inside `make test`. Test code opens a home's database with `home_db`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

_made: set[str] = set()


def dsn() -> str | None:
    return os.environ.get("LINGXI_TEST_PG_DSN") or None


def on_postgres() -> bool:
    return os.environ.get("LINGXI_TEST_DB") == "postgresql" and dsn() is not None


def schema_url(schema: str) -> str:
    """The test server's URL with `schema` (created if new) first on the search path."""
    base = dsn()
    assert base, "LINGXI_TEST_PG_DSN is not set"
    if schema not in _made:
        import psycopg

        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        _made.add(schema)
    return base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"


def db_url_for(home: Path) -> str | None:
    """PostgreSQL mode: the URL of `home`'s own schema; SQLite mode: None (the home's file)."""
    if not on_postgres():
        return None
    return schema_url("t_" + hashlib.sha1(str(Path(home).resolve()).encode()).hexdigest()[:16])


def home_db(home: Path) -> Any:
    """An open connection to `home`'s database on the engine under test."""
    from lingxi.db import connect

    return connect(path=db_url_for(home) or Path(home) / "lingxi.db")


def drop_schemas() -> None:
    if not _made or not dsn():
        return
    import psycopg

    with psycopg.connect(dsn(), autocommit=True) as conn:
        for schema in sorted(_made):
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    _made.clear()


def home_target(home: Path) -> Any:
    """Where `home`'s database is: its schema's URL (PostgreSQL mode) or its SQLite file."""
    return db_url_for(home) or Path(home) / "lingxi.db"


def use_home(monkeypatch: Any, home: Path) -> None:
    """Point LINGXI_HOME (and, on PostgreSQL, LINGXI_DB_URL) at `home` for the rest of a test."""
    monkeypatch.setenv("LINGXI_HOME", str(home))
    if url := db_url_for(home):
        monkeypatch.setenv("LINGXI_DB_URL", url)
