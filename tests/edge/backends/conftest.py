"""A tiny random-weight Llama with SmolLM2's real tokenizer: exports in seconds, so every format is tested.

Full SmolLM2 conversions (15-60 s each) run in ``benchmarks/bench_backends.py`` instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from frugalstack.edge.profiles import RuntimeSettings


def build_tiny_llama(out: Path, gguf: Path, layers: int = 2) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    cfg = LlamaConfig(
        vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():  # sharper random logits, so greedy choices are not near-ties between formats
        model.lm_head.weight.mul_(8.0)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), smollm2_path)


@pytest.fixture
def cpu_settings() -> RuntimeSettings:
    return RuntimeSettings(threads=1, context_size=512, memory_budget_mb=2048)
