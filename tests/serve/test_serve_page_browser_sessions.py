"""The chat page's conversation list in headless Chromium, on a server with API keys: the key
is asked for once and kept in the browser; conversations are saved, listed, reopened (from
the list and from the address), renamed and deleted, in the home database."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from lingxi.models.scripted import ScriptedChat
from test_serve_page_kit import ask, browser, new_key, page_server, shot, shots_dir, watched  # noqa: F401


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    home = tmp_path_factory.mktemp("page-sessions")
    models = {"parrot": ScriptedChat(default="Noted.", name="parrot"), "other": ScriptedChat(default="Other.", name="other")}
    with page_server(home, models, {"default_model": "parrot"}) as srv:
        srv.home, srv.key = home, new_key(home)
        yield srv


def titles(server: Any) -> list[str]:
    conn = sqlite3.connect(server.home / "lingxi.db")
    try:
        return [r[0] for r in conn.execute("SELECT title FROM sessions ORDER BY id")]
    finally:
        conn.close()


def test_the_api_key_is_asked_for_once_and_kept(browser, server, shot):
    with watched(browser, server.url) as w:
        w.page.goto(server.url + "/")
        dialog = w.page.locator("#key-dialog")
        dialog.wait_for(state="visible")
        shot(w.page, "08-api-key-asked")
        w.page.fill("#key-input", "lx-wrong")
        w.page.click("#key-dialog button[value=saved]")
        w.page.wait_for_selector("#key-error:not([hidden])")  # asked again, saying why
        assert "wrong or has been revoked" in w.page.inner_text("#key-error")
        w.page.fill("#key-input", server.key)
        w.page.click("#key-dialog button[value=saved]")
        w.page.wait_for_selector("body.ready")
        assert w.page.input_value("#model") == "parrot" and not dialog.is_visible()
        assert w.page.evaluate("localStorage.getItem('lingxi-key')") == server.key
        w.page.reload()  # kept: not asked again
        w.page.wait_for_selector("body.ready")
        assert not dialog.is_visible() and {"parrot", "other"} <= set(w.page.eval_on_selector_all(
            "#model option", "os => os.map(o => o.value)"))


def keyed(browser: Any, server: Any) -> Any:
    """A browser context that already holds the key."""
    return watched(browser, server.url, storage_state={"cookies": [], "origins": [
        {"origin": server.url, "localStorage": [{"name": "lingxi-key", "value": server.key}]}]})


def test_conversations_are_saved_listed_and_reopened(browser, server, shot):
    with keyed(browser, server) as w:
        page = w.open()
        ask(page, "First question about apples\nwith a second line")
        page.wait_for_selector(".conv.active")
        assert page.inner_text(".conv.active .conv-open") == "First question about apples"
        assert "#/c/" in page.url
        first_url = page.url
        page.keyboard.press("Control+Shift+O")  # a new chat
        assert page.locator(".msg").count() == 0 and page.is_visible("#empty")
        page.select_option("#model", "other")
        ask(page, "Second question about pears")
        page.wait_for_function("() => document.querySelectorAll('.conv').length === 2")
        assert page.locator(".conv .conv-open").all_inner_texts()[:2] == ["Second question about pears",
                                                                         "First question about apples"]
        shot(page, "09-conversation-list")
        page.click(".conv-open:text('First question about apples')")
        page.wait_for_function("() => document.querySelector('.msg.user .bubble')?.textContent.startsWith('First')")
        assert page.locator(".msg.assistant .content").all_inner_texts() == ["Noted."]
        assert page.input_value("#model") == "parrot"  # the conversation's own model comes back
        assert page.url == first_url
        page.goto(server.url + "/")
        page.goto(first_url)  # straight from the address
        page.wait_for_selector(".msg.assistant")
        assert page.inner_text(".msg.user .bubble") == "First question about apples\nwith a second line"
        ask(page, "a follow-up")  # goes on in the same conversation
        assert page.locator(".msg.user").count() == 2
    assert titles(server)[-2:] == ["First question about apples", "Second question about pears"]


def test_rename_and_delete(browser, server, shot):
    with keyed(browser, server) as w:
        page = w.open()
        ask(page, "to be renamed")
        row = page.locator(".conv.active")
        row.locator(".conv-rename").click()
        box = page.locator(".conv-input")
        box.fill("My renamed chat 改名")
        shot(page, "10-rename")
        box.press("Enter")
        page.wait_for_selector(".conv-open:text('My renamed chat 改名')")
        assert "My renamed chat 改名" in titles(server)
        page.reload()
        page.wait_for_selector("body.ready")
        assert "My renamed chat 改名" in page.locator(".conv-open").all_inner_texts()
        before = len(titles(server))
        renamed = page.locator(".conv", has_text="My renamed chat 改名")
        renamed.hover()
        renamed.locator(".conv-delete").click()
        page.wait_for_selector("#confirm-dialog[open]")
        assert "My renamed chat 改名" in page.inner_text("#confirm-dialog .confirm-body")
        shot(page, "11-delete-confirm")
        page.click("#confirm-dialog button[value=delete]")
        page.wait_for_function("() => ![...document.querySelectorAll('.conv-open')].some(a => a.textContent.includes('改名'))")
        assert len(titles(server)) == before - 1 and "My renamed chat 改名" not in titles(server)
        assert page.locator(".msg").count() == 0  # the open conversation was the deleted one: a new chat now
        row = page.locator(".conv").first
        kept = row.inner_text()
        row.hover()  # the buttons show on hover (or always, on a touch screen)
        row.locator(".conv-delete").click()
        page.click("#confirm-dialog button[value=cancel]")  # cancel deletes nothing
        assert page.locator(".conv").first.inner_text() == kept and len(titles(server)) == before - 1
