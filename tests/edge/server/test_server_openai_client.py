"""The official ``openai`` client against a real uvicorn serving the embedded SmolLM2."""

from __future__ import annotations

import math

import httpx
import numpy as np
import pytest
from openai import OpenAI

MODEL = "smollm2-135m-instruct-q4_1"
EMBED = "minilm-l6-v2-int8-onnx"


@pytest.fixture(scope="module")
def client(live_server) -> OpenAI:
    return OpenAI(base_url=live_server.base_url + "/v1", api_key="local", max_retries=0, timeout=300)


def test_health_and_models(live_server, client: OpenAI) -> None:
    health = httpx.get(live_server.base_url + "/health").json()
    assert health["status"] == "ok" and MODEL in health["models"]
    ids = {m.id for m in client.models.list().data}
    assert {MODEL, EMBED} <= ids
    assert client.models.retrieve(MODEL).id == MODEL


def test_chat_completion_with_logprobs(client: OpenAI) -> None:
    r = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": "You are a shop assistant."}, {"role": "user", "content": "Hi!"}],
        max_tokens=8,
        logprobs=True,
        top_logprobs=3,
    )
    choice = r.choices[0]
    assert choice.message.role == "assistant" and choice.message.content
    assert choice.finish_reason in ("stop", "length")
    assert r.usage is not None and r.usage.completion_tokens <= 8 and r.usage.prompt_tokens > 5
    content = choice.logprobs.content
    assert content and len(content) == r.usage.completion_tokens
    first = content[0]
    assert first.logprob <= 0 and len(first.top_logprobs) == 3
    # greedy decoding: the chosen token is the most likely one
    assert math.isclose(first.logprob, max(t.logprob for t in first.top_logprobs), abs_tol=1e-4)


def test_chat_stream_matches_non_stream(client: OpenAI) -> None:
    messages = [{"role": "user", "content": "Name one fruit."}]
    full = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=12, temperature=0)
    pieces, usage, finish = [], None, None
    for chunk in client.chat.completions.create(
        model=MODEL, messages=messages, max_tokens=12, temperature=0, stream=True,
        stream_options={"include_usage": True},
    ):
        if chunk.usage is not None:
            usage = chunk.usage
        for ch in chunk.choices:
            pieces.append(ch.delta.content or "")
            finish = ch.finish_reason or finish
    assert "".join(pieces) == full.choices[0].message.content
    assert usage is not None and usage.completion_tokens == full.usage.completion_tokens
    assert finish == full.choices[0].finish_reason


def test_stop_sequence_and_seed(client: OpenAI) -> None:
    kw = dict(model=MODEL, prompt="Count: 1, 2, 3,", max_tokens=12, temperature=0.9, seed=42)
    a = client.completions.create(**kw)
    b = client.completions.create(**kw)
    assert a.choices[0].text == b.choices[0].text
    stopped = client.completions.create(model=MODEL, prompt="Count: 1, 2, 3,", max_tokens=20, stop=["6"])
    assert "6" not in stopped.choices[0].text and stopped.choices[0].finish_reason == "stop"


def test_completion_logprobs_and_stream(client: OpenAI) -> None:
    r = client.completions.create(model=MODEL, prompt="The capital of France is", max_tokens=4, logprobs=2)
    lp = r.choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == r.usage.completion_tokens
    assert all(len(t) == 2 for t in lp.top_logprobs)
    text = "".join(c.choices[0].text for c in client.completions.create(
        model=MODEL, prompt="The capital of France is", max_tokens=4, stream=True) if c.choices)
    assert text == r.choices[0].text


def test_stream_with_logprobs(client: OpenAI) -> None:
    got = []
    for chunk in client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hello"}], max_tokens=5, stream=True, logprobs=True
    ):
        for ch in chunk.choices:
            if ch.logprobs and ch.logprobs.content:
                got.extend(ch.logprobs.content)
    assert 1 <= len(got) <= 5 and all(t.logprob <= 0 for t in got)


def test_embeddings_float_and_base64(client: OpenAI) -> None:
    texts = ["waterproof hiking backpack", "rain-proof trekking rucksack", "chocolate cake recipe"]
    r = client.embeddings.create(model=EMBED, input=texts)  # the client asks for base64 and decodes it
    vecs = np.array([d.embedding for d in r.data])
    assert vecs.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-3)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.2
    f = client.embeddings.create(model=EMBED, input=texts[0], encoding_format="float")
    assert np.allclose(f.data[0].embedding, vecs[0], atol=1e-5)
    assert r.usage.prompt_tokens > 6
