"""The OpenAI-compatible gateway with the official ``openai`` client, on the embedded SmolLM2 GGUF."""

from __future__ import annotations

from typing import Any

import openai
import pytest


@pytest.fixture(scope="module")
def gateway_key(cloud: Any) -> str:
    _, key = cloud.device()
    return key


def test_chat_completion(cloud: Any, gateway_key: str) -> None:
    client = openai.OpenAI(base_url=cloud.url + "/v1", api_key=gateway_key, max_retries=0)
    r = client.chat.completions.create(model="smollm2-135m-instruct-q4_1", max_tokens=8, temperature=0,
                                       messages=[{"role": "user", "content": "Say hello to a shopper."}])
    assert r.choices[0].message.content
    assert r.usage is not None and r.usage.prompt_tokens > 0 and 0 < r.usage.completion_tokens <= 8
    assert r.model == "smollm2-135m-instruct-q4_1"
    assert [m.id for m in client.models.list()] == ["smollm2-135m-instruct-q4_1"]


def test_streaming_matches_and_records_usage(cloud: Any, gateway_key: str) -> None:
    client = openai.OpenAI(base_url=cloud.url + "/v1", api_key=gateway_key, max_retries=0)
    msgs: Any = [{"role": "system", "content": "You are a shop assistant."},
                 {"role": "user", "content": "Is the blue backpack waterproof?"}]
    full = client.chat.completions.create(model="x", max_tokens=8, temperature=0, messages=msgs)
    stream = client.chat.completions.create(model="x", max_tokens=8, temperature=0, messages=msgs, stream=True,
                                            stream_options={"include_usage": True})
    pieces, usage, finish = [], None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    assert "".join(pieces) == full.choices[0].message.content  # greedy: same text either way
    assert usage is not None and usage.completion_tokens == full.usage.completion_tokens  # type: ignore[union-attr]
    assert finish in ("stop", "length")
    with cloud.admin() as c:
        rows = c.get("/v1/usage").json()
    mine = [r for r in rows if r["model"] == "smollm2-135m-instruct-q4_1"]
    assert sum(r["requests"] for r in mine) >= 2 and sum(r["cost_usd"] for r in mine) > 0


def test_content_parts(cloud: Any, gateway_key: str) -> None:
    client = openai.OpenAI(base_url=cloud.url + "/v1", api_key=gateway_key, max_retries=0)
    parts: Any = [{"type": "text", "text": "Say hello "}, {"type": "text", "text": "to a shopper."}]
    r = client.chat.completions.create(model="x", max_tokens=4, temperature=0,
                                       messages=[{"role": "user", "content": parts}])
    plain = client.chat.completions.create(model="x", max_tokens=4, temperature=0,
                                           messages=[{"role": "user", "content": "Say hello to a shopper."}])
    assert r.choices[0].message.content == plain.choices[0].message.content


def test_gateway_errors(cloud: Any, gateway_key: str) -> None:
    client = openai.OpenAI(base_url=cloud.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="x", messages=[{"role": "user", "content": "hi"}])
    auditor = openai.OpenAI(base_url=cloud.url + "/v1", api_key=cloud.key("auditor"), max_retries=0)
    with pytest.raises(openai.PermissionDeniedError):
        auditor.chat.completions.create(model="x", messages=[{"role": "user", "content": "hi"}])
    ok = openai.OpenAI(base_url=cloud.url + "/v1", api_key=gateway_key, max_retries=0)
    with pytest.raises(openai.UnprocessableEntityError):
        ok.chat.completions.create(model="x", messages=[])


def test_upstream_proxy(cloud: Any, start_cloud: Any) -> None:
    """A second cloud proxies to the first as its OpenAI-compatible upstream (URL + key)."""
    if cloud.kind != "sqlite":
        pytest.skip("the proxy path does not touch the database; one run is enough (CPU budget)")
    _, upstream_key = cloud.device()
    front = start_cloud(gateway_upstream_url=cloud.url + "/v1", gateway_upstream_key=upstream_key,
                        gateway_model="smollm2-135m-instruct-q4_1")
    _, key = front.device()
    client = openai.OpenAI(base_url=front.url + "/v1", api_key=key, max_retries=0)
    r = client.chat.completions.create(model="smollm2-135m-instruct-q4_1", max_tokens=8, temperature=0,
                                       messages=[{"role": "user", "content": "Hello"}])
    assert r.choices[0].message.content and r.usage and r.usage.completion_tokens > 0
    text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="smollm2-135m-instruct-q4_1", max_tokens=8, temperature=0, stream=True,
        messages=[{"role": "user", "content": "Hello"}]) if c.choices)
    assert text == r.choices[0].message.content
    with front.admin() as c:
        assert sum(u["requests"] for u in c.get("/v1/usage").json()) == 2
