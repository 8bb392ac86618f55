"""Knowledge-base answers through the chat API (`kb:NAME[@MODEL]`), driven by the official openai client,
on a real tiny KB (keyword search; no vectors needed) with a scripted model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from lingxi.models.scripted import ScriptedChat

ANSWER = "lingxi serve starts an OpenAI-compatible server on port 8700 [1]."
QUESTION = "Which port does lingxi serve use?"
DOCS = {
    "serve.md": "# Serving\n\nThe command lingxi serve starts an OpenAI-compatible server on port 8700.\n",
    "offline.md": "# Offline use\n\nlingxi runs on a laptop with no API key and no network.\n",
}


@pytest.fixture
def kb_live(tmp_path: Path, start_server: Any) -> Any:
    from lingxi.config import load_settings
    from lingxi.knowledge import KnowledgeBase

    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    kb = KnowledgeBase.create("tiny", settings=load_settings(home=str(tmp_path)))
    kb.ingest(docs, embed="later")  # keyword search is enough for these questions
    return start_server(models={"writer": ScriptedChat(default=ANSWER, name="writer")}, no_auth=True,
                        allow_any_model=True)


def client(server: Any) -> Any:
    import openai

    return openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=60)


def test_kb_answer_has_citations_and_footnotes(kb_live):
    c = client(kb_live)
    ids = [m.id for m in c.models.list().data]
    assert "kb:tiny" in ids
    r = c.chat.completions.create(model="kb:tiny@writer", messages=[
        {"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi, ask me about lingxi."},
        {"role": "user", "content": QUESTION}])
    text = r.choices[0].message.content
    assert text.startswith(ANSWER)
    assert "[1]: " in text and "serve.md › Serving — “The command lingxi serve starts" in text
    extra = r.model_extra
    assert extra["abstained"] is False
    [cite] = extra["citations"]
    assert cite["n"] == 1 and cite["source"].endswith("serve.md") and "8700" in cite["quote"]
    assert set(cite) == {"n", "chunk_id", "source", "quote", "score"}
    assert r.usage.completion_tokens > 0


def test_kb_answer_streams_with_citations_on_the_last_chunk(kb_live):
    c = client(kb_live)
    stream = c.chat.completions.create(model=f"kb:tiny@scripted:{ANSWER}", stream=True,
                                       stream_options={"include_usage": True},
                                       messages=[{"role": "user", "content": QUESTION}])
    chunks = list(stream)
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text.startswith(ANSWER) and "serve.md › Serving — “" in text
    assert sum(1 for ch in chunks if ch.choices and ch.choices[0].delta.content) > 3  # in pieces
    finish = [ch for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert len(finish) == 1 and finish[0].choices[0].finish_reason == "stop"
    assert finish[0].model_extra["citations"][0]["n"] == 1 and finish[0].model_extra["abstained"] is False
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_kb_abstains_on_an_unrelated_question(kb_live):
    r = client(kb_live).chat.completions.create(
        model="kb:tiny@writer", messages=[{"role": "user", "content": "Who was the first emperor of Rome?"}])
    assert r.model_extra["abstained"] is True and r.model_extra["citations"] == []
    assert "[1]:" not in r.choices[0].message.content


def test_unknown_kb_is_404_with_a_hint(kb_live):
    import openai

    with pytest.raises(openai.NotFoundError) as err:
        client(kb_live).chat.completions.create(model="kb:nope@writer", messages=[{"role": "user", "content": "hi"}])
    e = err.value.body
    assert e["code"] == "model_not_found" and e["param"] == "model"
    assert "kb:tiny" in e["message"] and "lingxi kb create nope" in e["message"]
    r = httpx.post(kb_live.url + "/v1/chat/completions", json={"model": "kb:", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


def test_page_asks_a_kb_and_shows_citations_in_chromium(kb_live):
    import os

    from test_serve_page_kit import ARGS, CHROMIUM  # the page's own tests: test_serve_page_browser*.py

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent: the web page test needs Debian's chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright's Python package")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(kb_live.url + "/")
            page.wait_for_selector("#kb option:text-is('tiny')", state="attached")
            page.wait_for_selector("#model option:text-is('writer')", state="attached")
            assert not page.query_selector("#model option[value^='kb:']")  # KBs have their own selector
            page.select_option("#model", "writer")
            page.select_option("#kb", "tiny")
            page.fill("#q", QUESTION)
            page.press("#q", "Enter")
            page.wait_for_selector(".sources .source", timeout=30_000)
            page.wait_for_selector(".msg.assistant .actions .rate")
            text = page.inner_text(".msg.assistant .content")
            assert text.startswith(ANSWER.removesuffix(" [1].")) and "[1]:" not in text  # footnotes moved under the answer
            assert page.inner_text(".sources .source-n") == "1" and "serve.md" in page.inner_text(".sources .source-file")
            assert "port 8700" in page.inner_text(".sources .source-quote")
            assert not errors, errors
        finally:
            browser.close()


def test_kb_follow_up_with_an_earlier_footnoted_answer(kb_live):
    c = client(kb_live)
    first = c.chat.completions.create(model="kb:tiny@writer", messages=[{"role": "user", "content": QUESTION}])
    r = c.chat.completions.create(model="kb:tiny@writer", temperature=0.2, max_tokens=64, messages=[
        {"role": "user", "content": QUESTION}, {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "And which port again?"}])
    assert r.choices[0].finish_reason == "stop" and isinstance(r.model_extra["citations"], list)
    bad = httpx.post(kb_live.url + "/v1/chat/completions",
                     json={"model": "kb:tiny@writer", "max_tokens": -1, "messages": [{"role": "user", "content": "x"}]})
    assert bad.status_code == 400
