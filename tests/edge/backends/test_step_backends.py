"""torch, ONNX Runtime and OpenVINO (IR from ONNX and from torch.export) run the same tiny checkpoint and agree."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from frugalstack.edge.backends import create_backend
from frugalstack.edge.backends.base import FinishEvent, GenerationRequest, TokenEvent
from frugalstack.edge.catalog import get_spec
from frugalstack.edge.profiles import RuntimeSettings
from frugalstack.shared.errors import UnsupportedFeature
from frugalstack.shared.schemas import ChatMessage

SPEC = get_spec("smollm2-135m-instruct-q4_1")
PROMPT = GenerationRequest(prompt="Is the blue backpack waterproof?", max_tokens=8, logprobs=True, top_logprobs=3)


def run(backend, request: GenerationRequest) -> tuple[list[TokenEvent], FinishEvent]:
    events = list(backend.generate(request))
    assert isinstance(events[-1], FinishEvent)
    return [e for e in events if isinstance(e, TokenEvent)], events[-1]


@pytest.fixture(scope="module")
def loaded(tiny_llama: Path, cpu_settings_module: RuntimeSettings) -> dict:
    from frugalstack.optimizers.onnx_export import ensure_onnx
    from frugalstack.optimizers.openvino_export import ensure_openvino

    out = {}
    for key, name, path in [
        ("torch", "torch", tiny_llama),
        ("onnx", "onnx", tiny_llama),  # exported on load and cached
        ("onnx-int8", "onnx", ensure_onnx(tiny_llama, "int8")),
        ("openvino", "openvino", ensure_openvino(tiny_llama, "fp32")),
        ("openvino-int4", "openvino", ensure_openvino(tiny_llama, "int4")),
        ("openvino-torch", "openvino", ensure_openvino(tiny_llama, "fp32", via="torch")),
        ("openvino-torch-int8", "openvino", ensure_openvino(tiny_llama, "int8", via="torch")),
    ]:
        backend = create_backend(name)
        backend.load(path, SPEC, cpu_settings_module)
        out[key] = backend
    yield out
    for b in out.values():
        b.close()


@pytest.fixture(scope="module")
def cpu_settings_module() -> RuntimeSettings:
    return RuntimeSettings(threads=1, context_size=512, memory_budget_mb=2048)


def test_fp32_formats_agree_with_torch(loaded: dict) -> None:
    ref, ref_fin = run(loaded["torch"], PROMPT)
    assert ref_fin.usage.output_tokens == 8 and len(ref) >= 8
    ref_ids = [e.token_id for e in ref if e.token_id is not None]
    for key in ("onnx", "openvino", "openvino-torch"):
        got, fin = run(loaded[key], PROMPT)
        assert [e.token_id for e in got if e.token_id is not None] == ref_ids, key
        ref_lp = np.array([e.logprob for e in ref if e.logprob is not None])
        got_lp = np.array([e.logprob for e in got if e.logprob is not None])
        assert np.allclose(ref_lp, got_lp, atol=2e-3), key
        assert fin.usage == ref_fin.usage


def test_quantized_formats_run_and_stay_close(loaded: dict) -> None:
    ref, _ = run(loaded["torch"], PROMPT)
    for key in ("onnx-int8", "openvino-int4", "openvino-torch-int8"):
        got, fin = run(loaded[key], PROMPT)
        assert fin.usage.output_tokens == 8
        assert got[0].token_id == ref[0].token_id, key  # sharp logits: the first greedy token survives
        assert all(e.logprob is not None and e.logprob <= 0 and len(e.top_logprobs) == 3 for e in got if e.token_id)


def test_kv_cache_is_fed_one_token_per_step(loaded: dict) -> None:
    backend = loaded["onnx"]
    seen: list[int] = []
    real = backend._forward
    backend._forward = lambda ids: (seen.append(len(ids)), real(ids))[1]
    try:
        run(backend, GenerationRequest(prompt="one two three four", max_tokens=5))
    finally:
        backend._forward = real
    assert seen[0] > 1 and seen[1:] == [1] * (len(seen) - 1)
    assert backend._state.length == seen[0] + len(seen) - 1


def test_seed_stop_and_chat(loaded: dict) -> None:
    b = loaded["onnx"]
    sampled = GenerationRequest(prompt="Colors:", max_tokens=12, temperature=1.5, seed=7)
    a, _ = run(b, sampled)
    c, _ = run(b, sampled)
    assert [e.token_id for e in a] == [e.token_id for e in c]
    text = "".join(e.text for e in a)
    stop = text[len(text) // 2 : len(text) // 2 + 2]
    if stop.strip():
        cut, fin = run(b, GenerationRequest(prompt="Colors:", max_tokens=12, temperature=1.5, seed=7, stop=[stop]))
        assert stop not in "".join(e.text for e in cut) and fin.reason == "stop"
    _, fin = run(b, GenerationRequest(messages=[ChatMessage(role="user", content="hi")], max_tokens=3))
    assert fin.usage.input_tokens > 5  # the chat template was applied


def test_unsupported_feature_is_refused_not_ignored(loaded: dict) -> None:
    # json_schema is supported now (test_structured_output.py); ignore_eos is still llama.cpp-only
    with pytest.raises(UnsupportedFeature, match="ignore_eos"):
        list(loaded["torch"].generate(GenerationRequest(prompt="x", ignore_eos=True)))


def test_openvino_falls_back_to_cpu_with_warning(tiny_llama: Path, caplog: pytest.LogCaptureFixture) -> None:
    from frugalstack.optimizers.openvino_export import ensure_openvino

    settings = RuntimeSettings(threads=1, context_size=256, memory_budget_mb=1024, device="NPU")
    backend = create_backend("openvino")
    with caplog.at_level(logging.WARNING, logger="frugalstack.edge.backends.openvino"):
        backend.load(ensure_openvino(tiny_llama, "fp32"), SPEC, settings)
    assert backend.device == "CPU"
    assert any("NPU is not available" in r.message for r in caplog.records)
    backend.close()


def test_truncate_keeps_system_and_newest_turn(loaded: dict) -> None:
    backend = loaded["torch"]
    turns = [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="old " * 400),
             ChatMessage(role="assistant", content="ok"), ChatMessage(role="user", content="What is 2+2?")]
    request = GenerationRequest(messages=turns, max_tokens=4)
    assert backend.count_prompt_tokens(request) > 300
    cut = backend.truncate(request, 100)
    assert cut.messages is not None and cut.messages[0].content == "Be brief."
    assert cut.messages[-1].content == "What is 2+2?" and backend.count_prompt_tokens(cut) <= 100
    long_last = GenerationRequest(messages=[ChatMessage(role="user", content="word " * 500 + "END")], max_tokens=4)
    cut = backend.truncate(long_last, 60)
    assert cut.messages is not None and cut.messages[-1].content.endswith("END")
    assert backend.count_prompt_tokens(cut) <= 60
    text = backend.truncate(GenerationRequest(prompt="a " * 300 + "tail", max_tokens=4), 20)
    assert text.prompt is not None and text.prompt.endswith("tail")
