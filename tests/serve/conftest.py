"""A real uvicorn server on loopback (in a background thread) for the serve tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from db_engines import db_url_for, home_db
from lingxi.config import Settings
from lingxi.models.scripted import ScriptedChat
from lingxi.serve import create_app, serve_settings
from lingxi.serve.keys import create_key
from lingxi.testing.live import LiveServer, free_port  # noqa: F401 - free_port is used by test modules
from serve_fakes import EchoChat, HashEmbedder


def make_settings(home: Path, **values: Any) -> Settings:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LINGXI_HOME", str(home))
        if url := db_url_for(home):  # LINGXI_TEST_DB=postgresql: the home's own schema
            values.setdefault("db_url", url)
        return Settings(home=home, **values)


@pytest.fixture(scope="session")
def serve_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve-home")


@pytest.fixture(scope="session")
def tool_model() -> ScriptedChat:
    return ScriptedChat(default="It is sunny in Paris.", name="tools")


@pytest.fixture(scope="session")
def live(serve_home: Path, tool_model: ScriptedChat) -> Iterator[LiveServer]:
    """The main server: keys required, the real tiny model plus fakes."""
    settings = make_settings(serve_home)
    models = {"fake": ScriptedChat(default="Hello there, my good friend.", name="fake"), "tools": tool_model,
              "echo": EchoChat(), "echo-remote": EchoChat(provider="openai")}
    app = create_app(settings, serve_settings(rate_limit=0, max_body_bytes=64 * 1024), models=models,
                     embedders={"hash": HashEmbedder()})
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def api_key(serve_home: Path, live: LiveServer) -> str:
    conn = home_db(serve_home)
    try:
        return create_key(conn, "tests")[1]
    finally:
        conn.close()


@pytest.fixture(scope="session")
def client(live: LiveServer, api_key: str) -> Any:
    import openai

    return openai.OpenAI(base_url=live.url + "/v1", api_key=api_key, max_retries=0, timeout=180)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start an extra, short-lived server with its own settings."""
    started: list[LiveServer] = []

    def start(models: dict[str, Any] | None = None, settings: dict[str, Any] | None = None, **serve: Any) -> LiveServer:
        app = create_app(make_settings(tmp_path, **(settings or {})), serve_settings(**serve), models=models)
        server = LiveServer(app)
        started.append(server.__enter__())
        return server

    yield start
    for server in started:
        server.__exit__()
