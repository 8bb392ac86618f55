"""What a citation points at, for the chat page's footnotes (authenticated like the API).

    GET /api/kb/{name}/passages/{chunk_id}?quote=...   the cited passage: its file, page, headings, whole text
    GET /api/kb/{name}/file?source=PATH               the file itself, when it is one of the KB's sources

Paths are shown as the citations show them (`kb.relative_sources`: relative to the folder
the KB was ingested from, never this server's absolute paths), and the file route takes
that same name back: it is looked up among the KB's sources, never joined to a folder.
The file is always sent as an attachment of type application/octet-stream, under a
sandboxing Content-Security-Policy, so an HTML or SVG document in a knowledge base
can never run as this site's page; the page decides how to show it (a PDF at its page,
text as text).
"""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path
from typing import Any
from urllib.parse import quote as url_quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from lingxi.serve.errors import ApiError
from lingxi.serve.state import Caller

router = APIRouter()
MAX_FILE_BYTES = 64 * 1024 * 1024


def _caller(request: Request) -> Caller:
    return request.app.state.lingxi.authenticate(request)


def shown_names(sources: list[str]) -> dict[str, str]:
    """Each source's name as citations show it (the rule of `kb.relative_sources`): relative
    to the sources' common folder, else its file name."""
    base = os.path.commonpath(sources) if sources else ""
    if base in sources:  # a KB of one file: its folder
        base = os.path.dirname(base)

    def shown(source: str) -> str:
        if base and source.startswith(base.rstrip(os.sep) + os.sep):
            return os.path.relpath(source, base)
        return os.path.basename(source) if os.path.isabs(source) else source

    return {source: shown(source) for source in sources}


def _find_chunk(base: Any, chunk_id: str, quote: str) -> Any:
    """The chunk `chunk_id`: by keyword search on its own quote, else by its own vector."""
    where = {"id": chunk_id}
    if quote.strip():
        hits = base.store.keyword_search(quote, 1, where)
        if hits:
            return hits[0][0]
    vectors = base.store.get_vectors([chunk_id])
    if chunk_id in vectors:
        hits = base.store.vector_search(vectors[chunk_id], 1, where)
        if hits:
            return hits[0][0]
    return None


@router.get("/api/kb/{name}/passages/{chunk_id}")
async def passage(name: str, chunk_id: str, request: Request, quote: str = "",
                  _who: Caller = Depends(_caller)) -> dict[str, Any]:
    base = await asyncio.to_thread(request.app.state.kbs.get, name, f"kb:{name}")
    chunk = await asyncio.to_thread(_find_chunk, base, chunk_id, quote[:2000])
    if chunk is None:
        raise ApiError(404, f"The knowledge base '{name}' holds no passage {chunk_id} with that quote (its file "
                       "may have changed since the answer); ask again for a fresh citation.",
                       param="chunk_id", code="passage_not_found")
    names = shown_names(list(await asyncio.to_thread(base.sources)))
    return {"kb": name, "chunk_id": chunk.id, "source": names.get(chunk.source, Path(chunk.source).name),
            "page": chunk.page, "headings": list(chunk.headings), "text": chunk.text, "start": chunk.start,
            "end": chunk.end, "file": Path(chunk.source).name}


def _read_source(base: Any, name: str, shown: str) -> bytes:
    found = [path for path, label in shown_names(list(base.sources())).items() if label == shown]
    if len(found) != 1:
        raise ApiError(404, f"'{shown}' is not a file of the knowledge base '{name}' (use the name a citation "
                       "shows).", param="source", code="source_not_found")
    source = found[0]
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK)  # a fifo put in its place must not hang the server
    except OSError as exc:
        raise ApiError(404, f"The file '{shown}' cannot be read any more ({exc.strerror}); it was moved or "
                       "deleted after ingest.", param="source", code="source_not_found") from exc
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ApiError(404, f"'{shown}' is no longer a regular file.", param="source", code="source_not_found")
        if info.st_size > MAX_FILE_BYTES:
            raise ApiError(413, f"The file '{shown}' is {info.st_size} bytes; the page opens files of at most "
                           f"{MAX_FILE_BYTES} bytes. Open it on the server instead.", code="file_too_large")
        return f.read(MAX_FILE_BYTES + 1)


@router.get("/api/kb/{name}/file")
async def source_file(name: str, source: str, request: Request, _who: Caller = Depends(_caller)) -> Response:
    base = await asyncio.to_thread(request.app.state.kbs.get, name, f"kb:{name}")
    body = await asyncio.to_thread(_read_source, base, name, source)
    filename = Path(source).name
    return Response(body, media_type="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{url_quote(filename)}",
        "Content-Security-Policy": "sandbox; default-src 'none'", "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store"})
