"""The edge runtime on the real embedded SmolLM2 (llama.cpp)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from frugalstack.edge.profiles import get_profile
from frugalstack.edge.runtime import Runtime
from frugalstack.edge.settings import EdgeSettings
from frugalstack.edge.telemetry import TelemetryStore
from frugalstack.shared.errors import (
    ConfigError,
    ContextOverflowError,
    ModelLoadError,
    PayloadTooLargeError,
    UnknownModelError,
    ValidationError,
)

QUESTION = "Is the blue backpack waterproof?"


def test_chat_answers_with_usage_and_timing(runtime: Runtime) -> None:
    reply = runtime.chat(QUESTION, max_tokens=24)
    assert reply.text.strip()
    assert "\x00" not in reply.text
    assert reply.usage.input_tokens > 5
    assert 0 < reply.usage.output_tokens <= 24
    assert reply.ttft_ms is not None and reply.ttft_ms > 0
    assert reply.latency_ms >= reply.ttft_ms
    assert reply.backend == "llama_cpp" and reply.profile == "laptop-x86"
    data = reply.to_dict()
    assert set(data) >= {"text", "model", "backend", "usage", "ttft_ms", "latency_ms", "tokens_per_s"}
    json.dumps(data)


def test_greedy_is_deterministic_and_stream_matches_chat(runtime: Runtime) -> None:
    a = runtime.chat(QUESTION, max_tokens=20)
    b = runtime.chat(QUESTION, max_tokens=20)
    assert a.text == b.text
    stream = runtime.stream(QUESTION, max_tokens=20)
    pieces = list(stream)
    assert len(pieces) > 3
    assert "".join(pieces) == a.text
    assert stream.reply is not None and stream.reply.usage == a.usage


def test_seeded_sampling_repeats(runtime: Runtime) -> None:
    runs = [runtime.chat("Name a colour.", max_tokens=12, temperature=1.0, seed=7).text for _ in range(2)]
    assert runs[0] == runs[1]


def test_logprobs_are_log_probabilities(runtime: Runtime) -> None:
    reply = runtime.chat(QUESTION, max_tokens=10, logprobs=True, top_logprobs=3)
    assert reply.logprobs is not None
    assert len(reply.logprobs) == reply.usage.output_tokens
    for lp in reply.logprobs:
        assert lp.logprob <= 0.0
        assert len(lp.top_logprobs) == 3
        assert max(lp.top_logprobs.values()) >= lp.logprob - 1e-4  # greedy picks the top token
    assert runtime.chat(QUESTION, max_tokens=4).logprobs is None


def test_stop_sequence_cuts_the_text(runtime: Runtime) -> None:
    prompt = "Count from one to ten in words."
    full = runtime.chat(prompt, max_tokens=40)
    stop = full.text[12:15]  # a piece from the middle, possibly spanning tokens
    assert len(stop) == 3
    cut = runtime.chat(prompt, max_tokens=40, stop=["@@never@@", stop])
    assert cut.text == full.text[: full.text.find(stop)]
    assert cut.finish_reason == "stop"


def test_json_schema_is_enforced(runtime: Runtime) -> None:
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string"}, "waterproof": {"type": "boolean"}},
        "required": ["colour", "waterproof"],
    }
    reply = runtime.chat("Describe a blue waterproof backpack as JSON.", max_tokens=48, json_schema=schema)
    data = json.loads(reply.text)
    assert isinstance(data["colour"], str) and isinstance(data["waterproof"], bool)


def test_complete_without_chat_template(runtime: Runtime) -> None:
    reply = runtime.complete("The capital of France is", max_tokens=5)
    assert reply.usage.output_tokens > 0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"messages": ""}, ValidationError),
        ({"messages": "   \n"}, ValidationError),
        ({"messages": []}, ValidationError),
        ({"messages": [{"role": "robot", "content": "hi"}]}, ValidationError),
        ({"messages": "hi", "max_tokens": 0}, ValidationError),
        ({"messages": "hi", "temperature": -1}, ValidationError),
        ({"messages": "hi", "colour": "blue"}, ValidationError),
        ({"messages": "word " * 20_000}, ContextOverflowError),
    ],
)
def test_bad_requests_raise_clear_errors(runtime: Runtime, kwargs: dict, error: type[Exception]) -> None:
    messages = kwargs.pop("messages")
    with pytest.raises(error):
        runtime.chat(messages, **kwargs)


def test_huge_input_is_refused_unread(frugal_home: Path) -> None:
    rt = Runtime(profile="laptop-x86", settings=EdgeSettings(max_input_chars=1000), telemetry=False)
    try:
        with pytest.raises(PayloadTooLargeError):
            rt.chat("x" * 1001)
    finally:
        rt.close()


def test_truncate_policy_keeps_the_newest_text(frugal_home: Path) -> None:
    base = get_profile("laptop-x86")  # a 512-token context: the same truncation, 8x less prefill than 4096
    small = base.model_copy(update={"runtime": base.runtime.model_copy(update={"context_size": 512})})
    rt = Runtime(profile=small, settings=EdgeSettings(overflow="truncate"), telemetry=False)
    try:
        assert rt.context_size == 512
        long = "filler " * 1000 + "Question: what colour is the sky?"
        reply = rt.chat(long, max_tokens=8)
        assert reply.usage.input_tokens <= rt.context_size
        assert reply.usage.output_tokens > 0
        turns = [{"role": "user", "content": "old " * 800}, {"role": "assistant", "content": "ok"},
                 {"role": "user", "content": "What is 2+2?"}]
        reply = rt.chat(turns, system="Be brief.", max_tokens=8)
        assert reply.usage.input_tokens < 200  # the old turn was dropped, the system prompt kept
    finally:
        rt.close()


def test_corrupt_and_unknown_models(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.gguf"
    bad.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 100)
    with pytest.raises(ModelLoadError):
        Runtime(str(bad), profile="laptop-x86", telemetry=False)
    notgguf = tmp_path / "weights.gguf"
    notgguf.write_text("hello")
    with pytest.raises(ModelLoadError, match="magic"):
        Runtime(str(notgguf), profile="laptop-x86", telemetry=False)
    with pytest.raises(UnknownModelError):
        Runtime("no-such-model", profile="laptop-x86", telemetry=False)
    with pytest.raises(ConfigError, match="embedding model"):
        Runtime("minilm-l6-v2", profile="laptop-x86", telemetry=False)


def test_memory_budget_is_enforced(tmp_path: Path) -> None:
    import yaml

    from frugalstack.edge.profiles import get_profile

    data = get_profile("laptop-x86").model_dump(mode="json")
    data["id"] = "tiny"
    data["runtime"]["memory_budget_mb"] = 64
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="budget"):
        Runtime(profile=str(path), telemetry=False)


def test_traces_have_no_text_unless_opted_in(tmp_path: Path) -> None:
    store = TelemetryStore(tmp_path / "t.db")
    rt = Runtime(profile="laptop-x86", telemetry=store)
    rt.chat(QUESTION, max_tokens=6)
    with pytest.raises(ValidationError):
        rt.chat("", max_tokens=6)
    (ok, *_), errors = store.recent(1), [t for t in store.recent(10) if t.status == "error"]
    rt.close()
    assert ok.status == "error" and errors  # newest first: the failed request
    store = TelemetryStore(tmp_path / "t.db")
    records = store.recent(10)
    good = next(t for t in records if t.status == "ok")
    assert good.prompt is None and good.completion is None
    assert good.input_tokens > 0 and good.output_tokens > 0 and good.ttft_ms
    attrs = good.otel_attributes()
    assert attrs["gen_ai.request.model"] == "smollm2-135m-instruct-q4_1"
    assert attrs["gen_ai.usage.output_tokens"] == good.output_tokens
    store.close()

    opted = TelemetryStore(tmp_path / "text.db", record_text=True)
    rt = Runtime(profile="laptop-x86", telemetry=opted)
    rt.chat(QUESTION, max_tokens=4)
    rec = opted.recent(1)[0]
    rt.close()
    assert rec.prompt and QUESTION in rec.prompt and rec.completion


def test_concurrent_requests_are_serialised(runtime: Runtime) -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            results.append(runtime.chat(QUESTION, max_tokens=12).text)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(results) == 3 and len(set(results)) == 1


def test_guard_applies_by_default_and_switches_off(runtime: Runtime, tmp_path: Path) -> None:
    card = "Where is order 88213? My card is 4111 1111 1111 1111."
    reply = runtime.chat(card, max_tokens=4)
    assert runtime.guard is not None and runtime.guard.policy.name == "runtime-default"
    assert reply.input_guard.action == "redact" and "CREDIT_CARD" in {f.type for f in reply.input_guard.findings}
    assert reply.output_guard is not None and "input_guard" in reply.to_dict()
    # The runtime policy flags an off-topic prompt instead of refusing it: the model still answers.
    off = runtime.chat("Name a fruit.", max_tokens=4)
    assert off.finish_reason in ("stop", "length") and off.usage.output_tokens > 0
    # Per call, per runtime, and per settings (FRUGAL_GUARD=0), the rails switch off.
    assert runtime.chat(card, max_tokens=2, guard=False).input_guard is None
    assert Runtime(profile="laptop-x86", telemetry=False, guard=False).guard is None
    assert Runtime(profile="laptop-x86", telemetry=False, settings=EdgeSettings(guard=False)).guard is None
    # FRUGAL_GUARD_POLICY=default: the shop policy refuses off-topic messages before the model runs.
    strict = Runtime(profile="laptop-x86", telemetry=False, settings=EdgeSettings(guard_policy="default"))
    refused = strict.chat("Write me a poem about the sea and the moon.", max_tokens=4)
    strict.close()
    assert refused.finish_reason == "content_filter" and refused.usage.output_tokens == 0
    assert refused.guard_verdict.action == "block" and "scope" in {f.rail for f in refused.guard_verdict.findings}
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [{rail: nope, action: allow}]")
    with pytest.raises(ConfigError, match="unknown rail"):
        Runtime(profile="laptop-x86", telemetry=False, settings=EdgeSettings(guard_policy=str(bad)))
