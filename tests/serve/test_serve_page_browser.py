"""The chat page in headless Chromium (Debian's `chromium`, driven by Playwright's Python
package; no browser download): ask, watch the answer stream in, give a thumbs-up,
find it in the database."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from serve_fakes import EchoChat

CHROMIUM = os.environ.get("LINGXI_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUESTION = "what colour is the sky over the sea on a clear summer day"

# how the answer grew, one entry per change of its text (to see that it streamed)
WATCH = """() => { window.sizes = []; new MutationObserver(() => {
  const a = document.querySelector('.msg.assistant'); if (a) window.sizes.push(a.textContent.length);
}).observe(document.getElementById('log'), {subtree: true, childList: true, characterData: true}); }"""


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent: the web page test needs Debian's chromium (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright's Python package: pip install playwright")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_ask_stream_and_thumbs_up_in_chromium(browser, start_server, tmp_path):
    server = start_server({"echo": EchoChat(delay=0.05)}, no_auth=True)
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(server.url + "/")
        page.wait_for_selector("#model option:text-is('echo')", state="attached")
        page.select_option("#model", "echo")
        page.evaluate(WATCH)
        page.fill("#q", QUESTION)
        page.press("#q", "Enter")
        page.wait_for_selector(".fb button", timeout=30_000)  # the thumbs appear when the stream has ended
        assert page.inner_text(".msg.user") == QUESTION
        assert page.inner_text(".msg.assistant") == QUESTION  # the echo model answers with the question
        sizes = page.evaluate("window.sizes")
        assert len(set(sizes)) >= 3 and sizes[-1] == len(QUESTION), sizes  # it grew piece by piece
        page.click(".fb button[data-rating='1']")
        page.wait_for_selector(".fb button.on[data-rating='1']")
    finally:
        page.close()
    assert not errors, errors
    assert all(url.startswith(server.url) for url in requests), requests  # offline: nothing from a CDN
    conn = sqlite3.connect(tmp_path / "lingxi.db")
    try:
        rows = conn.execute("SELECT model, messages, answer, rating FROM feedback").fetchall()
    finally:
        conn.close()
    assert len(rows) == 1
    model, messages, answer, rating = rows[0]
    assert (model, answer, rating) == ("echo", QUESTION, 1)
    assert json.loads(messages) == [{"role": "user", "content": QUESTION}]
