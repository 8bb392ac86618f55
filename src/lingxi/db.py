"""The home database: SQLite in ``$LINGXI_HOME/lingxi.db`` by default, or PostgreSQL.

Set ``db_url = "postgresql://user@host:5432/lingxi"`` in ``lingxi.toml`` (or
``LINGXI_DB_URL``) and every process pointed at it (server replicas, the CLI,
library calls) shares keys, rate limits, sessions, traces, feedback and eval
runs. One interface for both engines: SQL is written in SQLite's dialect with
``?`` placeholders, and `lingxi.db_pg` translates the few differences
(placeholders, identity columns, types, ``IS ?``, day buckets) in one place.

Schema changes are append-only numbered migrations, the same source for both
engines: never edit or reorder a migration that has shipped; add a new one at
the end of MIGRATIONS. Each runs once, in its own transaction; SQLite records
how far a database has come in ``PRAGMA user_version``, PostgreSQL in the table
``lingxi_schema``.

    with closing(connect(settings)) as conn:
        conn.execute("SELECT count(*) FROM traces").fetchone()
        conn.engine  # "sqlite" or "postgresql"
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from lingxi.config import Settings
from lingxi.errors import StoreError
from lingxi.home import ensure_home, private_file

DB_NAME = "lingxi.db"

# (number, what it does, SQL). Append only.
MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "api keys for the server (only a SHA-256 of each key is kept)",
        """
        CREATE TABLE api_keys (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            prefix TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            rate_limit INTEGER,              -- requests per minute, NULL: the server's default
            created_at REAL NOT NULL,
            last_used_at REAL,
            revoked_at REAL
        );
        """,
    ),
    (
        2,
        "one row per model call (tracing)",
        """
        CREATE TABLE traces (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,                -- unix time the call started
            source TEXT NOT NULL,            -- server, cli, library
            route TEXT,
            model TEXT NOT NULL,
            provider TEXT,
            key_id INTEGER,
            stream INTEGER NOT NULL DEFAULT 0,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            queue_s REAL,
            ttft_s REAL,
            latency_s REAL,
            compute_s REAL,                  -- seconds in the model (latency minus queue)
            cost REAL NOT NULL DEFAULT 0,    -- from the model's price table
            status TEXT NOT NULL,            -- ok, error, cancelled
            error TEXT
        );
        CREATE INDEX traces_ts ON traces (ts);
        CREATE INDEX traces_model_ts ON traces (model, ts);
        """,
    ),
    (
        3,
        "thumbs up/down on answers (later exported as SFT/DPO data)",
        """
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            model TEXT NOT NULL,
            messages TEXT NOT NULL,          -- the conversation as OpenAI JSON
            answer TEXT NOT NULL,
            rating INTEGER NOT NULL,         -- +1 or -1
            comment TEXT,
            key_id INTEGER
        );
        """,
    ),
    (
        4,
        "evaluation runs (lingxi eval): metrics and per-item details as JSON",
        """
        CREATE TABLE eval_runs (
            id INTEGER PRIMARY KEY,
            created_at REAL NOT NULL,
            kind TEXT NOT NULL,              -- qa, retrieval, judge, classification, ...
            name TEXT,
            model TEXT,
            dataset TEXT,
            metrics TEXT NOT NULL,           -- JSON object of numbers
            config TEXT NOT NULL DEFAULT '{}',
            details TEXT NOT NULL DEFAULT '[]'
        );
        CREATE INDEX eval_runs_kind ON eval_runs (kind, created_at);
        """,
    ),
    (
        5,
        "conversation sessions (lingxi ask --session, lingxi chat --kb): memory state and messages",
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            kb TEXT,                         -- knowledge base the session asks
            model TEXT,
            memory TEXT NOT NULL,            -- buffer-window, summary, summary-buffer, entity
            memory_state TEXT NOT NULL DEFAULT '{}',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE session_messages (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            ts REAL NOT NULL,
            role TEXT NOT NULL,              -- user or assistant
            content TEXT NOT NULL,
            query TEXT,                      -- user turns: the standalone question that was searched
            meta TEXT NOT NULL DEFAULT '{}'  -- assistant turns: abstained, mode, citations
        );
        CREATE INDEX session_messages_session ON session_messages (session_id, id);
        """,
    ),
    (
        6,
        "sessions for the web page: a title people can rename, and the API key that owns each one",
        """
        ALTER TABLE sessions ADD COLUMN title TEXT;       -- NULL: show the name
        ALTER TABLE sessions ADD COLUMN key_id INTEGER;  -- NULL: the local user (CLI, or a server without keys)
        CREATE INDEX sessions_key_updated ON sessions (key_id, updated_at);
        """,
    ),
    (
        7,
        "edu: courses (a knowledge base plus a syllabus), objectives, students, enrolments, mastery, quiz results",
        """
        CREATE TABLE edu_courses (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            kb TEXT NOT NULL,                -- the course's knowledge base
            materials TEXT,                  -- the folder it was ingested from
            settings TEXT NOT NULL DEFAULT '{}',  -- JSON: socratic, homework_policy, model, ...
            created_at REAL NOT NULL
        );
        CREATE TABLE edu_objectives (
            id INTEGER PRIMARY KEY,
            course_id INTEGER NOT NULL REFERENCES edu_courses (id) ON DELETE CASCADE,
            code TEXT NOT NULL,              -- the syllabus id (L1, 1.2, ...)
            objective TEXT NOT NULL,
            grade TEXT,
            subject TEXT,
            position INTEGER NOT NULL,
            UNIQUE (course_id, code)
        );
        CREATE TABLE edu_students (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at REAL NOT NULL
        );
        CREATE TABLE edu_enrolments (
            course_id INTEGER NOT NULL REFERENCES edu_courses (id) ON DELETE CASCADE,
            student_id INTEGER NOT NULL REFERENCES edu_students (id) ON DELETE CASCADE,
            class_name TEXT,
            PRIMARY KEY (course_id, student_id)
        );
        CREATE TABLE edu_mastery (
            student_id INTEGER NOT NULL REFERENCES edu_students (id) ON DELETE CASCADE,
            course_id INTEGER NOT NULL REFERENCES edu_courses (id) ON DELETE CASCADE,
            objective TEXT NOT NULL,         -- the objective's code
            correct REAL NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            updated_at REAL NOT NULL,
            PRIMARY KEY (student_id, course_id, objective)
        );
        CREATE TABLE edu_results (
            id INTEGER PRIMARY KEY,
            student_id INTEGER NOT NULL REFERENCES edu_students (id) ON DELETE CASCADE,
            course_id INTEGER REFERENCES edu_courses (id) ON DELETE CASCADE,
            ts REAL NOT NULL,
            score REAL NOT NULL,
            total INTEGER NOT NULL,
            details TEXT NOT NULL DEFAULT '[]'  -- JSON: one verdict and feedback per answer
        );
        """,
    ),
    (
        8,
        "edu: a role per API key (admin, teacher, student; a student key names its student)",
        """
        CREATE TABLE edu_roles (
            key_id INTEGER PRIMARY KEY REFERENCES api_keys (id) ON DELETE CASCADE,
            role TEXT NOT NULL,              -- admin, teacher, student
            student_id INTEGER REFERENCES edu_students (id) ON DELETE CASCADE
        );
        """,
    ),
    (
        9,
        "rate limits shared by server replicas: one token bucket per caller; which replica served each call",
        """
        CREATE TABLE rate_buckets (
            who TEXT PRIMARY KEY,            -- key:ID or client:ADDRESS
            tokens REAL NOT NULL,
            updated_at REAL NOT NULL,
            allowed INTEGER NOT NULL DEFAULT 1
        );
        ALTER TABLE traces ADD COLUMN replica TEXT;
        """,
    ),
    (
        10,
        "a corrected answer with a rating (the chosen side of DPO pairs, SFT data)",
        """
        ALTER TABLE feedback ADD COLUMN correction TEXT;
        """,
    ),
]

