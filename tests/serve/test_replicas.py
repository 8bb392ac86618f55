"""Two real `lingxi serve` processes on one PostgreSQL database agree: keys, revocation, rate
limits, conversations, traces, feedback and /metrics (labelled per replica).

Needs LINGXI_TEST_PG_DSN (CI starts a server with scripts/pg.sh); skipped without it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import openai
import pytest

from db_engines import dsn, schema_url
from lingxi import db
from lingxi.serve.keys import create_key, revoke_key
from lingxi.testing.live import free_port

pytestmark = pytest.mark.skipif(
    not dsn(), reason='LINGXI_TEST_PG_DSN is not set: run  export LINGXI_TEST_PG_DSN="$(scripts/pg.sh start)"')
MSG = [{"role": "user", "content": "hi"}]
TOML = '[models.fake]\nprovider = "scripted"\nreplies = ["Noted."]\n'


def _wait(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"replica exited early: {proc.stderr.read()[-2000:] if proc.stderr else ''}")
        try:
            if httpx.get(url + "/v1/models", timeout=1.0).status_code == 401:  # up, and asking for a key
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"replica at {url} did not come up within {timeout}s")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    url = schema_url(f"t_replicas_{os.getpid()}")
    procs, urls = [], []
    for name in ("a", "b"):
        home = tmp_path_factory.mktemp(f"replica-{name}")  # each replica has a home of its own, as on two machines
        (home / "lingxi.toml").write_text(TOML, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("LINGXI_")}
        env.update(LINGXI_HOME=str(home), LINGXI_DB_URL=url, LINGXI_REPLICA=name, OMP_NUM_THREADS="1")
        port = free_port()
        cmd = [sys.executable, "-c", "from lingxi.cli import main; raise SystemExit(main())", "serve",
               "--port", str(port), "--log-level", "warning", "--rate-limit", "0"]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for u, p in zip(urls, procs, strict=True):
            _wait(u, p)
        yield {"url": url, "a": urls[0], "b": urls[1]}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=15)


def client(base: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0, timeout=30)


def new_key(cluster: dict, name: str, rate_limit: int | None = None) -> tuple[int, str]:
    with closing(db.connect(path=cluster["url"])) as conn:  # what `lingxi keys create` does on any machine
        info, key = create_key(conn, name, rate_limit)
    return info.id, key


def test_a_key_made_for_one_replica_works_on_the_other_and_revocation_is_seen_at_once(cluster):
    kid, key = new_key(cluster, "shared")
    for base in (cluster["a"], cluster["b"]):
        assert client(base, key).chat.completions.create(model="fake", messages=MSG).choices[0].message.content == "Noted."
    with closing(db.connect(path=cluster["url"])) as conn:
        revoke_key(conn, str(kid))
    for base in (cluster["b"], cluster["a"]):  # the very next request, on either replica
        with pytest.raises(openai.AuthenticationError):
            client(base, key).chat.completions.create(model="fake", messages=MSG)


def test_the_rate_limit_is_one_limit_across_replicas(cluster):
    _, key = new_key(cluster, "limited", rate_limit=3)
    outcomes = []
    for i in range(5):
        base = cluster["a"] if i % 2 == 0 else cluster["b"]
        r = httpx.post(base + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                       json={"model": "fake", "messages": MSG}, timeout=30)
        outcomes.append(r.status_code)
    assert outcomes == [200, 200, 200, 429, 429], outcomes  # 3 per minute in all, not 3 per replica


def test_a_conversation_alternating_between_replicas_keeps_its_memory(cluster):
    _, key = new_key(cluster, "talker")
    h = {"Authorization": f"Bearer {key}"}
    sid = httpx.post(cluster["a"] + "/api/sessions", headers=h, json={"title": "alternating"}, timeout=30).json()["id"]
    for turn in range(4):
        base = cluster["a"] if turn % 2 == 0 else cluster["b"]
        history = httpx.get(f"{base}/api/sessions/{sid}", headers=h, timeout=30).json()["messages"]
        assert [m["content"] for m in history] == [c for t in range(turn) for c in (f"question {t}", "Noted.")]
        msgs = [{"role": m["role"], "content": m["content"]} for m in history] + [
            {"role": "user", "content": f"question {turn}"}]
        answer = client(base, key).chat.completions.create(model="fake", messages=msgs).choices[0].message.content
        saved = httpx.post(f"{base}/api/sessions/{sid}/messages", headers=h, timeout=30, json={"messages": [
            {"role": "user", "content": f"question {turn}"}, {"role": "assistant", "content": answer}]})
        assert saved.status_code == 200, saved.text
    listed = httpx.get(cluster["b"] + "/api/sessions", headers=h, timeout=30).json()["data"]
    assert [(s["id"], s["messages"]) for s in listed] == [(sid, 8)]


def test_traces_feedback_and_metrics_are_shared_and_labelled(cluster):
    _, key = new_key(cluster, "observer")
    for base in (cluster["a"], cluster["b"]):
        client(base, key).chat.completions.create(model="fake", messages=MSG)
    r = httpx.post(cluster["b"] + "/api/feedback", headers={"Authorization": f"Bearer {key}"}, timeout=30,
                   json={"model": "fake", "messages": MSG, "answer": "Noted.", "rating": 1})
    assert r.status_code == 200 and r.json()["saved"] is True
    deadline = time.monotonic() + 10
    with closing(db.connect(path=cluster["url"])) as conn:
        while time.monotonic() < deadline:  # the trace writers batch rows off the request path
            replicas = {r[0] for r in conn.execute("SELECT DISTINCT replica FROM traces WHERE route IS NOT NULL")}
            if {"a", "b"} <= replicas:
                break
            time.sleep(0.1)
        assert {"a", "b"} <= replicas
        assert conn.execute("SELECT count(*) FROM feedback WHERE id = ?", (r.json()["id"],)).fetchone()[0] == 1
    for name in ("a", "b"):
        text = httpx.get(cluster[name] + "/metrics", headers={"Authorization": f"Bearer {key}"}, timeout=30).text
        assert f'lingxi_http_requests_total{{replica="{name}",route="/v1/chat/completions",status="200"}}' in text
