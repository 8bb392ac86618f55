"""The chat page in headless Chromium, one feature per test: pickers on the configured
default, streaming with a stop button, Markdown with code (copy buttons) and math, safety
against hostile answers, feedback with SVG icons. Every test also checks that the page made
no request beyond this server and threw no error."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from lingxi.errors import ModelError
from lingxi.models.scripted import ScriptedChat
from test_serve_page_kit import SlowWords, ask, browser, page_server, shot, shots_dir, watched  # noqa: F401

MD = """Here is **bold** and `inline code`, inline math $E = mc^2$ and \\(a^2 + b^2 = c^2\\).

$$
\\int_0^1 x^2 \\, dx = \\frac{1}{3}
$$

```python
def greet(name):
    return f"hello {name}"
```

| language | typing |
| --- | --- |
| Python | dynamic |
"""
CODE = 'def greet(name):\n    return f"hello {name}"'
EVIL = """Look: <img src=x onerror="window.pwned='img'"> <script>window.pwned='script'</script>
<svg onload="window.pwned='svg'"></svg> [a link](javascript:window.pwned='link') and
![pic](javascript:window.pwned='pic') and <a href="javascript:window.pwned='a'">raw</a>."""
LONG = " ".join(f"word{i}" for i in range(60))


class Flaky(ScriptedChat):
    """Fails its first call (as a model that ran out of memory would), then answers."""

    failed = False

    def stream(self, messages: Any, params: Any = None, tools: Any = None) -> Any:
        if not self.failed:
            self.failed = True
            raise ModelError("The model stopped: out of memory.", "free some memory and retry")
        return super().stream(messages, params, tools)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    home = tmp_path_factory.mktemp("page-chat")
    models = {"alpha": ScriptedChat(default="A.", name="alpha"), "md": ScriptedChat(default=MD, name="md"),
              "evil": ScriptedChat(default=EVIL, name="evil"), "slow": SlowWords(delay=0.08),
              "flaky": Flaky(default="Back on my feet.", name="flaky")}
    with page_server(home, models, {"default_model": "md"}, no_auth=True) as srv:
        srv.home, srv.models = home, models
        yield srv


def db_rows(home: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(home / "lingxi.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_pickers_start_on_the_configured_default_model(browser, server, shot):
    with watched(browser, server.url) as w:
        page = w.open()
        assert page.input_value("#model") == "md"  # the configured default, not the first name ('alpha')
        assert page.input_value("#kb") == "" and not page.is_visible("#kb")  # this server has no knowledge base
        options = page.eval_on_selector_all("#model option", "os => os.map(o => o.value)")
        assert set(options) >= {"alpha", "md", "evil", "slow"} and not any(o.startswith("kb:") for o in options)
        assert page.is_visible("#empty h1")
        shot(page, "01-empty-light")


def test_answer_streams_in_and_stop_keeps_what_arrived(browser, server, shot):
    slow = server.models["slow"]
    with watched(browser, server.url) as w:
        page = w.open()
        page.select_option("#model", "slow")
        page.evaluate("""() => { window.sizes = []; new MutationObserver(() => {
            const a = document.querySelector('.msg.assistant .content');
            if (a && !a.querySelector('.typing')) window.sizes.push(a.textContent.trim().length);
          }).observe(document.getElementById('messages'), {subtree: true, childList: true, characterData: true}); }""")
        short = "the sky over the sea is blue on a clear summer day"
        answer = ask(page, short)
        assert answer.locator(".content").inner_text() == short  # the slow model says the question back
        sizes = page.evaluate("window.sizes")
        assert len(set(sizes)) >= 3 and sizes[-1] == len(short), sizes  # it grew piece by piece

        page.fill("#q", LONG)
        page.press("#q", "Enter")
        second = page.locator(".msg.assistant").nth(1)
        page.wait_for_function("() => document.querySelectorAll('.msg.assistant')[1]"
                               "?.querySelector('.content').textContent.split(' ').length >= 4")
        assert page.is_visible("#stop") and not page.is_visible("#send")
        shot(page, "02-streaming-with-stop-button")
        page.click("#stop")
        second.locator(".actions:not([hidden]) .rate").first.wait_for()
        kept = second.locator(".content").inner_text()
        assert LONG.startswith(kept) and 4 * 6 <= len(kept) < len(LONG)
        assert second.locator(".note").inner_text() == "Stopped"
        assert page.is_visible("#send") and not page.is_visible("#stop")
        deadline = time.monotonic() + 5
        while slow.active and time.monotonic() < deadline:  # the stop reached the model: generation ended
            time.sleep(0.05)
        assert slow.active == 0
        shot(page, "03-stopped")
    saved = db_rows(server.home, "SELECT content, meta FROM session_messages WHERE role = 'assistant' ORDER BY id")
    assert saved[-1][0] == kept and json.loads(saved[-1][1])["stopped"] is True


def test_markdown_code_and_math_render_and_code_copies(browser, server, shot):
    with watched(browser, server.url, permissions=["clipboard-read", "clipboard-write"]) as w:
        page = w.open()
        answer = ask(page, "show me some markdown")
        body = answer.locator(".content")
        assert body.locator("strong").inner_text() == "bold"
        assert body.locator("table th").all_inner_texts() == ["language", "typing"]
        assert body.locator(".katex").count() >= 3 and body.locator(".katex-display").count() == 1
        assert "$" not in body.inner_text() and "\\(" not in body.inner_text()  # no raw TeX left
        assert body.locator("code.hljs .hljs-keyword").first.inner_text() == "def"  # highlighted
        button = body.locator(".code-block .copy-code")
        button.click()
        page.wait_for_selector(".copy-code.done")
        assert page.evaluate("navigator.clipboard.readText()") == CODE
        assert "Copied" in button.inner_text()
        shot(page, "04-markdown-code-math")
        answer.locator(".copy-msg").click()
        page.wait_for_function(f"async () => (await navigator.clipboard.readText()) === {json.dumps(MD)}")


def test_a_hostile_answer_runs_nothing(browser, server, shot):
    with watched(browser, server.url) as w:
        page = w.open()
        page.select_option("#model", "evil")
        answer = ask(page, "say something nasty")
        body = answer.locator(".content")
        assert '<img src=x onerror="window.pwned=' in body.inner_text()  # raw HTML is shown as text
        assert body.locator("img, script, svg[onload]").count() == 0
        handlers = page.evaluate("""() => [...document.querySelectorAll('.markdown *')].flatMap(
            e => [...e.attributes].map(a => a.name)).filter(n => n.startsWith('on'))""")
        assert handlers == []
        hrefs = page.eval_on_selector_all(".markdown a", "as => as.map(a => a.getAttribute('href'))")
        assert not any(h and h.lower().startswith("javascript") for h in hrefs), hrefs
        body.get_by_text("a link").click()
        page.wait_for_timeout(200)
        assert page.evaluate("window.pwned") is None
        shot(page, "05-hostile-answer-as-text")


def test_feedback_uses_svg_icons_and_is_saved(browser, server, shot):
    with watched(browser, server.url) as w:
        page = w.open()
        page.select_option("#model", "alpha")
        answer = ask(page, "rate me")
        up = answer.locator(".rate[data-rating='1']")
        assert up.locator("svg path").count() >= 1 and up.inner_text().strip() == ""  # drawn, not an emoji glyph
        up.click()
        page.wait_for_selector(".rate[data-rating='1'][aria-pressed='true']")
        assert answer.locator(".rate[data-rating='-1']").get_attribute("aria-pressed") == "false"
        shot(page, "06-feedback-given")
    [(model, messages, text, rating)] = db_rows(server.home, "SELECT model, messages, answer, rating FROM feedback")
    assert (model, text, rating) == ("alpha", "A.", 1)
    assert json.loads(messages) == [{"role": "user", "content": "rate me"}]
    [(meta,)] = db_rows(server.home, "SELECT meta FROM session_messages WHERE content = 'A.'")
    assert json.loads(meta)["rating"] == 1  # remembered on the saved answer too


def test_favicon_is_served(browser, server):
    with watched(browser, server.url) as w:
        page = w.open()
        r = page.request.get(server.url + "/favicon.ico")
        assert r.status == 200 and r.headers["content-type"] == "image/x-icon" and r.body()[:4] == b"\0\0\1\0"
        icon = page.evaluate("document.querySelector('link[rel=icon]').href")
        svg = page.request.get(icon)
        assert svg.status == 200 and svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.body()


def test_an_error_is_shown_and_retry_answers(browser, server, shot):
    with watched(browser, server.url) as w:
        page = w.open()
        page.select_option("#model", "flaky")
        page.fill("#q", "are you there?")
        page.press("#q", "Enter")
        failed = page.locator(".msg.assistant .note.error-text")
        failed.wait_for()
        assert "out of memory" in failed.inner_text()
        shot(page, "07-error-with-retry")
        page.click(".msg.assistant .retry")
        page.wait_for_selector(".msg.assistant .content:has-text('Back on my feet.')")
        assert page.locator(".msg.assistant").count() == 1 and page.locator(".msg.user").count() == 1
    saved = db_rows(server.home, "SELECT role, content FROM session_messages WHERE session_id = "
                    "(SELECT max(session_id) FROM session_messages)")
    assert saved == [("user", "are you there?"), ("assistant", "Back on my feet.")]  # the failure was not saved
