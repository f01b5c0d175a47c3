"""GGUF quantizations of the real embedded SmolLM2 with llama.cpp's quantizer, loaded and scored."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from frugalstack.edge.backends import create_backend
from frugalstack.edge.backends.base import FinishEvent, GenerationRequest
from frugalstack.edge.catalog import get_spec
from frugalstack.edge.gguf import read_gguf
from frugalstack.edge.profiles import RuntimeSettings
from frugalstack.optimizers.evaluate import _gguf_logits, perplexity
from frugalstack.optimizers.gguf_export import quantize_gguf


def test_q8_0_from_the_embedded_q4_1(smollm2_path: Path, tmp_path: Path) -> None:
    out = quantize_gguf(smollm2_path, tmp_path / "model-q8_0.gguf", "q8_0", threads=2)
    assert read_gguf(out).context_length == read_gguf(smollm2_path).context_length
    assert out.stat().st_size > smollm2_path.stat().st_size  # 8-bit holds the 4-bit weights in more bytes
    backend = create_backend("llama_cpp")
    backend.load(out, get_spec("smollm2-135m-instruct-q4_1"), RuntimeSettings(threads=2, context_size=512,
                                                                               memory_budget_mb=1024))
    events = list(backend.generate(GenerationRequest(prompt="The capital of France is", max_tokens=3)))
    assert isinstance(events[-1], FinishEvent) and events[-1].usage.output_tokens == 3
    ids = [504, 3575, 282, 4649, 314, 7042, 30, 378, 3575, 282, 9842, 314, 11101, 30]
    ppl_q8 = perplexity(_gguf_logits(out, ids, 2), ids)
    ppl_q4 = perplexity(_gguf_logits(smollm2_path, ids, 2), ids)
    assert np.isfinite(ppl_q8) and 1 < ppl_q8 < 200
    assert abs(ppl_q8 / ppl_q4 - 1) < 0.02  # q8_0 re-encodes the q4_1 weights almost exactly
    backend.close()
