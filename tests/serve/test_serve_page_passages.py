"""What a citation points at (/api/kb/NAME/passages/ID and /api/kb/NAME/file), over HTTP on a
real knowledge base holding a real PDF: the passage with its page, the file only when it is
one of the KB's sources and always as an inert attachment, and clear 404s otherwise
(including a fifo put where a source was, which must not hang the server)."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest

from lingxi.models.scripted import ScriptedChat
from test_serve_page_browser_kb import ANSWER, make_pdf
from test_serve_page_kit import new_key, page_server


http = httpx.Client(timeout=60)  # generous: the machine may be busy


@pytest.fixture(scope="module")
def kb_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from lingxi.config import load_settings
    from lingxi.knowledge import KnowledgeBase

    home = tmp_path_factory.mktemp("page-passages")
    docs = home / "docs"
    docs.mkdir()
    make_pdf(docs / "guide.pdf")
    (docs / "page.html").write_text("<html><body><script>alert(1)</script><p>HTML port 7000 note.</p></body></html>")
    (docs / "notes.md").write_text("# Notes\n\nA note that will be moved away.\n")
    KnowledgeBase.create("manual", settings=load_settings(home=str(home))).ingest(docs, embed="later")
    with page_server(home, {"writer": ScriptedChat(default=ANSWER, name="writer")}) as server:
        server.headers, server.docs = {"Authorization": f"Bearer {new_key(home)}"}, docs
        yield server


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
    assert body["source"] == "guide.pdf" and "port 8700" in body["text"]  # as citations show it: no server path
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
        r = http.get(f"{kb_server.url}/api/kb/manual/file", params={"source": name}, headers=kb_server.headers)
        assert r.status_code == 200 and r.content.startswith(first)
        assert r.headers["content-type"] == "application/octet-stream"  # an HTML source never renders as a page
        assert r.headers["content-disposition"].startswith("attachment;")
        assert r.headers["content-security-policy"].startswith("sandbox") and r.headers["x-content-type-options"] == "nosniff"


def test_only_the_kbs_own_sources_are_served(kb_server):
    for source in ["/etc/passwd", "docs/guide.pdf", "", "../../lingxi.db", str(kb_server.docs / ".." / "lingxi.db"),
                   str(kb_server.docs / "guide.pdf")]:  # not even a source's absolute path: only its shown name
        r = http.get(f"{kb_server.url}/api/kb/manual/file", params={"source": source}, headers=kb_server.headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "source_not_found", source


def test_a_moved_source_or_a_fifo_in_its_place_is_a_404(kb_server):
    pdf = kb_server.docs / "notes.md"
    pdf.unlink()
    r = http.get(f"{kb_server.url}/api/kb/manual/file", params={"source": "notes.md"}, headers=kb_server.headers)
    assert r.status_code == 404 and "moved or deleted" in r.json()["error"]["message"]
    assert str(kb_server.docs) not in r.text  # the server's folders stay unsaid
    os.mkfifo(pdf)
    r = http.get(f"{kb_server.url}/api/kb/manual/file", params={"source": "notes.md"}, headers=kb_server.headers)
    assert r.status_code == 404 and "regular file" in r.json()["error"]["message"]
