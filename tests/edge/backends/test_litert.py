"""LiteRT backend on a real ``.tflite``: the tiny checkpoint written by the built-in writer, run by ai-edge-litert,
agrees with the torch reference token by token. The litert-torch route skips here naming its extra."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from frugalstack.edge.backends import create_backend
from frugalstack.edge.backends.base import FinishEvent, GenerationRequest, TokenEvent
from frugalstack.edge.catalog import get_spec
from frugalstack.edge.profiles import RuntimeSettings
from frugalstack.shared.errors import MissingDependencyError, ModelLoadError

pytest.importorskip("ai_edge_litert", reason="ai-edge-litert is not installed (frugalstack[litert])")

SPEC = get_spec("smollm2-135m-instruct-q4_1")
SETTINGS = RuntimeSettings(threads=1, context_size=512, memory_budget_mb=2048)
WINDOW = 48


def tokens(backend, request: GenerationRequest) -> tuple[list[TokenEvent], FinishEvent]:
    events = list(backend.generate(request))
    assert isinstance(events[-1], FinishEvent)
    return [e for e in events if isinstance(e, TokenEvent) and e.token_id is not None], events[-1]


@pytest.fixture(scope="module")
def tflite_dir(tiny_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from frugalstack.optimizers.tflite_writer import write_tflite

    return write_tflite(tiny_llama, tmp_path_factory.mktemp("tfl") / "tiny-tflite", seq_len=WINDOW)


@pytest.fixture(scope="module")
def backends(tflite_dir: Path, tiny_llama: Path) -> dict:
    out = {"litert": create_backend("litert"), "torch": create_backend("torch")}
    out["litert"].load(tflite_dir, SPEC, SETTINGS)
    out["torch"].load(tiny_llama, SPEC, SETTINGS)
    yield out
    for b in out.values():
        b.close()


def test_written_file_is_a_tflite_with_one_signature(tflite_dir: Path) -> None:
    from ai_edge_litert.interpreter import Interpreter

    data = (tflite_dir / "model.tflite").read_bytes()
    assert data[4:8] == b"TFL3"
    sigs = Interpreter(model_path=str(tflite_dir / "model.tflite")).get_signature_list()
    assert sigs == {"serving_default": {"inputs": ["tokens"], "outputs": ["logits"]}}
    assert (tflite_dir / "tokenizer.json").is_file()


def test_litert_generates_what_torch_generates(backends: dict) -> None:
    req = GenerationRequest(prompt="Is the blue backpack waterproof?", max_tokens=8, logprobs=True, top_logprobs=2)
    ref, ref_fin = tokens(backends["torch"], req)
    got, fin = tokens(backends["litert"], req)
    assert [e.token_id for e in got] == [e.token_id for e in ref] and len(got) == 8
    assert np.allclose([e.logprob for e in got], [e.logprob for e in ref], atol=1e-3)
    assert fin.usage == ref_fin.usage and backends["litert"].context_size == WINDOW


def test_score_slides_past_the_window(backends: dict) -> None:
    ids = list(range(100, 100 + WINDOW + 30))
    lite = backends["litert"].score(ids)
    ref = backends["torch"].score(ids)
    assert lite.shape == ref.shape
    assert np.allclose(lite[:WINDOW], ref[:WINDOW], atol=1e-3)  # inside the window: the same logits
    assert (lite[WINDOW:].argmax(1) == ref[WINDOW:].argmax(1)).mean() > 0.5  # beyond: less context, close


def test_a_prompt_over_the_window_is_a_clear_error_not_a_crash(backends: dict) -> None:
    from frugalstack.shared.errors import ValidationError

    with pytest.raises(ValidationError, match="whole context"):  # the Runtime truncates before this point
        list(backends["litert"].generate(GenerationRequest(prompt="word " * 200, max_tokens=4)))
    got, _ = tokens(backends["litert"], GenerationRequest(prompt="word " * 40, max_tokens=20))
    assert 1 <= len(got) <= WINDOW - 40  # generation stops at the window's end


def test_unsupported_architecture_is_refused(tiny_llama: Path, tmp_path: Path) -> None:
    import json
    import shutil

    from frugalstack.optimizers.tflite_writer import write_tflite

    bad = tmp_path / "biased"
    shutil.copytree(tiny_llama, bad)
    cfg = json.loads((bad / "config.json").read_text())
    (bad / "config.json").write_text(json.dumps({**cfg, "hidden_act": "gelu"}))
    with pytest.raises(ModelLoadError, match="silu"):
        write_tflite(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_int8_without_litert_torch_names_the_extra(tiny_llama: Path) -> None:
    from frugalstack.optimizers.tflite_export import ensure_tflite, has_litert_torch

    if has_litert_torch():
        pytest.skip("litert-torch is installed; the missing-extra error cannot happen")
    with pytest.raises(MissingDependencyError, match="litert-convert"):
        ensure_tflite(tiny_llama, "int8")


def test_litert_torch_conversion(tiny_llama: Path, tmp_path: Path) -> None:
    pytest.importorskip("litert_torch", reason="litert-torch not installed: pip install 'frugalstack[litert-convert]'")
    from frugalstack.optimizers.tflite_export import convert_to_tflite

    out = convert_to_tflite(tiny_llama, tmp_path / "lt", "fp32", seq_len=WINDOW)
    backend = create_backend("litert")
    backend.load(out, SPEC, SETTINGS)
    got, _ = tokens(backend, GenerationRequest(prompt="hello", max_tokens=3))
    assert len(got) == 3
    backend.close()
