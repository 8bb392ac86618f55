"""`POST /v1/verify` on a live server: pairs in order, a draft against a KB, errors as 400s,
and the body declared in /openapi.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

CLUSTER = "Options that take arguments (whether mandatory or optional), can appear at the end of such a cluster, e.g. -vkpf a.tar."
DOCS = {"serve.md": "# Serving\n\nThe command lingxi serve starts an OpenAI-compatible server on port 8700.\n"}


@pytest.fixture
def verify_live(tmp_path: Path, start_server: Any) -> Any:
    from lingxi.config import load_settings
    from lingxi.knowledge import KnowledgeBase

    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    KnowledgeBase.create("tiny", settings=load_settings(home=str(tmp_path))).ingest(docs, embed="later")
    return start_server(no_auth=True)


def test_verify_pairs_text_and_errors(verify_live):
    import openai

    client = openai.OpenAI(base_url=verify_live.url + "/v1", api_key="none", max_retries=0, timeout=120)
    pairs = [{"sentence": "The tar option --exclude-vcs does not take arguments.", "passage": CLUSTER},
             {"sentence": "1 [3].", "passage": CLUSTER},
             {"sentence": "Options that take arguments can appear at the end of a cluster.", "passage": CLUSTER}]
    r = client.post("/verify", body={"pairs": pairs}, cast_to=httpx.Response)
    data = r.json()
    assert r.status_code == 200 and data["object"] == "verify"
    got = [(x["sentence"], x["supported"], x["verdict"], x["check"]) for x in data["results"]]
    assert [g[0] for g in got] == [p["sentence"] for p in pairs]  # in order
    assert got[0][1:] == (False, "contradicted", "negation") and got[1][1:3] == (False, "not stated")
    assert got[1][3] == "empty" and got[2][1] is True and isinstance(data["results"][2]["score"], float)
    r = httpx.post(verify_live.url + "/v1/verify", json={"text": "lingxi serve listens on port 8700. It never stops.", "kb": "tiny"})
    res = r.json()["results"]
    assert r.status_code == 200 and res[0]["supported"] and res[0]["source"] == "serve.md" and not res[1]["supported"]
    for body in ({}, {"pairs": []}, {"text": "x"}, {"pairs": [{"sentence": "a"}]}, {"pairs": pairs, "bogus": 1}):
        bad = httpx.post(verify_live.url + "/v1/verify", json=body)
        assert bad.status_code == 400 and bad.json()["error"]["message"], body
    missing = httpx.post(verify_live.url + "/v1/verify", json={"text": "hi there friend.", "kb": "nope"})
    assert missing.status_code == 404
    spec = httpx.get(verify_live.url + "/openapi.json").json()
    ref = spec["paths"]["/v1/verify"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/VerifyRequest") and "pairs" in spec["components"]["schemas"]["VerifyRequest"]["properties"]
