"""The OpenAPI document is complete: typed responses, request bodies with examples, auth declared."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_every_operation_is_typed_and_has_examples(tmp_path: Path) -> None:
    from frugalstack.cloud.app import create_app
    from frugalstack.cloud.settings import CloudSettings

    spec = create_app(CloudSettings(data_dir=tmp_path, admin_secret="o" * 40)).openapi()
    missing_example, untyped = [], []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            ok = [code for code in op["responses"] if code.startswith("2")]
            content = op["responses"][ok[0]].get("content", {}) if ok else {}
            if not content or not any(v.get("schema") or k != "application/json" for k, v in content.items()):
                untyped.append(f"{method} {path}")
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body and "examples" not in _resolve(spec, body["schema"]):
                missing_example.append(f"{method} {path}")
    assert untyped == [] and missing_example == []
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
