"""Bad requests get OpenAI-style 4xx bodies, never a 500."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MODEL = "smollm2-135m-instruct-q4_1"
MSG = [{"role": "user", "content": "hi"}]


def post(live_server, path: str, body: object | bytes) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(live_server.base_url + path, content=content,
                      headers={"content-type": "application/json"}, timeout=60)


def assert_error(resp: httpx.Response, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert set(err) >= {"message", "type", "param", "code"} and err["message"]
    if code:
        assert err["code"] == code
    return err


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "invalid_request_error"),
        (b"\xff\xfe", 400, "invalid_request_error"),
        ([1, 2], 400, "invalid_request_error"),
        ({"model": 5, "messages": MSG}, 400, "invalid_request_error"),
        ({"model": MODEL, "messages": "hi"}, 400, "invalid_request_error"),
        ({"model": MODEL, "messages": []}, 400, "invalid_request_error"),
        ({"model": MODEL, "messages": [{"role": "wizard", "content": "x"}]}, 400, "invalid_request_error"),
        ({"model": MODEL, "messages": MSG, "max_tokens": "5"}, 400, "invalid_request_error"),
        ({"model": MODEL, "messages": MSG, "temperature": 7}, 400, "invalid_request_error"),
        ({"model": MODEL, "messages": MSG, "max_tokens": 0}, 400, "invalid_request_error"),
        ({"model": MODEL, "messages": MSG, "max_tokens": -3}, 400, "invalid_request_error"),
        ({"model": MODEL, "messages": MSG, "max_tokens": 10**12}, 400, "invalid_request_error"),
        ({"model": MODEL, "messages": MSG, "max_completion_tokens": 10**9}, 400, "invalid_request_error"),
        ({"model": "gpt-9", "messages": MSG}, 404, "model_not_found"),
        ({"model": "/etc/passwd", "messages": MSG}, 404, "model_not_found"),
        ({"model": MODEL, "messages": MSG, "n": 3}, 400, "unsupported_feature"),
        ({"model": MODEL, "messages": MSG, "tools": [{"type": "function"}]}, 400, "unsupported_feature"),
        ({"model": MODEL, "messages": MSG, "top_logprobs": 2}, 400, "invalid_request_error"),
        ({"model": MODEL, "messages": MSG, "response_format": {"type": "json_schema"}}, 400, "invalid_request_error"),
        ({"model": MODEL, "messages": MSG, "response_format": {"type": "xml"}}, 400, "invalid_request_error"),
        ({"model": MODEL, "messages": [{"role": "user", "content": "   "}]}, 400, "invalid_request_error"),
    ],
)
def test_chat_bad_requests(live_server, body: object, status: int, code: str) -> None:
    assert_error(post(live_server, "/v1/chat/completions", body), status, code)


def test_wrong_type_names_the_field(live_server) -> None:
    err = assert_error(post(live_server, "/v1/chat/completions", {"model": MODEL, "messages": MSG,
                                                                  "max_tokens": [1]}), 400)
    assert err["param"] == "max_tokens"


def test_body_over_limit_is_413(live_server) -> None:
    big = {"model": MODEL, "messages": [{"role": "user", "content": "a" * 100_000}]}
    assert_error(post(live_server, "/v1/chat/completions", big), 413, "payload_too_large")

    def chunks():  # no Content-Length: the limit must hold while streaming the body
        yield b'{"model": "' + MODEL.encode() + b'", "messages": [{"role": "user", "content": "'
        for _ in range(100):
            yield b"b" * 1024
        yield b'"}]}'

    resp = httpx.post(live_server.base_url + "/v1/chat/completions", content=chunks(), timeout=60)
    assert_error(resp, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/v1/completions", {"model": MODEL, "prompt": 12}, 400),
        ("/v1/completions", {"model": MODEL, "prompt": ["a", "b"]}, 400),
        ("/v1/completions", {"model": MODEL, "prompt": "a", "echo": True}, 400),
        ("/v1/completions", {"model": MODEL, "prompt": "a", "logprobs": 9}, 400),
        ("/v1/completions", {"model": MODEL, "prompt": "a", "max_tokens": 0}, 400),
        ("/v1/embeddings", {"model": "minilm-l6-v2-int8-onnx", "input": ""}, 400),
        ("/v1/embeddings", {"model": "minilm-l6-v2-int8-onnx", "input": [1, 2]}, 400),
        ("/v1/embeddings", {"model": "minilm-l6-v2-int8-onnx", "input": "a", "dimensions": 64}, 400),
        ("/v1/embeddings", {"model": MODEL, "input": "a"}, 404),
    ],
)
def test_other_endpoints_bad_requests(live_server, path: str, body: object, status: int) -> None:
    assert_error(post(live_server, path, body), status)


def test_unknown_route_and_method(live_server) -> None:
    assert_error(httpx.get(live_server.base_url + "/v1/nothing"), 404)
    assert_error(httpx.get(live_server.base_url + "/v1/chat/completions"), 405)


def test_stream_request_errors_before_first_byte(live_server) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "x " * 9000}], "stream": True}
    err = assert_error(post(live_server, "/v1/chat/completions", body), 400)
    assert err["code"] == "context_length_exceeded"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
fields = st.fixed_dictionaries(
    {},
    optional={"model": json_values | st.just(MODEL), "messages": json_values, "max_tokens": json_values,
              "temperature": json_values, "stop": json_values, "response_format": json_values},
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=fields)
def test_fuzzed_bodies_never_500(live_server, body: dict) -> None:
    if isinstance(body.get("messages"), list) and body.get("model") == MODEL:
        body["max_tokens"] = 1 if not isinstance(body.get("max_tokens"), int) else body["max_tokens"]
    resp = post(live_server, "/v1/chat/completions", body)
    assert resp.status_code < 500, resp.text


def test_import_edge_does_not_import_fastapi() -> None:
    code = "import sys, frugalstack.edge, frugalstack.edge.cli.main; print('fastapi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True)
    assert out.stdout.strip() == "False"


def test_server_binds_loopback_by_default() -> None:
    from frugalstack.edge.server.models import ServerConfig

    assert ServerConfig().host == "127.0.0.1"