_migrate_lock = threading.Lock()

Target = Path | str  # a SQLite file, or a postgresql:// URL


class SqliteConnection(sqlite3.Connection):
    """sqlite3's connection, labelled with its engine (the interface PostgreSQL's adapter copies)."""

    engine = "sqlite"


def db_path(settings: Settings) -> Path:
    """The SQLite file of the home directory (used unless `db_url` points elsewhere)."""
    return settings.home_dir / DB_NAME


def target(settings: Settings) -> Target:
    """Where `settings` keep their database: the `db_url` (PostgreSQL) or the home's SQLite file."""
    url = settings.db_url.get_secret_value() if settings.db_url else None
    return url if url else db_path(settings)


def is_postgres(where: Target) -> bool:
    return isinstance(where, str) and where.startswith(("postgresql://", "postgres://"))


def engine_name(settings: Settings) -> str:
    return "postgresql" if is_postgres(target(settings)) else "sqlite"


def describe(where: Target) -> str:
    """A target for messages and logs: the URL without its password."""
    if is_postgres(where):
        from lingxi.db_pg import redact

        return redact(str(where))
    return str(where)


def connect(settings: Settings | None = None, *, path: Target | None = None) -> Any:
    """Open (creating and migrating if needed) the home database: `path` (a SQLite file or a
    postgresql:// URL), else the target of `settings` (loaded from the environment if None).

    Both engines' connections have ``execute(sql, args)`` (SQLite's dialect, ``?`` placeholders),
    ``executemany``, ``close``, ``in_transaction`` and ``engine``; rows are read by index or name.
    The connection may be shared between threads as long as the caller serialises its use.
    """
    if path is None:
        if settings is None:
            from lingxi.config import load_settings

            settings = load_settings()
        path = target(settings)
    if is_postgres(path):
        from lingxi.db_pg import connect as pg_connect

        return pg_connect(str(path), MIGRATIONS)
    path = Path(path)
    try:
        ensure_home(path.parent)
        # autocommit: each statement commits unless wrapped in an explicit BEGIN ... COMMIT
        conn = sqlite3.connect(path, check_same_thread=False, timeout=10.0, isolation_level=None,
                               factory=SqliteConnection)
        private_file(path)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"Could not open the database {path}: {exc}.", "check that LINGXI_HOME is writable") from exc
    conn.row_factory = sqlite3.Row
    _wal(conn)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    return conn


