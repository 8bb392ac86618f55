"""API keys for the server, kept in the home database as SHA-256 hashes.

A key looks like ``lx-<43 url-safe characters>`` (256 random bits), so a plain
SHA-256 is enough: there is nothing to brute-force. The key itself is shown
once, by `create_key`; afterwards only its prefix identifies it.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lingxi.errors import ConfigError

PREFIX = "lx-"


@dataclass(frozen=True)
class KeyInfo:
    id: int
    name: str
    prefix: str
    rate_limit: int | None
    created_at: float
    last_used_at: float | None
    revoked_at: float | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _info(row: Any) -> KeyInfo:
    return KeyInfo(row["id"], row["name"], row["prefix"], row["rate_limit"], row["created_at"],
                   row["last_used_at"], row["revoked_at"])


def create_key(conn: Any, name: str, rate_limit: int | None = None) -> tuple[KeyInfo, str]:
    """Make a new key; return its record and the key itself (shown only this once)."""
    if not name.strip():
        raise ConfigError("A key needs a name.", "e.g. lingxi keys create laptop")
    if rate_limit is not None and rate_limit < 0:
        raise ConfigError("The rate limit must be 0 (unlimited) or more requests per minute.", "e.g. --rate-limit 60")
    key = PREFIX + secrets.token_urlsafe(32)
    cur = conn.execute(
        "INSERT INTO api_keys (name, prefix, hash, rate_limit, created_at) VALUES (?, ?, ?, ?, ?)",
        (name.strip(), key[:10], _hash(key), rate_limit, time.time()),
    )
    row = conn.execute("SELECT * FROM api_keys WHERE id = ?", (cur.lastrowid,)).fetchone()
    return _info(row), key


def list_keys(conn: Any, *, include_revoked: bool = False) -> list[KeyInfo]:
    sql = "SELECT * FROM api_keys" + ("" if include_revoked else " WHERE revoked_at IS NULL") + " ORDER BY id"
    return [_info(r) for r in conn.execute(sql)]


def revoke_key(conn: Any, ident: str) -> KeyInfo:
    """Revoke by id, name or prefix; an ambiguous or unknown reference is an error."""
    rows = conn.execute(
        "SELECT * FROM api_keys WHERE revoked_at IS NULL AND (CAST(id AS TEXT) = ? OR name = ? OR prefix = ?)",
        (ident, ident, ident[:10]),
    ).fetchall()
    if not rows:
        raise ConfigError(f"No active key matches '{ident}'.", "see the ids with: lingxi keys list")
    if len(rows) > 1:
        raise ConfigError(f"'{ident}' matches {len(rows)} keys.", "revoke by id (lingxi keys list shows them)")
    conn.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", (time.time(), rows[0]["id"]))
    return _info(conn.execute("SELECT * FROM api_keys WHERE id = ?", (rows[0]["id"],)).fetchone())


def verify_key(conn: Any, key: str) -> KeyInfo | None:
    """The active key record for a presented key, or None."""
    if not key.startswith(PREFIX):
        return None
    row = conn.execute("SELECT * FROM api_keys WHERE hash = ? AND revoked_at IS NULL", (_hash(key),)).fetchone()
    return _info(row) if row else None


class RateLimiter:
    """A token bucket per caller: `per_minute` requests, refilled continuously (bursts up to the limit)."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, who: str, per_minute: int) -> float:
        """0 if the call may go ahead, else the seconds until it may."""
        if per_minute <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(who, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - last) * per_minute / 60.0)
            if tokens >= 1.0:
                self._buckets[who] = (tokens - 1.0, now)
                return 0.0
            self._buckets[who] = (tokens, now)
            return (1.0 - tokens) * 60.0 / per_minute


class SharedRateLimiter:
    """The same token buckets kept in the database (table rate_buckets), for replicas that share one:
    each check is one atomic upsert, so two replicas never both spend the last token."""

    def __init__(self, execute: Callable[[str, tuple[Any, ...]], Any]) -> None:
        self._execute = execute

    def allow(self, who: str, per_minute: int) -> float:
        if per_minute <= 0:
            return 0.0
        cap, rate, now = float(per_minute), per_minute / 60.0, time.time()
        refill = "(rate_buckets.tokens + (? - rate_buckets.updated_at) * ?)"
        level = f"(CASE WHEN {refill} > ? THEN ? ELSE {refill} END)"
        sql = ("INSERT INTO rate_buckets (who, tokens, updated_at, allowed) VALUES (?, ?, ?, 1) "
               f"ON CONFLICT (who) DO UPDATE SET tokens = CASE WHEN {level} >= 1 THEN {level} - 1 ELSE {level} END, "
               f"allowed = CASE WHEN {level} >= 1 THEN 1 ELSE 0 END, updated_at = ? RETURNING tokens, allowed")
        lv = (now, rate, cap, cap, now, rate)
        row = self._execute(sql, (who, cap - 1.0, now, *lv, *lv, *lv, *lv, now)).fetchone()
        if row is None or row[1]:
            return 0.0
        return max(0.0, 1.0 - float(row[0])) * 60.0 / per_minute
