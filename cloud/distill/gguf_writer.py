"""Write a llama.cpp GGUF (f16) from a distilled transformers Llama student.

``optimizers.gguf_export.quantize_gguf`` re-quantizes GGUFs but cannot start from a transformers folder,
and a distilled student only exists as one. Students share SmolLM2's tokenizer and architecture (only the
layer count may differ), so the tokenizer and hyper-parameter metadata are copied from the embedded SmolLM2
GGUF and the tensors mapped with llama.cpp's names (q/k rows permuted the way convert_hf_to_gguf does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from frugalstack.shared.errors import MissingDependencyError, ModelLoadError

_LAYER = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}


def _permute(w: Any, n_head: int) -> Any:
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _field_value(field: Any) -> Any:
    import gguf

    types = field.types
    if types[0] == gguf.GGUFValueType.STRING:
        return bytes(field.parts[field.data[0]]).decode("utf-8")
    if types[0] == gguf.GGUFValueType.ARRAY:
        if types[1] == gguf.GGUFValueType.STRING:
            return [bytes(field.parts[i]).decode("utf-8", errors="replace") for i in field.data]
        return [field.parts[i].tolist()[0] for i in field.data]
    return field.parts[field.data[0]].tolist()[0]


def write_gguf(model_dir: Path, template_gguf: Path, out_file: Path) -> Path:
    """An f16 GGUF of the transformers Llama in ``model_dir`` with ``template_gguf``'s tokenizer metadata."""
    try:
        import gguf
        import numpy as np
        from safetensors.numpy import load_file
    except ImportError:
        raise MissingDependencyError("gguf", "safetensors", purpose="GGUF export of a student") from None
    import json

    cfg = json.loads((model_dir / "config.json").read_text())
    if cfg.get("model_type") != "llama":
        raise ModelLoadError(f"GGUF export handles Llama students, not {cfg.get('model_type')!r}")
    tensors = load_file(str(model_dir / "model.safetensors"))
    reader = gguf.GGUFReader(str(template_gguf))
    arch = "llama"
    n_head, n_kv = int(cfg["num_attention_heads"]), int(cfg["num_key_value_heads"])
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_name(out_file.name + ".tmp")
    writer = gguf.GGUFWriter(str(tmp), arch)
    skip = {"general.architecture", "general.file_type", "general.quantization_version", f"{arch}.block_count",
            "GGUF.version", "GGUF.tensor_count", "GGUF.kv_count"}
    for name, field in reader.fields.items():
        if name in skip or name.startswith((f"{arch}.", "general.")):
            continue  # the architecture's numbers come from the student's own config below
        sub = field.types[1] if len(field.types) > 1 else None
        writer.add_key_value(name, _field_value(field), field.types[0], sub_type=sub)
    writer.add_name("frugalstack distilled student")
    writer.add_block_count(int(cfg["num_hidden_layers"]))
    writer.add_context_length(int(cfg.get("max_position_embeddings", 2048)))
    writer.add_embedding_length(int(cfg["hidden_size"]))
    writer.add_feed_forward_length(int(cfg["intermediate_size"]))
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_freq_base(float(cfg.get("rope_theta", 10000.0)))
    writer.add_layer_norm_rms_eps(float(cfg.get("rms_norm_eps", 1e-5)))
    writer.add_rope_dimension_count(int(cfg["hidden_size"]) // n_head)
    writer.add_vocab_size(int(cfg["vocab_size"]))
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    for key, arr in tensors.items():
        arr = arr.astype(np.float32)
        if key == "model.embed_tokens.weight":
            name = "token_embd.weight"
        elif key == "model.norm.weight":
            name = "output_norm.weight"
        elif key == "lm_head.weight":
            if cfg.get("tie_word_embeddings", True):
                continue
            name = "output.weight"
        elif key.startswith("model.layers."):
            _, _, idx, rest = key.split(".", 3)
            if rest not in _LAYER:
                raise ModelLoadError(f"unexpected tensor {key} in the student")
            name = f"blk.{idx}.{_LAYER[rest]}"
            if rest.startswith("self_attn.q_proj"):
                arr = _permute(arr, n_head)
            elif rest.startswith("self_attn.k_proj"):
                arr = _permute(arr, n_kv)
        else:
            continue  # rotary caches and the like are recomputed by llama.cpp
        writer.add_tensor(name, arr if arr.ndim == 1 else arr.astype(np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(out_file)
    return out_file
