"""The OpenAI-compatible embedder keeps an embedding fleet busy: batched requests, up to
`concurrency` at once, rows in input order, retries with backoff. Against lingxi's own
/v1/embeddings on loopback."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import numpy as np
import pytest
from openai import OpenAI

from lingxi.knowledge.remote import OpenAIEmbedder
from lingxi.serve import create_app, serve_settings
from lingxi.testing.live import LiveServer
from serve_fakes import HashEmbedder
from conftest import make_settings


class SlowHash(HashEmbedder):
    def embed(self, texts: Any, kind: str = "passage") -> np.ndarray:
        time.sleep(0.03)
        return super().embed(texts, kind)


class Counting(httpx.BaseTransport):
    """Counts requests in flight (and can fail the first few with 503, as a busy fleet does)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.inner, self.fail_first = httpx.HTTPTransport(), fail_first
        self.now = self.peak = self.sent = 0
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.sent += 1
            if self.sent <= self.fail_first:
                return httpx.Response(503, json={"error": {"message": "busy"}}, request=request)
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            return self.inner.handle_request(request)
        finally:
            with self.lock:
                self.now -= 1


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    app = create_app(make_settings(tmp_path_factory.mktemp("embed-home")), serve_settings(no_auth=True, queue_size=64),
                     models={}, embedders={"hash": SlowHash()})
    with LiveServer(app) as server:
        yield server.url + "/v1"


def embedder(url: str, transport: Counting, **kw: Any) -> OpenAIEmbedder:
    e = OpenAIEmbedder("hash", base_url=url, batch_size=4, **kw)
    e._client = OpenAI(base_url=url, api_key="none", max_retries=e.max_retries, http_client=httpx.Client(transport=transport))
    return e


def test_concurrent_batches_come_back_in_order(fleet):
    texts = [f"passage number {i}" for i in range(40)]  # 10 batches of 4
    one, many = Counting(), Counting()
    sequential = embedder(fleet, one, concurrency=1).embed(texts)
    parallel = embedder(fleet, many, concurrency=4).embed(texts)
    assert one.peak == 1 and one.sent == 10
    assert 2 <= many.peak <= 4 and many.sent == 10  # bounded by the setting
    assert np.allclose(sequential, parallel) and np.allclose(parallel, HashEmbedder().embed(texts))


def test_a_busy_endpoint_is_retried_with_backoff(fleet):
    flaky = Counting(fail_first=1)
    got = embedder(fleet, flaky, concurrency=2, max_retries=2).embed(["a", "b"])
    assert flaky.sent == 2 and got.shape == (2, 8)  # one 503, one retry that worked
    down = Counting(fail_first=100)
    from lingxi.errors import EndpointError

    with pytest.raises(EndpointError, match="failed"):
        embedder(fleet, down, concurrency=2, max_retries=1).embed(["a"])
    assert down.sent == 2


def test_the_concurrency_setting_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("LINGXI_EMBED_CONCURRENCY", "8")
    assert OpenAIEmbedder.from_spec("openai:e5@http://127.0.0.1:9/v1").concurrency == 8
