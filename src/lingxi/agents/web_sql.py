"""Two tools that reach outside the model: `http_get` (allow-listed hosts) and `sql` (CSV/Excel via SQLite)."""

from __future__ import annotations

import csv
import os
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from lingxi.agents.tools import Tool
from lingxi.errors import ToolError, missing_extra


def http_get_tool(allow_hosts: Sequence[str], *, max_bytes: int = 200_000, timeout_s: float = 10.0,
                  max_redirects: int = 3, name: str = "http_get") -> Tool:
    """GET pages from allow-listed hosts only ("example.com", "127.0.0.1:8000", "*.gov.cn")."""
    allowed = [h.lower() for h in allow_hosts]

    def http_get(url: str) -> str:
        """Fetch a web page or API response by URL (only hosts on the allow-list).

        Args:
            url: the full http(s) URL
        """
        import httpx

        with httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
            for _ in range(max_redirects + 1):
                _check_url(url, allowed)
                with client.stream("GET", url, headers={"User-Agent": "lingxi-agent"}) as resp:
                    if resp.is_redirect and "location" in resp.headers:
                        url = urljoin(url, resp.headers["location"])
                        continue
                    body = _read_capped(resp, max_bytes)
                    text = body.decode(resp.encoding or "utf-8", errors="replace")
                    return f"HTTP {resp.status_code}\n{text}"
        raise ToolError(f"Too many redirects (more than {max_redirects}).", "use the final URL directly")

    return Tool(http_get, name=name)


def _check_url(url: str, allowed: list[str]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ToolError(f"'{url}' is not an http(s) URL.", "use a full URL such as https://example.com/page")
    host = parts.hostname.lower()
    hostport = f"{host}:{parts.port}" if parts.port else host
    ok = any(a in (host, hostport) or (a.startswith("*.") and host.endswith(a[1:])) for a in allowed)
    if not ok:
        hint = f"allowed hosts: {', '.join(allowed)}" if allowed else "no host is allowed; add one with --allow-host"
        raise ToolError(f"The host '{hostport}' is not on the allow-list.", hint)


def _read_capped(resp, max_bytes: int) -> bytes:  # type: ignore[no-untyped-def]
    data = bytearray()
    for chunk in resp.iter_bytes():
        data += chunk
        if len(data) > max_bytes:
            return bytes(data[:max_bytes]) + f"\n… [cut at {max_bytes} bytes]".encode()
    return bytes(data)


# -- sql ------------------------------------------------------------------------------------
def sql_tool(files: Sequence[str | os.PathLike[str]], *, max_rows: int = 50, name: str = "sql") -> Tool:
    """Read-only SQL (SQLite dialect) over CSV/TSV/Excel files; each file (or sheet) is a table."""
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    tables = [t for f in files for t in load_table(conn, Path(f))]
    conn.set_authorizer(_read_only)
    described = "; ".join(f"{t}({', '.join(cols)})" for t, cols in tables) or "no tables loaded"

    def sql(query: str) -> str:
        """Run one read-only SQL query (SQLite) over the loaded tables."""
        try:
            cur = conn.execute(query)
        except sqlite3.Error as exc:
            raise ToolError(f"The query failed: {exc}.", f"tables: {described}") from None
        cols = [d[0] for d in cur.description or []]
        rows = cur.fetchmany(max_rows + 1)
        more = len(rows) > max_rows
        lines = [" | ".join(cols)] + [" | ".join("" if v is None else str(v) for v in r) for r in rows[:max_rows]]
        return "\n".join(lines) + (f"\n… (more than {max_rows} rows; add LIMIT or aggregate)" if more else "")

    return Tool(sql, name=name, description=f"Run one read-only SQL query (SQLite dialect). Tables: {described}.")


def _read_only(action: int, *args: object) -> int:
    allowed = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
    return sqlite3.SQLITE_OK if action in allowed else sqlite3.SQLITE_DENY


def load_table(conn: sqlite3.Connection, path: Path) -> list[tuple[str, list[str]]]:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh, delimiter="\t" if suffix == ".tsv" else ","))
        return [_store(conn, _table_name(path.stem), rows)] if rows else []
    if suffix in (".xlsx", ".xlsm"):
        try:
            import openpyxl
        except ImportError as exc:
            raise missing_extra("openpyxl", "knowledge") from exc
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        many = len(book.sheetnames) > 1
        out = []
        for sheet in book.worksheets:
            rows = [list(r) for r in sheet.iter_rows(values_only=True)]
            tname = _table_name(f"{path.stem}_{sheet.title}" if many else path.stem)
            if rows:
                out.append(_store(conn, tname, rows))
        return out
    raise ToolError(f"'{path.name}' is not a CSV, TSV or Excel (.xlsx) file.", "convert it to CSV")


def _store(conn: sqlite3.Connection, table: str, rows: list[list[object]]) -> tuple[str, list[str]]:
    header = [_column(str(h) if h is not None else "", i) for i, h in enumerate(rows[0])]
    body = [[_cell(v) for v in (r + [None] * len(header))[: len(header)]] for r in rows[1:]]
    types = [_affinity([r[i] for r in body]) for i in range(len(header))]
    cols = ", ".join(f'"{h}" {t}' for h, t in zip(header, types, strict=True))
    conn.execute(f'CREATE TABLE "{table}" ({cols})')
    conn.executemany(f'INSERT INTO "{table}" VALUES ({", ".join("?" * len(header))})', body)
    return table, header


def _cell(v: object) -> object:
    if isinstance(v, str):
        s = v.strip()
        for conv in (int, float):
            try:
                return conv(s)
            except ValueError:
                pass
        return s if s else None
    return v


def _affinity(values: list[object]) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int) for v in present):
        return "INTEGER"
    if present and all(isinstance(v, (int, float)) for v in present):
        return "REAL"
    return "TEXT"


def _table_name(stem: str) -> str:
    name = re.sub(r"\W+", "_", stem).strip("_") or "data"
    return name if not name[0].isdigit() else f"t_{name}"


def _column(name: str, i: int) -> str:
    name = re.sub(r'["\s]+', "_", name.strip()) or f"col{i + 1}"
    return name
