"""Output-format rail: when the app asked for JSON with a schema, the answer must parse and validate.

A Markdown code fence around the JSON is tolerated (small models add one); anything else is a finding.
"""

from __future__ import annotations

import json
import re
from typing import Any

from frugalstack.edge.guard.types import CheckContext, Finding, SharedState
from frugalstack.shared.errors import ConfigError, MissingDependencyError

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n?(.*?)\n?```\s*$", re.DOTALL)


def extract_json(text: str) -> Any:
    """Parse the answer as JSON (inside a code fence if there is one); raises ``ValueError``."""
    m = _FENCE.match(text)
    return json.loads(m.group(1) if m else text)


class JsonSchemaRail:
    """``INVALID_JSON`` when the answer does not parse, ``SCHEMA_VIOLATION`` per error (first 5)."""

    name = "json_schema"

    def check(self, text: str, ctx: CheckContext, shared: SharedState) -> list[Finding]:
        if ctx.json_schema is None:
            return []
        try:
            import jsonschema
        except ImportError:
            raise MissingDependencyError("jsonschema", "guard", purpose="the JSON-schema output rail") from None
        try:
            validator_cls = jsonschema.validators.validator_for(ctx.json_schema)
            validator_cls.check_schema(ctx.json_schema)
        except jsonschema.SchemaError as exc:
            raise ConfigError(f"the JSON schema given to the guard is invalid: {exc.message}") from exc
        try:
            doc = extract_json(text)
        except (ValueError, RecursionError) as exc:
            return [
                Finding(rail=self.name, type="INVALID_JSON", start=0, end=len(text), score=1.0, detail=str(exc)[:200])
            ]
        errors = sorted(validator_cls(ctx.json_schema).iter_errors(doc), key=lambda e: list(e.path))
        return [
            Finding(
                rail=self.name,
                type="SCHEMA_VIOLATION",
                start=0,
                end=len(text),
                score=1.0,
                detail=f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}"[:200],
            )
            for e in errors[:5]
        ]
