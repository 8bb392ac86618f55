"""Citations on the chat page in headless Chromium: a `kb:` answer's [n] marks are footnotes
that open the quoted passage with its file and page (a real knowledge base holding a real
PDF, keyword search, a scripted writer), the file opens at that page, and a hostile
document's text is shown as text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lingxi.models.scripted import ScriptedChat
from test_serve_page_kit import ask, browser, page_server, shot, shots_dir, watched  # noqa: F401

ANSWER = "lingxi serve starts an OpenAI-compatible server on port 8700 [1]."
EVIL_ANSWER = "The evil passage mentions port 9999 [1]."
EVIL_DOC = ("# Evil\n\nThe evil passage mentions port 9999 <img src=x onerror=\"window.pwned=1\"> "
            "and [x](javascript:window.pwned=2) <script>window.pwned=3</script>.\n")


def make_pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    for text in ["Chapter one explains how to install lingxi with pip and a virtual environment.",
                 "The command lingxi serve starts an OpenAI-compatible server on port 8700."]:
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.multi_cell(0, 10, text=text)
    pdf.output(str(path))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from lingxi.config import load_settings
    from lingxi.knowledge import KnowledgeBase

    home = tmp_path_factory.mktemp("page-kb")
    docs = home / "docs"
    docs.mkdir()
    make_pdf(docs / "guide.pdf")
    (docs / "evil.md").write_text(EVIL_DOC, encoding="utf-8")
    kb = KnowledgeBase.create("manual", settings=load_settings(home=str(home)))
    kb.ingest(docs, embed="later")  # keyword search is enough here
    from lingxi.rag import ask as rag_ask

    with pytest.MonkeyPatch.context() as mp:  # a session from the CLI, in this home: `lingxi ask --session from-cli`
        mp.setenv("LINGXI_HOME", str(home))
        rag_ask("Which port does lingxi serve use?", kb=kb, model=ScriptedChat(default=ANSWER, name="writer"),
                session="from-cli")
    models = {"writer": ScriptedChat(default=ANSWER, name="writer"), "evil": ScriptedChat(default=EVIL_ANSWER, name="evil")}
    with page_server(home, models, {"default_model": "writer"}, no_auth=True) as srv:
        yield srv


def test_footnotes_open_the_passage_with_its_file_and_page(browser, server, shot):
    with watched(browser, server.url) as w:
        page = w.open()
        assert page.eval_on_selector_all("#kb option", "os => os.map(o => o.value)") == ["", "manual"]
        assert page.is_visible("#kb") and page.input_value("#kb") == ""  # shown, and off until picked
        page.select_option("#kb", "manual")
        answer = ask(page, "Which port does lingxi serve use?")
        content = answer.locator(".content")
        assert content.inner_text().startswith("lingxi serve starts an OpenAI-compatible server on port 8700")
        assert "[1]:" not in content.inner_text()  # the markdown footnote lines became the list below
        assert content.locator("a.cite-ref[data-n='1']").count() == 1
        source = answer.locator(".sources .source")
        assert source.count() == 1 and "guide.pdf" in source.inner_text()
        content.locator("a.cite-ref").click()
        panel = page.locator("#passage")
        panel.locator(".passage-text mark").wait_for()
        assert panel.locator(".passage-title").inner_text() == "[1] guide.pdf"
        assert panel.locator(".passage-page").inner_text() == "page 2"
        assert panel.locator(".passage-file").inner_text() == "guide.pdf"  # as the citation names it
        assert "port 8700" in panel.locator(".passage-text mark").inner_text()
        shot(page, "12-citation-passage")
        with page.expect_popup() as popup:
            panel.locator(".open-file").click()
        url = popup.value.url
        assert url.startswith("blob:" + server.url) and url.endswith("#page=2")  # the PDF, at its page
        popup.value.close()
        page.keyboard.press("Escape")
        assert not panel.is_visible()
        source.click()  # the list under the answer opens it too
        panel.locator(".passage-text mark").wait_for()


def test_a_hostile_document_is_shown_as_text(browser, server, shot):
    with watched(browser, server.url) as w:
        page = w.open()
        page.select_option("#kb", "manual")
        page.select_option("#model", "evil")
        answer = ask(page, "What does the evil passage mention?")
        answer.locator("a.cite-ref").click()
        text = page.locator("#passage .passage-text")
        text.locator("mark").wait_for()
        assert '<img src=x onerror="window.pwned=1">' in text.inner_text()
        assert page.locator("#passage img, #passage script, #passage a[href^='javascript']").count() == 0
        assert answer.locator(".sources img, .sources script").count() == 0
        assert page.evaluate("window.pwned") is None
        shot(page, "13-hostile-document-as-text")


def test_on_a_phone_the_passage_is_a_sheet_over_the_chat(browser, server, shot):
    phone = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}
    with watched(browser, server.url, **phone) as w:
        page = w.open()
        page.select_option("#kb", "manual")
        page.fill("#q", "Which port does lingxi serve use?")
        page.tap("#send")
        page.locator(".msg.assistant .cite-ref").wait_for(timeout=30_000)
        page.tap(".msg.assistant .cite-ref")
        page.locator("#passage .passage-text mark").wait_for()
        box = page.locator("#passage").bounding_box()
        assert box["width"] == 390 and abs(box["y"] + box["height"] - 844) < 2  # along the bottom edge
        shot(page, "14-phone-citation")


def test_a_cli_session_opens_with_its_citations(browser, server):
    with watched(browser, server.url) as w:
        page = w.open()
        page.click(".conv-open:text-is('from-cli')")
        answer = page.locator(".msg.assistant")
        answer.locator(".sources .source").wait_for()
        assert page.input_value("#kb") == "manual"  # the session's knowledge base is picked again
        answer.locator("a.cite-ref").click()
        page.locator("#passage .passage-page:text('page 2')").wait_for()
