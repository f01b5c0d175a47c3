"""OpenVINO IR artifacts, converted from the ONNX export or straight from torch (``torch.export``):
fp32/fp16 weights, or int8 / int4 weights compressed by NNCF.

Both routes give a graph with the same interface (optimum's names: ``input_ids``, ``attention_mask``,
``position_ids``, ``past_key_values.{i}.key/value`` in; ``logits``, ``present.{i}.key/value`` out), so
the OpenVINO backend reuses the KV cache either way. The torch route skips the ONNX detour (no optimum
needed); TorchScript tracing is not used because it fails on HF decoders.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from frugalstack.optimizers.checkpoint import artifacts_dir, ensure_transformers_checkpoint, publish_dir, quick_key
from frugalstack.optimizers.onnx_export import copy_side_files, ensure_onnx
from frugalstack.shared.errors import MissingDependencyError, ModelLoadError

WEIGHTS = ("fp32", "fp16", "int8", "int4")
VIAS = ("onnx", "torch")
IR_NAME = "openvino_model.xml"


def _import_ov() -> Any:
    try:
        import openvino as ov
    except ImportError:
        raise MissingDependencyError("openvino", "openvino", purpose="OpenVINO conversion") from None
    return ov


def torch_export_graph(checkpoint: Path) -> Any:
    """``ov.Model`` from ``torch.export`` of a transformers decoder, KV cache as explicit inputs/outputs."""
    ov = _import_ov()
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.cache_utils import DynamicCache

    model = AutoModelForCausalLM.from_pretrained(str(checkpoint), dtype=torch.float32).eval()
    cfg = model.config
    layers, kv_heads = cfg.num_hidden_layers, cfg.num_key_value_heads or cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads

    class WithCache(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, position_ids: Any, past: list[Any]) -> Any:
            cache = DynamicCache(config=cfg)
            for i, layer in enumerate(cache.layers):  # set, not update(): an empty-cache concat breaks conversion
                layer.dtype, layer.device = past[2 * i].dtype, past[2 * i].device  # type: ignore[attr-defined]
                layer.keys, layer.values, layer.is_initialized = past[2 * i], past[2 * i + 1], True
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                             past_key_values=cache, use_cache=True)
            return (out.logits, *[t for lay in out.past_key_values.layers for t in (lay.keys, lay.values)])

    past_len, n = 2, 3  # sample shapes only; every dimension below is exported dynamic
    # distinct past tensors: one tensor object repeated would be traced as a single aliased input
    past = [torch.zeros(1, kv_heads, past_len, head_dim) for _ in range(2 * layers)]
    sample = (torch.ones((1, n), dtype=torch.long), torch.ones((1, past_len + n), dtype=torch.long),
              torch.arange(past_len, past_len + n)[None], past)
    auto = torch.export.Dim.AUTO
    dims = ({1: auto}, {1: auto}, {1: auto}, [{2: auto}] * (2 * layers))
    with torch.no_grad():
        exported = torch.export.export(WithCache(), sample, dynamic_shapes=dims, strict=False)
    ov_model = ov.convert_model(exported)
    names = ["input_ids", "attention_mask", "position_ids",
             *[f"past_key_values.{i}.{k}" for i in range(layers) for k in ("key", "value")]]
    for port, name in zip(ov_model.inputs, names, strict=True):
        port.get_tensor().set_names({name})
    outs = ["logits", *[f"present.{i}.{k}" for i in range(layers) for k in ("key", "value")]]
    for port, name in zip(ov_model.outputs, outs, strict=True):
        port.get_tensor().set_names({name})
    return ov_model


def convert_to_openvino(src: Path, out: Path, weights: str = "fp16", via: str = "onnx") -> Path:
    """``ov.convert_model`` on the ONNX graph in ``src`` (``via="onnx"``) or on ``torch.export`` of the
    transformers checkpoint in ``src`` (``via="torch"``), then compress the weights."""
    if weights not in WEIGHTS:
        raise ModelLoadError(f"unknown OpenVINO weight format {weights!r}; use one of {', '.join(WEIGHTS)}")
    if via not in VIAS:
        raise ModelLoadError(f"unknown OpenVINO conversion route {via!r}; use one of {', '.join(VIAS)}")
    ov = _import_ov()
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-ov-", dir=out.parent))
    try:
        model = ov.convert_model(str(src / "model.onnx")) if via == "onnx" else torch_export_graph(src)
        if weights in ("int8", "int4"):
            try:
                import nncf

                logging.getLogger("nncf").setLevel(logging.WARNING)
            except ImportError:
                raise MissingDependencyError("nncf", "openvino", purpose=f"{weights} weight compression") from None
            if weights == "int8":
                model = nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)
            else:  # group-wise int4, the embedding and lm head stay int8 (NNCF's default ratio)
                model = nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT4_SYM, group_size=64,
                                              ratio=1.0)
        ov.save_model(model, str(tmp / IR_NAME), compress_to_fp16=(weights == "fp16"))
        copy_side_files(src, tmp)
    except MissingDependencyError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelLoadError(f"OpenVINO conversion of {src} via {via} ({weights}) failed: {exc}") from exc
    return publish_dir(tmp, out)


def ensure_openvino(source: Path, weights: str = "fp16", cache: Path | None = None, via: str = "onnx") -> Path:
    """The IR folder for a GGUF, transformers or ONNX ``source``, converted once and cached."""
    if via == "torch":
        ckpt = ensure_transformers_checkpoint(source, cache)
        stem = ckpt.name.removesuffix("-transformers-fp32")
        out = (cache or artifacts_dir()) / f"{stem}-{quick_key(ckpt)}-openvino-torch-{weights}"
        if not (out / IR_NAME).is_file():
            convert_to_openvino(ckpt, out, weights, via="torch")
        return out
    onnx_dir = source if (source.is_dir() and (source / "model.onnx").is_file()) else ensure_onnx(source, cache=cache)
    root = cache or artifacts_dir()
    out = root / onnx_dir.name.replace("-onnx-fp32", f"-openvino-{weights}")
    if out == onnx_dir:
        out = root / f"{onnx_dir.name}-openvino-{weights}"
    if not (out / IR_NAME).is_file():
        convert_to_openvino(onnx_dir, out, weights)
    return out
