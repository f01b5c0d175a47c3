"""Federated LoRA of the real SmolLM2 (transformers form): adapter-only int8 updates, merged back into a GGUF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("peft")


@pytest.mark.slow
@pytest.mark.timeout(900)  # ~60 s on an idle 2-core machine; minutes when it is shared
def test_one_tiny_lora_round_sends_only_the_adapter_and_exports_a_gguf(tmp_path: Path, smollm2_path: Path) -> None:
    from frugalstack.cloud.fl.lora import LoraFLConfig, run_lora_federated

    cfg = LoraFLConfig(clients=2, rounds=1, local_steps=2, texts_per_client=6, held_out=6, max_len=32, lr=3e-3)
    r = run_lora_federated(cfg, export_to=tmp_path / "merged.gguf", keep_messages=True)
    assert r["participants_per_round"] == [2]
    assert r["federated"]["perplexity"] < r["before"]["perplexity"]  # the adapter learned something
    assert {"perplexity"} <= set(r["centralized"]) and r["local_only"]["devices"] == 2
    # only LoRA A/B matrices, int8 with a scale, leave a device; nothing else (no text, no base weights)
    for reply in r["_grid"].received:
        for rec in reply.content.array_records.values():
            for name, arr in rec.items():
                assert "lora_" in name, name
                assert arr.dtype in ("int8", "float32") and (arr.dtype == "int8") != name.endswith(".scale")
        for rec in reply.content.metric_records.values():
            assert all(isinstance(v, int | float) for v in rec.values())
    c = r["communication"]
    assert c["bytes_up_per_client_round_median"] < c["bytes_down_per_client_round"] / 3
    # the merged model is a GGUF llama.cpp loads, and it carries the adapter
    from llama_cpp import Llama

    from frugalstack.cloud.fl.lora_export import gguf_name

    out = Path(r["exported_gguf"]["path"])
    merged = r["_trainer"].merged_weights()
    assert gguf_name("model.layers.3.self_attn.o_proj") == "blk.3.attn_output.weight" and len(merged) == 60
    llm = Llama(str(out), n_ctx=64, n_threads=1, verbose=False, logits_all=True)
    base = Llama(str(smollm2_path), n_ctx=64, n_threads=1, verbose=False, logits_all=True)
    toks = llm.tokenize(b"Question: Is the Orbit Arbor Lite Smartphone waterproof?\nAnswer:")
    llm.eval(toks)
    base.eval(toks)
    assert not np.allclose(np.asarray(llm.scores[len(toks) - 1]), np.asarray(base.scores[len(toks) - 1]), atol=1e-3)
