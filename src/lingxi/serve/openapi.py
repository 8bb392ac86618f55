"""`/openapi.json` with the request bodies declared.

The routes read their JSON themselves (to bound its size while it arrives and to answer
OpenAI-style errors), so FastAPI cannot see their bodies; this adds each POST route's
body schema from the pydantic models in `lingxi.serve.schema`, so that clients,
generators and fuzzers (schemathesis runs against it in the tests) know them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from lingxi.serve import schema

BODIES: dict[str, type[BaseModel]] = {
    "/v1/chat/completions": schema.ChatRequest,
    "/v1/completions": schema.CompletionRequest,
    "/v1/embeddings": schema.EmbeddingRequest,
}
REF = "#/components/schemas/{model}"


def install(app: FastAPI, bodies: dict[str, type[BaseModel]] | None = None,
            forms: dict[str, type[BaseModel]] | None = None) -> None:
    """Make `app.openapi()` declare the given request bodies (default: BODIES); `forms` are
    multipart/form-data bodies (the audio uploads)."""
    from lingxi.serve.audio import BODIES as AUDIO_BODIES

    declared = {**BODIES, **AUDIO_BODIES, **(bodies or {})}
    multipart = forms or {}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
            components = doc.setdefault("components", {}).setdefault("schemas", {})
            for path, model in [*declared.items(), *multipart.items()]:
                post = doc.get("paths", {}).get(path, {}).get("post")
                if post is None:
                    continue
                body = model.model_json_schema(ref_template=REF, by_alias=True)
                components.update(body.pop("$defs", {}))
                components[model.__name__] = body
                media = "multipart/form-data" if path in multipart else "application/json"
                post["requestBody"] = {"required": True, "content": {
                    media: {"schema": {"$ref": REF.format(model=model.__name__)}}}}
                post.setdefault("responses", {})["400"] = {"description": "a malformed request, in OpenAI's error shape"}
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
