"""Fuzz every operation of the edge server's OpenAPI spec against the live server: no 5xx, no hang.

Generation is schema-driven (the request bodies are in the spec, see ``edge/server/spec.py``), a few examples
per operation. Generated chat and completion bodies are capped to one token and one choice so that each example
runs the real SmolLM2 for milliseconds, not minutes; everything else is sent as generated.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

EXAMPLES = 6
GENERATING = {"/v1/chat/completions", "/v1/completions"}
MODELS = {"/v1/chat/completions": "smollm2-135m-instruct-q4_1", "/v1/completions": "smollm2-135m-instruct-q4_1",
          "/v1/embeddings": "minilm-l6-v2-int8-onnx"}


def _shape(path: str, body: Any) -> Any:
    """Half the bodies name a served model (so generation paths run too); generation capped to one token."""
    if not isinstance(body, dict):
        return body
    if path in MODELS and len(str(body.get("model", ""))) % 2 == 0:
        body = {**body, "model": MODELS[path]}
    if path in GENERATING:
        body = {**body, "max_tokens": 1, "n": 1}
        body.pop("max_completion_tokens", None)
        if isinstance(body.get("prompt"), list):
            body["prompt"] = body["prompt"][:2]
    return body


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_edge_spec_documents_bodies_and_fuzzing_finds_no_server_error(live_server: Any) -> None:
    schema = schemathesis.openapi.from_url(live_server.base_url + "/openapi.json")
    failures: list[str] = []
    statuses: list[int] = []
    served: set[str] = set()
    ran = 0
    for result in schema.get_all_operations():
        op = result.ok()
        ran += 1
        if op.method.upper() == "POST":
            assert op.body, f"{op.path} has no documented request body"

        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            case.body = _shape(case.path, case.body)
            response = case.call(base_url=live_server.base_url, timeout=60)
            statuses.append(response.status_code)
            if case.path in MODELS and response.status_code == 200:
                served.add(case.path)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {str(case.body)[:200]} -> "
                                f"{response.status_code}: {response.text[:200]}")

        check()
    assert ran == 7 and len(statuses) >= ran
    assert any(400 <= s < 500 for s in statuses)
    assert served, "no generated body reached a model: the fuzzing only exercised validation"
    if failures:
        pytest.fail("server errors:\n" + "\n".join(failures[:20]))
