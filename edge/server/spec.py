"""Request-body schemas in the edge server's OpenAPI document.

The routes read and validate their JSON by hand (so every bad body gets an OpenAI-style 400), which leaves
FastAPI's generated spec without request bodies; clients, docs and the schemathesis fuzz test need them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel


def _bodies() -> dict[str, type[BaseModel]]:
    from frugalstack.edge.guard.api import GuardRequest  # lazy: the guard package is only needed for /v1/guard
    from frugalstack.edge.server.protocol import ChatCompletionRequest, CompletionRequest, EmbeddingRequest

    return {"/v1/chat/completions": ChatCompletionRequest, "/v1/completions": CompletionRequest,
            "/v1/embeddings": EmbeddingRequest, "/v1/guard": GuardRequest}


def document_request_bodies(app: FastAPI) -> None:
    """Replace ``app.openapi`` with one that adds the JSON body schema of each POST route."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, routes=app.routes)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        for path, model in _bodies().items():
            op = spec.get("paths", {}).get(path, {}).get("post")
            if op is None:
                continue
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
