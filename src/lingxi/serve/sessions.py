"""Saved conversations for the chat page: the home database's `sessions` and
`session_messages` tables (the same ones `lingxi ask --session` and `lingxi chat` use).

    GET    /api/sessions                 the caller's conversations, most recent first
    POST   /api/sessions                 {"title"?, "model"?, "kb"?, "messages"?} -> a new one
    GET    /api/sessions/{id}            one conversation with its messages
    PATCH  /api/sessions/{id}            {"title"?, "model"?, "kb"?}: rename, or remember the pickers
    DELETE /api/sessions/{id}            delete it and its messages
    POST   /api/sessions/{id}/messages   {"messages": [{"role", "content", "meta"?}]} -> appended

Each conversation belongs to the API key that created it; without keys (``--no-auth``)
they belong to the local user, whose CLI sessions are listed too. Another key's
conversation answers 404, as one that does not exist. The first user message names a
conversation that has no title yet.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Callable
from contextlib import closing
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lingxi import db
from lingxi.serve.errors import ApiError, validation_error
from lingxi.serve.state import Caller, read_json

router = APIRouter()
T = TypeVar("T")
TITLE_CHARS = 60
SQLITE_MAX = 2**63 - 1
Sid = Path(ge=1, le=SQLITE_MAX, description="the conversation's id")  # SQLite integers are 64-bit
_COLUMNS = "s.id, s.name, s.title, s.model, s.kb, s.created_at, s.updated_at"


def _caller(request: Request) -> Caller:
    return request.app.state.lingxi.authenticate(request)


def _clean_title(value: str | None) -> str | None:
    if value is None:
        return None
    text = re.sub(r"\s+", " ", value).strip()
    if not text:
        raise ValueError("a title needs at least one visible character")
    return text


class SessionEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=200)
    model: str | None = Field(None, max_length=200)
    kb: str | None = Field(None, max_length=200)

    _title = field_validator("title")(_clean_title)


class NewMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str
    meta: dict[str, Any] = Field(default_factory=dict)


class NewMessages(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[NewMessage] = Field(min_length=1, max_length=50)


class NewSession(SessionEdit):
    messages: list[NewMessage] = Field(default_factory=list, max_length=50)  # its first messages, if any


BODIES = {"/api/sessions": NewSession, "/api/sessions/{sid}/messages": NewMessages}  # POST bodies, for /openapi.json


async def _body(request: Request, kind: type[BaseModel]) -> Any:
    try:
        return kind.model_validate(await read_json(request, request.app.state.lingxi.serve.max_body_bytes))
    except ValidationError as exc:
        raise validation_error(exc.errors()) from exc


async def _run(request: Request, fn: Callable[[Any], T]) -> T:
    """`fn(conn)` in a worker thread, on a connection of its own (one transaction, no waiting loop)."""
    path = db.target(request.app.state.lingxi.settings)

    def work() -> T:
        with closing(db.connect(path=path)) as conn:
            return fn(conn)

    return await asyncio.to_thread(work)


def _owner(who: Caller) -> int | None:
    return who.key.id if who.key else None


def _card(row: Any) -> dict[str, Any]:
    card = dict(row)
    card["title"] = card["title"] or card["name"]
    return card


def _find(conn: Any, sid: int, owner: int | None) -> Any:
    row = conn.execute(f"SELECT {_COLUMNS}, (SELECT count(*) FROM session_messages m WHERE m.session_id = s.id) "
                       "AS messages FROM sessions s WHERE s.id = ? AND s.key_id IS ?", (sid, owner)).fetchone()
    if row is None:
        raise ApiError(404, f"There is no conversation {sid} for this key; GET /api/sessions lists yours.",
                       param="id", code="session_not_found")
    return row


def title_from(text: str) -> str:
    """A title from the first message: its first line, at most TITLE_CHARS characters."""
    line = re.sub(r"\s+", " ", text.strip().split("\n", 1)[0]).strip() or "…"
    return line if len(line) <= TITLE_CHARS else line[:TITLE_CHARS - 1].rstrip() + "…"


@router.get("/api/sessions")
async def list_sessions(request: Request, who: Caller = Depends(_caller)) -> dict[str, Any]:
    def fn(conn: Any) -> list[dict[str, Any]]:
        rows = conn.execute(f"SELECT {_COLUMNS}, (SELECT count(*) FROM session_messages m WHERE m.session_id = s.id) "
                            "AS messages FROM sessions s WHERE s.key_id IS ? ORDER BY s.updated_at DESC, s.id DESC",
                            (_owner(who),)).fetchall()
        return [_card(r) for r in rows]

    return {"object": "list", "data": await _run(request, fn)}


@router.post("/api/sessions")
async def create_session(request: Request, who: Caller = Depends(_caller)) -> dict[str, Any]:
    new: NewSession = await _body(request, NewSession)

    def fn(conn: Any) -> dict[str, Any]:
        now = time.time()
        for _ in range(5):
            try:
                conn.execute("BEGIN IMMEDIATE")
                cur = conn.execute("INSERT INTO sessions (name, title, kb, model, memory, key_id, created_at, "
                                   "updated_at) VALUES (?, ?, ?, ?, 'buffer-window', ?, ?, ?)",
                                   (f"web-{secrets.token_hex(4)}", new.title, new.kb, new.model, _owner(who),
                                    now, now))
            except db.IntegrityError:  # the random name was taken: draw another
                conn.execute("ROLLBACK")
                continue
            sid = int(cur.lastrowid or 0)
            try:
                ids = _append(conn, sid, new.title, new.messages)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return {**_card(_find(conn, sid, _owner(who))), "ids": ids}
        raise ApiError(500, "Could not find a free name for a new conversation; try again.", code="session_name")

    return await _run(request, fn)


@router.get("/api/sessions/{sid}")
async def get_session(sid: int = Sid, *, request: Request, who: Caller = Depends(_caller)) -> dict[str, Any]:
    def fn(conn: Any) -> dict[str, Any]:
        card = _card(_find(conn, sid, _owner(who)))
        rows = conn.execute("SELECT id, ts, role, content, meta FROM session_messages WHERE session_id = ? "
                            "ORDER BY id", (sid,)).fetchall()
        card["messages"] = [{**dict(r), "meta": _meta(r["meta"])} for r in rows]
        return card

    return await _run(request, fn)


def _meta(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@router.patch("/api/sessions/{sid}")
async def edit_session(sid: int = Sid, *, request: Request, who: Caller = Depends(_caller)) -> dict[str, Any]:
    edit: SessionEdit = await _body(request, SessionEdit)
    changes = edit.model_dump(exclude_unset=True)
    if changes.get("title", "") is None:
        raise ApiError(400, "A title cannot be null; send the new title as text.", param="title",
                       code="invalid_value")

    def fn(conn: Any) -> dict[str, Any]:
        _find(conn, sid, _owner(who))
        for column, value in changes.items():  # column names come from SessionEdit's fields only
            conn.execute(f"UPDATE sessions SET {column} = ? WHERE id = ?", (value or None, sid))
        return _card(_find(conn, sid, _owner(who)))

    return await _run(request, fn)


@router.delete("/api/sessions/{sid}")
async def delete_session(sid: int = Sid, *, request: Request, who: Caller = Depends(_caller)) -> dict[str, Any]:
    def fn(conn: Any) -> dict[str, Any]:
        _find(conn, sid, _owner(who))
        conn.execute("DELETE FROM sessions WHERE id = ?", (sid,))  # its messages go with it (ON DELETE CASCADE)
        return {"id": sid, "object": "session", "deleted": True}

    return await _run(request, fn)


@router.post("/api/sessions/{sid}/messages")
async def add_messages(sid: int = Sid, *, request: Request, who: Caller = Depends(_caller)) -> dict[str, Any]:
    new: NewMessages = await _body(request, NewMessages)

    def fn(conn: Any) -> dict[str, Any]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            ids = _append(conn, sid, _find(conn, sid, _owner(who))["title"], new.messages)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return {"ids": ids, "session": _card(_find(conn, sid, _owner(who)))}

    return await _run(request, fn)


def _append(conn: Any, sid: int, title: str | None, messages: list[NewMessage]) -> list[int]:
    """Add `messages` to conversation `sid` (inside the caller's transaction); the first user
    message names a conversation that has no title yet."""
    now, ids = time.time(), []
    for m in messages:
        cur = conn.execute("INSERT INTO session_messages (session_id, ts, role, content, meta) VALUES (?, ?, ?, ?, ?)",
                           (sid, now, m.role, m.content, json.dumps(m.meta, ensure_ascii=False)))
        ids.append(int(cur.lastrowid or 0))
    first = next((m.content for m in messages if m.role == "user" and m.content.strip()), None)
    conn.execute("UPDATE sessions SET title = ?, updated_at = ? WHERE id = ?",
                 (title or (title_from(first) if first else None), now, sid))
    return ids


def rate_message(conn: Any, message_id: int, owner: int | None, rating: int) -> bool:
    """Remember a thumbs up/down on a saved answer (in its meta); False when it is not the caller's."""
    row = conn.execute("SELECT m.meta FROM session_messages m JOIN sessions s ON s.id = m.session_id "
                       "WHERE m.id = ? AND m.role = 'assistant' AND s.key_id IS ?", (message_id, owner)).fetchone()
    if row is None:
        return False
    conn.execute("UPDATE session_messages SET meta = ? WHERE id = ?",
                 (json.dumps({**_meta(row["meta"]), "rating": rating}, ensure_ascii=False), message_id))
    return True
