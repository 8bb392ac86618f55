"""The saved-conversation routes behind the chat page (/api/sessions), over HTTP against the
real server and its home database: create, list, read, rename, append, delete; each key
sees only its own; bad input is a 400 that names the field; without keys the CLI's sessions
are listed too."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from db_engines import home_db
from lingxi.memory.sessions import Session
from lingxi.serve.keys import create_key


http = httpx.Client(timeout=60)  # generous: the machine may be busy


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def other_key(serve_home, live) -> str:
    conn = home_db(serve_home)
    try:
        return create_key(conn, "someone else")[1]
    finally:
        conn.close()


def test_a_conversation_from_start_to_end(live, api_key, serve_home):
    h = auth(api_key)
    made = http.post(live.url + "/api/sessions", json={"model": "fake"}, headers=h).json()
    assert made["name"].startswith("web-") and made["title"] == made["name"] and made["messages"] == 0
    sid = made["id"]
    msgs = [{"role": "user", "content": "  灵犀能离线运行吗？\nsecond line"},
            {"role": "assistant", "content": "能 [1]。", "meta": {"model": "fake", "kb": "docs",
                                                                "citations": [{"n": 1, "source": "a.md"}]}}]
    added = http.post(f"{live.url}/api/sessions/{sid}/messages", json={"messages": msgs}, headers=h).json()
    assert len(added["ids"]) == 2 and added["session"]["title"] == "灵犀能离线运行吗？"  # named by the first line
    got = http.get(f"{live.url}/api/sessions/{sid}", headers=h).json()
    assert [m["role"] for m in got["messages"]] == ["user", "assistant"]
    assert got["messages"][1]["meta"]["citations"][0]["source"] == "a.md"
    renamed = http.patch(f"{live.url}/api/sessions/{sid}", json={"title": "  Offline\tuse  "}, headers=h).json()
    assert renamed["title"] == "Offline use"
    more = http.post(f"{live.url}/api/sessions/{sid}/messages", json={"messages": [
        {"role": "user", "content": "another question"}]}, headers=h).json()
    assert more["session"]["title"] == "Offline use"  # a later message does not rename it
    listed = http.get(live.url + "/api/sessions", headers=h).json()["data"]
    assert listed[0]["id"] == sid and listed[0]["messages"] == 3  # most recent first
    assert http.delete(f"{live.url}/api/sessions/{sid}", headers=h).json()["deleted"] is True
    assert http.get(f"{live.url}/api/sessions/{sid}", headers=h).status_code == 404
    conn = home_db(serve_home)
    try:
        assert conn.execute("SELECT count(*) FROM session_messages WHERE session_id = ?", (sid,)).fetchone()[0] == 0
    finally:
        conn.close()


def test_each_key_sees_only_its_own(live, api_key, other_key):
    mine = http.post(live.url + "/api/sessions", json={"title": "private"}, headers=auth(api_key)).json()["id"]
    other = auth(other_key)
    assert mine not in [s["id"] for s in http.get(live.url + "/api/sessions", headers=other).json()["data"]]
    for method, path, body in [("GET", "", None), ("PATCH", "", {"title": "stolen"}), ("DELETE", "", None),
                               ("POST", "/messages", {"messages": [{"role": "user", "content": "hi"}]})]:
        r = http.request(method, f"{live.url}/api/sessions/{mine}{path}", json=body, headers=other)
        assert r.status_code == 404 and r.json()["error"]["code"] == "session_not_found", (method, path)
    assert http.get(f"{live.url}/api/sessions/{mine}", headers=auth(api_key)).json()["title"] == "private"
    assert http.get(live.url + "/api/sessions").status_code == 401
    assert http.get(live.url + "/api/sessions", headers=auth("lx-not-a-key")).status_code == 401


@pytest.mark.parametrize(("method", "path", "body", "param"), [
    ("POST", "", {"title": "   "}, "title"),
    ("POST", "", {"colour": "red"}, "colour"),
    ("PATCH", "", {"title": None}, "title"),
    ("PATCH", "", {"title": "x" * 201}, "title"),
    ("POST", "/messages", {"messages": []}, "messages"),
    ("POST", "/messages", {"messages": [{"role": "system", "content": "obey"}]}, "messages.0.role"),
    ("POST", "/messages", {"messages": [{"role": "user"}]}, "messages.0.content"),
])
def test_bad_input_is_a_400_naming_the_field(live, api_key, method, path, body, param):
    h = auth(api_key)
    sid = http.post(live.url + "/api/sessions", json={}, headers=h).json()["id"]
    r = http.request(method, f"{live.url}/api/sessions{'/' + str(sid) if method != 'POST' or path else ''}{path}",
                      json=body, headers=h)
    assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text
    assert http.get(f"{live.url}/api/sessions/{sid}", headers=h).json()["messages"] == []  # nothing half-saved


def test_not_json_and_unknown_ids(live, api_key):
    h = auth(api_key)
    r = http.post(live.url + "/api/sessions", content=b"{not json", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    assert http.get(live.url + "/api/sessions/abc", headers=h).status_code == 400
    assert http.get(live.url + "/api/sessions/99999999", headers=h).status_code == 404
    huge = "9" * 30  # past SQLite's 64-bit integers (found by the schemathesis fuzz: it was a 500)
    for method in ("GET", "PATCH", "DELETE"):
        r = http.request(method, f"{live.url}/api/sessions/{huge}", json={"title": "x"}, headers=h)
        assert r.status_code == 400 and r.json()["error"]["param"] == "path.sid", (method, r.text)
    r = http.post(f"{live.url}/api/sessions/{huge}/messages", json={"messages": [{"role": "user", "content": "x"}]},
                  headers=h)
    assert r.status_code == 400
    r = http.post(live.url + "/api/feedback", headers=h, json={"model": "fake", "messages": [], "answer": "a",
                                                               "rating": 1, "message_id": int(huge)})
    assert r.status_code == 400 and r.json()["error"]["param"] == "message_id"


def test_without_keys_the_cli_sessions_are_listed(start_server, tmp_path: Any):
    server = start_server(no_auth=True)
    Session.open("from-the-cli", kb="docs", conn=home_db(tmp_path))
    listed = http.get(server.url + "/api/sessions").json()["data"]
    assert [s["title"] for s in listed] == ["from-the-cli"] and listed[0]["kb"] == "docs"  # the name as its title
    sid = listed[0]["id"]
    renamed = http.patch(f"{server.url}/api/sessions/{sid}", json={"title": "Renamed in the page"}).json()
    assert renamed["name"] == "from-the-cli"  # the CLI still opens it by its name
    assert Session.open("from-the-cli", conn=home_db(tmp_path)).id == sid


def test_a_conversation_can_start_with_its_first_message(live, api_key):
    h = auth(api_key)
    made = http.post(live.url + "/api/sessions", json={"model": "fake", "messages": [
        {"role": "user", "content": "Plan a trip to Hangzhou 杭州 in spring, with tea fields"}]}, headers=h).json()
    assert len(made["ids"]) == 1 and made["messages"] == 1
    assert made["title"] == "Plan a trip to Hangzhou 杭州 in spring, with tea fields"  # named at once
    before = len(http.get(live.url + "/api/sessions", headers=h).json()["data"])
    bad = http.post(live.url + "/api/sessions", json={"messages": [{"role": "tool", "content": "x"}]}, headers=h)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "messages.0.role"
    assert len(http.get(live.url + "/api/sessions", headers=h).json()["data"]) == before  # nothing half-made
    long = http.post(live.url + "/api/sessions", json={"messages": [{"role": "user", "content": "长" * 100}]},
                      headers=h).json()
    assert long["title"] == "长" * 59 + "…"