def _wal(conn: Any, tries: int = 50) -> None:
    """Switch to WAL. Connections opening a new file at once can get 'database is locked' from this
    pragma without SQLite's busy handler being asked (seen with 4 threads racing the migrations): retry."""
    for attempt in range(tries):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.1)


def version(conn: Any) -> int:
    if getattr(conn, "engine", "sqlite") == "postgresql":
        return conn.schema_version()
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _error_types() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    try:
        import psycopg
    except ImportError:
        return (sqlite3.Error,), (sqlite3.IntegrityError,)
    return (sqlite3.Error, psycopg.Error), (sqlite3.IntegrityError, psycopg.IntegrityError)


# catch these, not sqlite3's own, so that code works on both engines
Error, IntegrityError = _error_types()


def migrate(conn: Any) -> int:
    """Apply the migrations this database has not seen; return the new version."""
    if getattr(conn, "engine", "sqlite") == "postgresql":
        return conn.migrate(MIGRATIONS)
    with _migrate_lock:
        current = version(conn)
        for number, _what, sql in MIGRATIONS:
            if number <= current:
                continue
            try:
                conn.execute("BEGIN IMMEDIATE")
                if version(conn) >= number:  # another process got there first
                    conn.execute("ROLLBACK")
                    continue
                for statement in _statements(sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {int(number)}")
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise StoreError(
                    f"Database migration {number} failed: {exc}.",
                    "the database may come from a newer lingxi; upgrade lingxi or move lingxi.db aside",
                ) from exc
        return version(conn)


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (sqlite3 runs one at a time in a transaction)."""
    out, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return out
