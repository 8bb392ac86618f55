"""The chat page's server side over HTTP: the page and its static files (offline, exact
content types, cache headers, nothing outside the folder), /favicon.ico, the defaults,
feedback, and the wheel carrying the files."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from lingxi.serve import static

http = httpx.Client(timeout=60)  # generous: the machine may be busy


ROOT = Path(__file__).resolve().parents[2]


def test_page_is_served_without_external_assets(live):
    r = http.get(live.url + "/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-cache"
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", r.text)  # no CDN: everything from this server
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp  # no inline script may run at all
    assert "<script>" not in r.text and not re.search(r"<script(?![^>]*\ssrc=)", r.text)
    refs = re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text)
    assert len(refs) >= 8 and all("?v=" in ref for ref in refs)  # pinned to each file's hash
    for ref in refs:
        assert http.get(live.url + ref).status_code == 200, ref


@pytest.mark.parametrize(("path", "kind"), [
    ("js/main.js", "text/javascript; charset=utf-8"), ("app.css", "text/css; charset=utf-8"),
    ("vendor/katex-0.16.47/fonts/KaTeX_Main-Regular.woff2", "font/woff2"), ("favicon.svg", "image/svg+xml"),
    ("vendor/dompurify-3.5.0/LICENSE", "text/plain; charset=utf-8"),
])
def test_static_files_have_exact_types_and_cache_headers(live, path, kind):
    r = http.get(f"{live.url}/static/{path}")
    assert r.status_code == 200 and r.headers["content-type"] == kind
    assert r.headers["x-content-type-options"] == "nosniff"
    versioned = path.startswith("vendor/")
    assert r.headers["cache-control"] == (static.FOREVER if versioned else static.REVALIDATE)
    again = http.get(f"{live.url}/static/{path}", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    pinned = http.get(f"{live.url}/static/{path}?v={static.asset(path).hash}")
    assert pinned.headers["cache-control"] == static.FOREVER


@pytest.mark.parametrize("path", ["../page.py", "..%2Fpage.py", "%2e%2e/%2e%2e/db.py", "/etc/passwd", "js/",
                                  "vendor/gen-icons.cjs", "nothing.js"])
def test_nothing_outside_the_static_files_can_be_asked_for(live, path):
    r = http.get(f"{live.url}/static/{path}")
    assert r.status_code == 404 and "error" in r.json()


def test_favicon(live):
    r = http.get(live.url + "/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon" and r.content[:4] == b"\0\0\1\0"


def test_every_vendored_library_has_its_licence():
    vendor = static.assets()
    folders = {p.split("/")[1] for p in vendor if p.startswith("vendor/") and p.count("/") >= 2}
    assert {"marked-18.2.1", "dompurify-3.5.0", "katex-0.16.47", "highlight.js-11.12.0", "lucide-1.62.0"} <= folders
    assert all(f"vendor/{f}/LICENSE" in vendor for f in folders), folders


def test_defaults_name_the_configured_model(live, api_key):
    r = http.get(live.url + "/api/defaults", headers={"Authorization": f"Bearer {api_key}"})
    assert r.status_code == 200 and r.json()["model"] == "smollm2" and r.json()["kb"] is None
    assert http.get(live.url + "/api/defaults").status_code == 401


def test_feedback_is_saved(live, api_key, serve_home):
    body = {"model": "fake", "messages": [{"role": "user", "content": "你好"}], "answer": "Hello", "rating": -1}
    r = http.post(live.url + "/api/feedback", json=body, headers={"Authorization": f"Bearer {api_key}"})
    assert r.status_code == 200 and r.json()["saved"]
    row = sqlite3.connect(serve_home / "lingxi.db").execute(
        "SELECT model, messages, answer, rating, key_id FROM feedback WHERE id = ?", (r.json()["id"],)).fetchone()
    assert row[0] == "fake" and json.loads(row[1])[0]["content"] == "你好" and row[2:4] == ("Hello", -1)
    assert row[4] is not None
    bad = http.post(live.url + "/api/feedback", json={**body, "rating": 5}, headers={"Authorization": f"Bearer {api_key}"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "rating"
    assert http.post(live.url + "/api/feedback", json=body).status_code == 401
    stray = http.post(live.url + "/api/feedback", json={**body, "message_id": 987654},
                       headers={"Authorization": f"Bearer {api_key}"})
    assert stray.status_code == 404 and stray.json()["error"]["param"] == "message_id"


def test_the_wheel_carries_the_page(tmp_path):
    pytest.importorskip("setuptools")
    tree = tmp_path / "tree"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path / "dist"), str(tree)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    [wheel] = (tmp_path / "dist").glob("lingxi-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {f"lingxi/serve/static/{p}" for p in static.assets()}
    assert wanted <= names, sorted(wanted - names)[:5]
    assert "lingxi/serve/static/index.html" in names and "lingxi/serve/static/favicon.ico" in names
