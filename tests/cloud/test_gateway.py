"""The OpenAI-compatible gateway with the official ``openai`` client, on the embedded SmolLM2 GGUF."""

from __future__ import annotations

import uuid
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


def _gateway_entries(cloud: Any) -> list[dict[str, Any]]:
    with cloud.admin() as c:
        entries, after = [], 0
        while batch := c.get("/v1/audit", params={"after_seq": after, "limit": 1000}).json():
            entries += batch
            after = batch[-1]["seq"]
    return [e for e in entries if e["action"] == "gateway.chat"]


def test_calls_are_audited_and_prompts_kept_only_by_audited_opt_in(cloud: Any) -> None:
    from sqlalchemy import select

    from frugalstack.cloud.db.tables_ops import UsageRecord

    _, key = cloud.device()
    client = openai.OpenAI(base_url=cloud.url + "/v1", api_key=key, max_retries=0)
    secret = "my card is 4111 1111 1111 1111, is the tent waterproof?"
    msgs: Any = [{"role": "user", "content": secret}]
    before = len(_gateway_entries(cloud))
    r = client.chat.completions.create(model="x", max_tokens=3, temperature=0, messages=msgs)
    entries = _gateway_entries(cloud)
    assert len(entries) == before + 1
    e = entries[-1]
    assert e["actor_role"] == "device" and e["details"]["model"] == r.model
    assert e["details"]["input_tokens"] == r.usage.prompt_tokens  # type: ignore[union-attr]
    assert e["details"]["cost_usd"] > 0 and e["details"]["prompt_stored"] is False
    assert "4111" not in str(entries)  # no prompt text in the audit log, ever
    with cloud.admin() as c:
        closed = c.post("/v1/use-cases", json={"name": f"closed-{uuid.uuid4().hex[:6]}", "risk_class": "limited"})
        opened = c.post("/v1/use-cases", json={"name": f"open-{uuid.uuid4().hex[:6]}", "risk_class": "limited",
                                               "allow_raw_prompts": True})
    closed_id, open_id = closed.json()["id"], opened.json()["id"]
    with pytest.raises(openai.UnprocessableEntityError, match="use_case"):  # store asked, no use case named
        client.chat.completions.create(model="x", max_tokens=2, messages=msgs, store=True)
    with pytest.raises(openai.PermissionDeniedError, match="raw prompts"):
        client.chat.completions.create(model="x", max_tokens=2, messages=msgs, store=True,
                                       metadata={"use_case": closed_id})
    assert len(_gateway_entries(cloud)) == before + 1  # refused before the model ran: nothing charged
    client.chat.completions.create(model="x", max_tokens=2, messages=msgs, store=True, metadata={"use_case": open_id})
    last = _gateway_entries(cloud)[-1]
    assert last["details"]["prompt_stored"] is True and last["details"]["use_case_id"] == open_id
    with cloud.app.state.cloud.db.read() as s:
        kept = s.scalars(select(UsageRecord).where(UsageRecord.key_id == last["actor"])).all()
    assert [bool(u.prompt_text) for u in sorted(kept, key=lambda u: u.created_at)] == [False, True]
    assert any(u.prompt_text and secret in u.prompt_text for u in kept)
    with cloud.admin() as c:
        assert c.get("/v1/audit/verify").json()["ok"] is True
