"""Named conversations kept in the home database (tables `sessions`, `session_messages`).

    s = Session.open("work", kb="docs", memory="summary-buffer")
    history = s.memory.context("它支持 Windows 吗？")
    ...
    s.record("它支持 Windows 吗？", "灵犀支持 Windows 吗？", answer)

A session remembers its knowledge base, model and memory strategy; opening it
again later (another process, another day) restores the strategy's state.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from lingxi.db import Error as db_errors
from lingxi.db import connect
from lingxi.errors import ConfigError, StoreError
from lingxi.memory.strategies import STRATEGIES, Memory, make
from lingxi.types import Message

_NAME = re.compile(r"^[\w][\w.-]{0,63}$")
_MARKS = re.compile(r"\s?[\[【]\d+(?:\s*[,，、]\s*\d+)*[\]】]")


class Session:
    def __init__(self, conn: Any, row: Any, memory: Memory) -> None:
        self.conn, self.id, self.name = conn, int(row["id"]), str(row["name"])
        self.kb, self.model, self.memory = row["kb"], row["model"], memory

    @classmethod
    def open(
        cls, name: str, *, kb: str | None = None, model_name: str | None = None, memory: str | None = None,
        model: Any = None, settings: Any = None, conn: Any | None = None,
    ) -> Session:  # fmt: skip
        """Open the session `name`, creating it when new. `memory` is the strategy for a new
        session (default buffer-window); an existing one keeps its own unless told otherwise.
        `model` writes summaries for the summary strategies."""
        if not _NAME.match(name):
            raise ConfigError(f"'{name}' is not a valid session name.", "use letters, digits, '-', '_' or '.'")
        if memory is not None and memory not in STRATEGIES:
            raise ConfigError(f"Unknown memory strategy '{memory}'.", f"use one of: {', '.join(STRATEGIES)}")
        conn = conn or connect(settings)
        row = conn.execute("SELECT * FROM sessions WHERE name = ?", (name,)).fetchone()
        now = time.time()
        if row is None:
            conn.execute("INSERT INTO sessions (name, kb, model, memory, created_at, updated_at) VALUES (?,?,?,?,?,?)",
                         (name, kb, model_name, memory or "buffer-window", now, now))  # fmt: skip
        elif (memory and memory != row["memory"]) or (kb and kb != row["kb"]):
            state = "{}" if memory and memory != row["memory"] else row["memory_state"]
            conn.execute("UPDATE sessions SET memory = ?, kb = ?, memory_state = ?, updated_at = ? WHERE id = ?",
                         (memory or row["memory"], kb or row["kb"], state, now, row["id"]))  # fmt: skip
        row = conn.execute("SELECT * FROM sessions WHERE name = ?", (name,)).fetchone()
        return cls(conn, row, make(row["memory"], json.loads(row["memory_state"] or "{}"), model))

    @staticmethod
    def names(settings: Any = None) -> list[str]:
        conn = connect(settings)
        return [r[0] for r in conn.execute("SELECT name FROM sessions ORDER BY updated_at DESC")]

    @staticmethod
    def delete(name: str, settings: Any = None) -> None:
        conn = connect(settings)
        if conn.execute("DELETE FROM sessions WHERE name = ?", (name,)).rowcount == 0:
            raise StoreError(f"No session named '{name}'.",
                             "sessions are created by: lingxi ask --session NAME (Session.names() lists them)")

    def messages(self, last: int | None = None) -> list[dict[str, Any]]:
        """The stored messages, oldest first (all of them, or the `last` few)."""
        sql = "SELECT role, content, query, meta, ts FROM session_messages WHERE session_id = ? ORDER BY id DESC"
        rows = self.conn.execute(sql + (f" LIMIT {int(last)}" if last else ""), (self.id,)).fetchall()
        return [{**dict(r), "meta": json.loads(r["meta"])} for r in reversed(rows)]

    def turns(self, last: int = 3) -> list[tuple[str, str]]:
        """The last few (standalone question, answer) pairs, for rewriting follow-ups."""
        rows = self.messages(2 * last)
        out, question = [], None
        for r in rows:
            if r["role"] == "user":
                question = r["query"] or r["content"]
            elif question is not None:
                out.append((question, r["content"]))
                question = None
        return out

    def record(self, question: str, query: str, answer: Any) -> None:
        """Store one exchange and feed it to the memory (citation markers left out there)."""
        now = time.time()
        meta = {"abstained": answer.abstained, "mode": answer.mode,
                "citations": [c.model_dump() for c in answer.citations]}  # fmt: skip
        self.memory.add(Message(role="user", content=question))
        self.memory.add(Message(role="assistant", content=_MARKS.sub("", answer.text)))
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            ins = "INSERT INTO session_messages (session_id, ts, role, content, query, meta) VALUES (?,?,?,?,?,?)"
            self.conn.execute(ins, (self.id, now, "user", question, query, "{}"))
            self.conn.execute(ins, (self.id, now, "assistant", answer.text, None, json.dumps(meta, ensure_ascii=False)))
            self.conn.execute("UPDATE sessions SET memory_state = ?, updated_at = ? WHERE id = ?",
                              (json.dumps(self.memory.state(), ensure_ascii=False), now, self.id))  # fmt: skip
            self.conn.execute("COMMIT")
        except db_errors as exc:
            self.conn.execute("ROLLBACK")
            raise StoreError(f"Could not save the session '{self.name}': {exc}.", "check that LINGXI_HOME is writable") from exc

    def __repr__(self) -> str:
        return f"Session(name={self.name!r}, kb={self.kb!r}, memory={self.memory.kind!r})"
