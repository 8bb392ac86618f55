"""The chat page at / (self-contained, offline) and its feedback route."""

from __future__ import annotations

import json
import re
import sqlite3

import httpx


def test_page_is_served_without_external_assets(live):
    r = httpx.get(live.url + "/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "/v1/chat/completions" in r.text and "stream: true" in r.text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", r.text)  # no CDN: everything is inline
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_feedback_is_saved(live, api_key, serve_home):
    body = {"model": "fake", "messages": [{"role": "user", "content": "你好"}], "answer": "Hello", "rating": -1}
    r = httpx.post(live.url + "/api/feedback", json=body, headers={"Authorization": f"Bearer {api_key}"})
    assert r.status_code == 200 and r.json()["saved"]
    row = sqlite3.connect(serve_home / "lingxi.db").execute(
        "SELECT model, messages, answer, rating, key_id FROM feedback WHERE id = ?", (r.json()["id"],)).fetchone()
    assert row[0] == "fake" and json.loads(row[1])[0]["content"] == "你好" and row[2:4] == ("Hello", -1)
    assert row[4] is not None
    bad = httpx.post(live.url + "/api/feedback", json={**body, "rating": 5}, headers={"Authorization": f"Bearer {api_key}"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "rating"
    assert httpx.post(live.url + "/api/feedback", json=body).status_code == 401
