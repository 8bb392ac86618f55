"""The chat page's files (``src/lingxi/serve/static/``), served at ``/static/PATH``.

Every file is read once into a table at first use; only the files in that table can be
asked for (no path is ever joined from the request). Each answer carries an exact
content type, ``X-Content-Type-Options: nosniff`` and an ETag (a 304 when it matches).

Caching: the vendored libraries sit in versioned folders (``vendor/katex-0.16.47/``) and
are cached for a year; the page's own files are cached for a year when asked for with
their current hash (``?v=HASH``, which `versioned` writes into the HTML), and are
revalidated otherwise.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lingxi.serve.errors import ApiError

router = APIRouter()
TYPES = {
    ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml", ".ico": "image/x-icon", ".png": "image/png",
    ".woff2": "font/woff2", ".md": "text/plain; charset=utf-8", "": "text/plain; charset=utf-8",
}
FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


@dataclass(frozen=True)
class Asset:
    body: bytes
    type: str
    hash: str  # the first 16 hex digits of its SHA-256

    @property
    def etag(self) -> str:
        return f'"{self.hash}"'


def _suffix(name: str) -> str:
    return name[name.rfind("."):] if "." in name else ""


@lru_cache(maxsize=1)
def assets() -> dict[str, Asset]:
    """Every file under static/ by its path there ('vendor/katex-0.16.47/katex.min.css')."""
    out: dict[str, Asset] = {}

    def walk(folder: Any, prefix: str) -> None:
        for item in folder.iterdir():
            if item.is_dir():
                walk(item, f"{prefix}{item.name}/")
            elif _suffix(item.name) in TYPES:
                body = item.read_bytes()
                out[prefix + item.name] = Asset(body, TYPES[_suffix(item.name)], hashlib.sha256(body).hexdigest()[:16])

    walk(resources.files("lingxi.serve") / "static", "")
    return out


def asset(path: str) -> Asset:
    found = assets().get(path)
    if found is None:
        raise ApiError(404, f"There is no file '/static/{path}' on this server; the chat page is at /.",
                       code="not_found")
    return found


def respond(request: Request, found: Asset, cache: str) -> Response:
    headers = {"ETag": found.etag, "Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    if found.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.type, headers=headers)


def versioned(html: str) -> str:
    """The HTML with each ``/static/PATH"`` reference pinned to the file's hash (``?v=HASH``)."""
    def pin(m: re.Match[str]) -> str:
        found = assets().get(m.group(1))
        return f'/static/{m.group(1)}?v={found.hash}"' if found else m.group(0)

    return re.sub(r'/static/([\w./-]+)"', pin, html)


@router.get("/static/{path:path}", include_in_schema=False)
async def static_file(path: str, request: Request) -> Response:
    found = asset(path)
    immutable = path.startswith("vendor/") or request.query_params.get("v") == found.hash
    return respond(request, found, FOREVER if immutable else REVALIDATE)


@router.get("/favicon.ico", include_in_schema=False)
async def favicon(request: Request) -> Response:
    return respond(request, asset("favicon.ico"), "public, max-age=86400")
