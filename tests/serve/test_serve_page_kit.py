"""What the chat page's browser tests share (this module holds no tests): Debian's headless
Chromium driven by Playwright's Python package (no browser download), a real server on
loopback per test module with scripted models, and screenshots of each state.

Screenshots go to $LINGXI_SCREENSHOTS when it is set (``LINGXI_SCREENSHOTS=docs/screenshots``
refreshes the committed set), else to a folder under pytest's temporary directory; the
folder is printed at the end of the run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from conftest import LiveServer, make_settings
from db_engines import home_db
from lingxi.serve import create_app, serve_settings
from lingxi.serve.keys import create_key
from lingxi.types import Delta, Usage

CHROMIUM = os.environ.get("LINGXI_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
_printed: list[Path] = []


class SlowWords:
    """A test model that streams `text` (or, without it, the last user message) a word every
    `delay` seconds, and counts the generations still running (to see a stop reach the model)."""

    provider = "scripted"

    def __init__(self, text: str | None = None, delay: float = 0.05, name: str = "slow") -> None:
        self.text, self.delay, self.name, self.active = text, delay, name, 0

    def stream(self, messages: Any, params: Any = None, tools: Any = None) -> Iterator[Delta]:
        from lingxi.models.base import as_messages

        words = (self.text or as_messages(messages)[-1].content or "").split(" ")
        self.active += 1
        try:
            for i, w in enumerate(words):
                time.sleep(self.delay)
                yield Delta(text=w if i == 0 else " " + w)
            yield Delta(finish_reason="stop", usage=Usage(prompt_tokens=1, completion_tokens=len(words)))
        finally:
            self.active -= 1

    def chat(self, messages: Any, params: Any = None, tools: Any = None) -> Any:
        from lingxi.models.base import collect

        return collect(self.stream(messages, params, tools), self.name)

    def count_tokens(self, text: str) -> int:
        return len(text.split())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent: the web page tests need Debian's chromium (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright's Python package: pip install playwright")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def shots_dir(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    folder = Path(os.environ["LINGXI_SCREENSHOTS"]) if os.environ.get("LINGXI_SCREENSHOTS") else (
        tmp_path_factory.getbasetemp() / "page-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    if not _printed:
        _printed.append(folder)
        capture = request.config.pluginmanager.get_plugin("capturemanager")

        def tell() -> None:
            with capture.global_and_fixture_disabled():
                print(f"\nchat page screenshots: {folder}")

        request.addfinalizer(tell)
    return folder


@pytest.fixture
def shot(shots_dir: Path) -> Callable[[Any, str], Path]:
    def take(page: Any, name: str) -> Path:
        path = shots_dir / f"{name}.png"
        page.screenshot(path=str(path))
        assert path.stat().st_size > 1000  # a real picture, not an empty file
        return path

    return take


@contextmanager
def page_server(home: Path, models: dict[str, Any], settings: dict[str, Any] | None = None,
                **serve: Any) -> Iterator[LiveServer]:
    app = create_app(make_settings(home, **(settings or {})), serve_settings(rate_limit=0, **serve), models=models)
    with LiveServer(app) as server:
        yield server


def new_key(home: Path, name: str = "page") -> str:
    conn = home_db(home)
    try:
        return create_key(conn, name)[1]
    finally:
        conn.close()


class Watched:
    """A page with its uncaught errors and every URL it asked for (to prove nothing left the server)."""

    def __init__(self, context: Any, base: str) -> None:
        self.context, self.base = context, base
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.page = context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.urls.append(r.url))

    def open(self, path: str = "/") -> Any:
        self.page.goto(self.base + path)
        self.page.wait_for_selector("body.ready", timeout=15_000)
        return self.page

    def check(self) -> None:
        assert not self.errors, self.errors
        foreign = [u for u in self.urls if not u.startswith((self.base, "blob:", "data:"))]
        assert not foreign, foreign  # offline: nothing from a CDN


@contextmanager
def watched(browser: Any, base: str, **context: Any) -> Iterator[Watched]:
    ctx = browser.new_context(**{"viewport": {"width": 1280, "height": 820}, "locale": "en-US", **context})
    w = Watched(ctx, base)
    try:
        yield w
        w.check()
    finally:
        ctx.close()


def ask(page: Any, text: str, timeout: float = 30_000) -> Any:
    """Send `text` and wait until its answer has finished (its buttons appear); the answer element."""
    before = page.locator(".msg.assistant").count()
    page.fill("#q", text)
    page.press("#q", "Enter")
    answer = page.locator(".msg.assistant").nth(before)
    answer.locator(".actions:not([hidden]) .rate").first.wait_for(timeout=timeout)
    return answer
