"""A tiny random-weight Llama with a real tokenizer: the whole optimize pipeline in seconds.

Exports of the full SmolLM2 take minutes on two cores; this checkpoint has the same architecture,
vocabulary and chat template (tokenizer taken from the embedded GGUF), so every converter and backend
runs the same code paths on it. Its perplexity means nothing; agreement between formats does.
"""

from __future__ import annotations

from pathlib import Path

from frugalstack.shared.errors import MissingDependencyError


def build_tiny_llama(out: Path, tokenizer_gguf: Path, layers: int = 2, seed: int = 0) -> Path:
    """Save a 2-layer, 64-wide LlamaForCausalLM plus the GGUF's tokenizer to ``out`` (reused if there)."""
    if (out / "config.json").is_file() and (out / "tokenizer.json").is_file():
        return out
    try:
        import torch
        from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
    except ImportError:
        raise MissingDependencyError("transformers", "torch", purpose="building the tiny test model") from None
    tok = AutoTokenizer.from_pretrained(str(tokenizer_gguf.parent), gguf_file=tokenizer_gguf.name)
    cfg = LlamaConfig(
        vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():  # sharper random logits, so greedy choices are not near-ties between formats
        model.lm_head.weight.mul_(8.0)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
