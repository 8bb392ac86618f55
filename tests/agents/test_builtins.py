"""Built-in tools: http_get against a local server only, sql over CSV/Excel, now, python, kb_search."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from lingxi.agents.builtins import builtin_tools, kb_search_tool, now, python_tool
from lingxi.agents.web_sql import http_get_tool, sql_tool
from lingxi.errors import ConfigError


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/big":
            body = b"x" * 50_000
        elif self.path == "/redirect-out":
            self.send_response(302)
            self.send_header("Location", "http://evil.example/steal")
            self.end_headers()
            return
        elif self.path == "/redirect-in":
            self.send_response(302)
            self.send_header("Location", "/hello")
            self.end_headers()
            return
        else:
            body = "你好 from lingxi".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def local_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_http_get_allow_list_size_and_redirects(local_server: str) -> None:
    get = http_get_tool([local_server], max_bytes=1000)
    r = get.run({"url": f"http://{local_server}/hello"})
    assert r.ok and r.content == "HTTP 200\n你好 from lingxi"
    big = get.run({"url": f"http://{local_server}/big"})
    assert big.ok and "cut at 1000 bytes" in big.content and len(big.content) < 1100
    assert get.run({"url": f"http://{local_server}/redirect-in"}).content.endswith("from lingxi")
    out = get.run({"url": f"http://{local_server}/redirect-out"})
    assert not out.ok and "evil.example" in out.content and "allow-list" in out.content
    other_port = get.run({"url": "http://127.0.0.1:1/"})
    assert not other_port.ok and "not on the allow-list" in other_port.content
    assert "not an http(s) URL" in get.run({"url": "file:///etc/passwd"}).content
    assert "no host is allowed" in http_get_tool([]).run({"url": f"http://{local_server}/"}).content


def test_sql_over_csv_and_excel_is_read_only(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    csv_path = tmp_path / "sales 2024.csv"
    csv_path.write_text("city,amount\n北京,10\n上海,32\n北京,5\n", encoding="utf-8")
    book = openpyxl.Workbook()
    book.active.append(["city", "people"])
    book.active.append(["北京", 21])
    book.save(tmp_path / "pop.xlsx")
    sql = sql_tool([csv_path, tmp_path / "pop.xlsx"])
    assert "sales_2024(city, amount)" in sql.description and "pop(city, people)" in sql.description
    r = sql.run({"query": "SELECT s.city, SUM(amount) AS total, p.people FROM sales_2024 s "
                          "JOIN pop p USING (city) GROUP BY s.city"})
    assert r.ok and r.content == "city | total | people\n北京 | 15 | 21"
    for bad in ("DROP TABLE pop", "INSERT INTO pop VALUES ('x', 1)", "ATTACH DATABASE '/tmp/x.db' AS x"):
        res = sql.run({"query": bad})
        assert not res.ok and "not authorized" in res.content
    assert "no such column" in sql.run({"query": "SELECT nope FROM pop"}).content


def test_now_and_python_and_kb_hook() -> None:
    stamp = dt.datetime.fromisoformat(now.run({"timezone": "UTC"}).content)
    assert stamp.utcoffset() == dt.timedelta(0)
    assert "Unknown time zone" in now.run({"timezone": "Mars/Base"}).content
    py = python_tool(files={"n.txt": b"41"})
    assert py.run({"code": "int(open('n.txt').read()) + 1"}).content == "result: 42"
    bad = py.run({"code": "import socket; socket.socket()"})
    assert not bad.ok and "network" in bad.content
    hits = [SimpleNamespace(chunk=SimpleNamespace(source="a.md", text="灵犀 is a platform"), score=1.0)]
    fake_kb = SimpleNamespace(search=lambda query, k: hits if "灵犀" in query else [])
    kb = kb_search_tool(fake_kb)
    assert kb.run({"query": "什么是灵犀"}).content == "[1] (a.md) 灵犀 is a platform"
    assert kb.run({"query": "other"}).content == "No passages found."


def test_builtin_tools_by_name() -> None:
    names = [t.name for t in builtin_tools("calc, now,python,http,kb:docs")]
    assert names == ["calculator", "now", "python", "http_get", "kb_search"]
    with pytest.raises(ConfigError, match="Unknown tool 'telnet'"):
        builtin_tools("calc,telnet")
