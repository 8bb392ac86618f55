"""The chat page's looks and keys in headless Chromium: light/dark (saved, and the system's by
default), Chinese/English text, keyboard shortcuts (Enter never sends while an input method
composes), the settings dialog, and a phone-sized screen."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lingxi.models.scripted import ScriptedChat
from test_serve_page_kit import SlowWords, ask, browser, page_server, shot, shots_dir, watched  # noqa: F401

MD = "Sure:\n\n```js\nconsole.log('hi')\n```\n\nand $x^2$ is math."
BG = "getComputedStyle(document.body).backgroundColor"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    home = tmp_path_factory.mktemp("page-ui")
    models = {"md": ScriptedChat(default=MD, name="md"), "slow": SlowWords(text=" ".join(["tick"] * 200), delay=0.05)}
    with page_server(home, models, {"default_model": "md"}, no_auth=True) as srv:
        yield srv


def test_light_dark_follows_the_system_and_the_toggle_is_kept(browser, server, shot):
    with watched(browser, server.url, color_scheme="dark") as w:
        page = w.open()
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        assert page.evaluate(BG) == "rgb(33, 33, 33)"
        ask(page, "markdown in the dark")
        assert page.evaluate("document.getElementById('hl-dark').disabled") is False
        shot(page, "15-dark")
        page.click("#theme")
        assert page.evaluate("document.documentElement.dataset.theme") == "light"
        assert page.evaluate(BG) == "rgb(255, 255, 255)"
        page.reload()
        page.wait_for_selector("body.ready")
        assert page.evaluate("document.documentElement.dataset.theme") == "light"  # the choice was kept


def test_chinese_and_english(browser, server, shot):
    with watched(browser, server.url, locale="zh-CN") as w:
        page = w.open()
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert page.inner_text("#new-chat") .startswith("新对话")
        assert page.inner_text("#empty h1") == "今天想聊点什么？"
        assert page.get_attribute("#q", "placeholder").startswith("给灵犀发消息")
        answer = ask(page, "你好")
        assert answer.locator(".copy-code span").inner_text() == "复制代码"
        assert answer.locator(".rate[data-rating='1']").get_attribute("aria-label") == "回答很好"
        shot(page, "16-chinese")
        page.click("#lang")
        assert page.inner_text("#new-chat").startswith("New chat") and page.evaluate("document.documentElement.lang") == "en"
        assert answer.locator(".rate[data-rating='1']").get_attribute("aria-label") == "Good answer"
        page.reload()
        page.wait_for_selector("body.ready")
        assert page.inner_text("#new-chat").startswith("New chat")  # kept


def test_keyboard_shortcuts(browser, server, shot):
    with watched(browser, server.url, permissions=["clipboard-read", "clipboard-write"]) as w:
        page = w.open()
        page.fill("#q", "line one")
        page.press("#q", "Shift+Enter")
        page.type("#q", "line two")
        assert page.input_value("#q") == "line one\nline two" and page.locator(".msg").count() == 0
        page.evaluate("""() => document.getElementById('q').dispatchEvent(new KeyboardEvent('keydown',
            {key: 'Enter', isComposing: true, bubbles: true, cancelable: true}))""")  # a pinyin candidate chosen
        assert page.locator(".msg").count() == 0
        page.press("#q", "Enter")
        page.locator(".msg.assistant .rate").first.wait_for()
        page.keyboard.press("Control+Shift+C")
        page.wait_for_function(f"async () => (await navigator.clipboard.readText()) === {json.dumps(MD)}")
        page.keyboard.press("Control+/")
        page.wait_for_selector("#shortcuts-dialog[open]")
        assert "New chat" in page.inner_text("#shortcut-list")
        shot(page, "17-shortcuts")
        page.keyboard.press("Escape")
        page.keyboard.press("Control+k")
        assert page.evaluate("document.activeElement.id") == "search"
        page.keyboard.press("Shift+Escape")
        assert page.evaluate("document.activeElement.id") == "q"
        page.keyboard.press("Control+Shift+S")
        page.wait_for_function("() => document.getElementById('sidebar').getBoundingClientRect().right <= 0")
        page.keyboard.press("Control+Shift+S")
        page.wait_for_function("() => document.getElementById('sidebar').getBoundingClientRect().left >= 0")
        page.select_option("#model", "slow")
        page.fill("#q", "count")
        page.press("#q", "Enter")
        page.wait_for_selector("#stop:visible")
        page.keyboard.press("Escape")  # stops generating
        page.wait_for_selector(".msg.assistant >> nth=1 >> .note:text('Stopped')")
        page.keyboard.press("Control+Shift+O")
        assert page.locator(".msg").count() == 0 and page.input_value("#model") == "md"  # back on the default


def test_settings_dialog_sends_temperature_and_max_tokens(browser, server, shot):
    with watched(browser, server.url) as w:
        page = w.open()
        page.click("#open-settings")
        page.fill("#settings-temperature", "0.2")
        page.fill("#settings-max-tokens", "3")
        shot(page, "18-settings")
        page.click("#settings-dialog button[value=save]")
        answer = ask(page, "cut me short")
        assert answer.locator(".content").inner_text() == "Sure:"  # three tokens: 'Sure', ':', and a newline


def test_phone_width(browser, server, shot):
    phone = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}
    with watched(browser, server.url, **phone) as w:
        page = w.open()
        assert page.evaluate("document.getElementById('sidebar').getBoundingClientRect().right") <= 0  # tucked away
        page.fill("#q", "a phone question")
        page.press("#q", "Enter")  # a phone keyboard's Enter is a new line; the button sends
        assert page.input_value("#q") == "a phone question\n" and page.locator(".msg").count() == 0
        page.tap("#send")
        page.locator(".msg.assistant .actions:not([hidden]) .rate").first.wait_for()
        assert page.inner_text(".msg.user .bubble") == "a phone question"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing spills sideways
        box = page.locator("#composer").bounding_box()
        assert box["y"] + box["height"] <= 844 and box["width"] <= 390
        shot(page, "19-phone-chat")
        page.click("#toggle-side")
        page.wait_for_function("() => document.getElementById('sidebar').getBoundingClientRect().left >= 0")
        assert page.locator(".conv").count() >= 1 and page.is_visible(".conv .conv-delete")  # touch: always shown
        shot(page, "20-phone-conversations")
        page.click("#scrim", position={"x": 370, "y": 400})
        page.wait_for_function("() => document.getElementById('sidebar').getBoundingClientRect().right <= 0")
