"""/v1/embeddings in OpenAI's format (float and base64) and embedding models in /v1/models."""

from __future__ import annotations

import base64
import sqlite3

import httpx
import numpy as np
import openai
import pytest

from serve_fakes import HashEmbedder

TEXTS = ["北京是中国的首都。", "Coffee is brewed from roasted beans."]


def post(live, api_key, **body):
    return httpx.post(live.url + "/v1/embeddings", json=body, headers={"Authorization": f"Bearer {api_key}"}, timeout=60)


def test_float_and_base64_carry_the_models_vectors(live, api_key):
    expected = HashEmbedder().embed(TEXTS, "passage")
    r = post(live, api_key, model="hash", input=TEXTS)
    body = r.json()
    assert r.status_code == 200 and body["object"] == "list" and body["model"] == "hash"
    assert [d["index"] for d in body["data"]] == [0, 1] and body["data"][0]["object"] == "embedding"
    assert np.array_equal(np.array([d["embedding"] for d in body["data"]], dtype=np.float32), expected)
    assert body["usage"] == {"prompt_tokens": 1 + 6, "total_tokens": 7}
    packed = post(live, api_key, model="hash", input=TEXTS, encoding_format="base64").json()["data"]
    assert np.array_equal(np.stack([np.frombuffer(base64.b64decode(d["embedding"]), "<f4") for d in packed]), expected)


def test_official_client_and_query_kind(live, client, serve_home):
    resp = client.embeddings.create(model="hash", input="where is the capital?")  # the client asks for base64
    expected = HashEmbedder().embed(["where is the capital?"], "passage")[0]
    assert np.allclose(resp.data[0].embedding, expected) and resp.usage.prompt_tokens == 4
    query = client.embeddings.create(model="hash", input=["q"], encoding_format="float",
                                     extra_body={"input_type": "query"})
    assert np.allclose(query.data[0].embedding, HashEmbedder().embed(["q"], "query")[0])
    live.app_state.traces.flush()
    row = sqlite3.connect(serve_home / "lingxi.db").execute(
        "SELECT provider, route, prompt_tokens, status FROM traces WHERE model = 'hash' ORDER BY id DESC").fetchone()
    assert row == ("hash", "/v1/embeddings", 1, "ok")


def test_models_list_embedding_models(client):
    cards = {m.id: m.owned_by for m in client.models.list()}
    assert cards["e5"] == cards["minilm"] == cards["hash"] == "lingxi/embedding"
    assert cards["fake"] == "lingxi/scripted"
    assert client.models.retrieve("e5").owned_by == "lingxi/embedding"


@pytest.mark.parametrize(("body", "status", "param", "needle"), [
    ({"model": "nope", "input": "x"}, 404, "model", "Embedding models: "),
    ({"model": "fake", "input": "x"}, 404, "model", "does not exist"),
    ({"model": "hash", "input": [[1, 2, 3]]}, 400, "input", "token ids"),
    ({"model": "hash", "input": []}, 400, "input", "non-empty"),
    ({"model": "hash", "input": ["ok", " "]}, 400, "input", "input[1] is empty"),
    ({"model": "hash", "input": "x", "dimensions": 4}, 400, "dimensions", "8-dimensional"),
    ({"model": "hash", "input": "x", "encoding_format": "int8"}, 400, "encoding_format", "'float' or 'base64'"),
    ({"model": "hash", "input": "x", "input_type": "code"}, 400, "input_type", "'query' or 'passage'"),
    ({"input": "x"}, 400, "model", "Field required"),
])
def test_bad_requests(live, api_key, body, status, param, needle):
    r = httpx.post(live.url + "/v1/embeddings", json=body, headers={"Authorization": f"Bearer {api_key}"})
    err = r.json()["error"]
    assert r.status_code == status and err["param"] == param and needle in err["message"], err


def test_needs_a_key(live):
    assert httpx.post(live.url + "/v1/embeddings", json={"model": "hash", "input": "x"}).status_code == 401


@pytest.mark.slow
def test_real_e5_ranks_the_right_passage(client):
    passages = client.embeddings.create(model="multilingual-e5-small", input=TEXTS + ["上海是港口城市。"])
    assert len(passages.data) == 3 and len(passages.data[0].embedding) == 384 and passages.usage.prompt_tokens > 10
    question = client.embeddings.create(model="e5", input="中国的首都是哪里？", encoding_format="float",
                                        extra_body={"input_type": "query"})
    p = np.array([d.embedding for d in passages.data])
    q = np.array(question.data[0].embedding)
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-3) and int(np.argmax(p @ q)) == 0
