"""What a citation points at (/api/kb/NAME/passages/ID and /api/kb/NAME/file), over HTTP on a
real knowledge base holding a real PDF: the passage with its page, the file only when it is
one of the KB's sources and always as an inert attachment, and clear 404s otherwise
(including a fifo put where a source was, which must not hang the server)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from lingxi.db import connect
from lingxi.models.scripted import ScriptedChat
from lingxi.serve.keys import create_key
from test_serve_page_browser_kb import ANSWER, make_pdf


http = httpx.Client(timeout=60)  # generous: the machine may be busy


@pytest.fixture
def kb_server(tmp_path: Path, start_server: Any) -> Any:
    from lingxi.config import load_settings
    from lingxi.knowledge import KnowledgeBase

    docs = tmp_path / "docs"
    docs.mkdir()
    make_pdf(docs / "guide.pdf")
    (docs / "page.html").write_text("<html><body><script>alert(1)</script><p>HTML port 7000 note.</p></body></html>")
    KnowledgeBase.create("manual", settings=load_settings(home=str(tmp_path))).ingest(docs, embed="later")
    conn = connect(path=tmp_path / "lingxi.db")
    try:
        key = create_key(conn, "t")[1]
    finally:
        conn.close()
    server = start_server(models={"writer": ScriptedChat(default=ANSWER, name="writer")})
    server.headers, server.docs = {"Authorization": f"Bearer {key}"}, docs
    return server


def cited(server: Any) -> dict[str, Any]:
    r = http.post(server.url + "/v1/chat/completions", headers=server.headers, timeout=60, json={
        "model": "kb:manual@writer", "messages": [{"role": "user", "content": "Which port does lingxi serve use?"}]})
    [cite] = r.json()["citations"]
    return cite


def test_the_passage_comes_with_its_file_and_page(kb_server):
    cite = cited(kb_server)
    r = http.get(f"{kb_server.url}/api/kb/manual/passages/{cite['chunk_id']}", params={"quote": cite["quote"]},
                  headers=kb_server.headers)
    body = r.json()
    assert r.status_code == 200 and body["page"] == 2 and body["file"] == "guide.pdf"
    assert body["source"] == str(kb_server.docs / "guide.pdf") and "port 8700" in body["text"]
    no_quote = http.get(f"{kb_server.url}/api/kb/manual/passages/{cite['chunk_id']}", headers=kb_server.headers)
    assert no_quote.status_code == 404  # no vectors here (embed="later"): only the quote finds it
    gone = http.get(f"{kb_server.url}/api/kb/manual/passages/0123456789abcdef01234567", params={"quote": "port"},
                     headers=kb_server.headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "passage_not_found"
    missing = http.get(f"{kb_server.url}/api/kb/nope/passages/x", headers=kb_server.headers)
    assert missing.status_code == 404 and "lingxi kb create nope" in missing.json()["error"]["message"]
    assert http.get(f"{kb_server.url}/api/kb/manual/passages/{cite['chunk_id']}").status_code == 401


def test_the_file_is_an_inert_attachment(kb_server):
    for name, first in [("guide.pdf", b"%PDF"), ("page.html", b"<html>")]:
        r = http.get(f"{kb_server.url}/api/kb/manual/file", params={"source": str(kb_server.docs / name)},
                      headers=kb_server.headers)
        assert r.status_code == 200 and r.content.startswith(first)
        assert r.headers["content-type"] == "application/octet-stream"  # an HTML source never renders as a page
        assert r.headers["content-disposition"].startswith("attachment;")
        assert r.headers["content-security-policy"].startswith("sandbox") and r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("source", ["/etc/passwd", "docs/guide.pdf", "", "../../lingxi.db"])
def test_only_the_kbs_own_sources_are_served(kb_server, source):
    r = http.get(f"{kb_server.url}/api/kb/manual/file", params={"source": source}, headers=kb_server.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "source_not_found"


def test_a_moved_source_or_a_fifo_in_its_place_is_a_404(kb_server):
    pdf = kb_server.docs / "guide.pdf"
    pdf.unlink()
    r = http.get(f"{kb_server.url}/api/kb/manual/file", params={"source": str(pdf)}, headers=kb_server.headers)
    assert r.status_code == 404 and "moved or deleted" in r.json()["error"]["message"]
    os.mkfifo(pdf)
    r = http.get(f"{kb_server.url}/api/kb/manual/file", params={"source": str(pdf)}, headers=kb_server.headers)
    assert r.status_code == 404 and "regular file" in r.json()["error"]["message"]
