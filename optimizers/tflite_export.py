"""``.tflite`` artifacts via litert-torch (the TensorFlow-free converter, a heavy optional extra).

litert-torch brings ~760 MB (jax, jaxlib) and pins typing_extensions<4.13, so it lives in its own
extra, ``frugalstack[litert-convert]``; without it conversion raises ``MissingDependencyError`` and
``frugal optimize`` reports the tflite formats as skipped. Running a ``.tflite`` only needs
``ai-edge-litert`` (the ``litert`` extra).

The exported graph maps token ids ``[1, seq_len]`` to logits (no KV cache, fixed length), the layout
the LiteRT backend's single-signature path reads. Not exercised on this machine: litert-torch is not
installed here.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from frugalstack.optimizers.checkpoint import artifacts_dir, ensure_transformers_checkpoint, publish_dir, quick_key
from frugalstack.optimizers.onnx_export import copy_side_files
from frugalstack.shared.errors import MissingDependencyError, ModelLoadError

SEQ_LEN = 256


def import_litert_torch() -> Any:
    try:
        import litert_torch
    except ImportError:
        raise MissingDependencyError(
            "litert-torch", "litert-convert", purpose="converting a model to .tflite",
            hint="install it with: pip install 'frugalstack[litert-convert]' (about 760 MB: jax, jaxlib)",
        ) from None
    return litert_torch


def convert_to_tflite(checkpoint: Path, out: Path, quantization: str = "int8", seq_len: int = SEQ_LEN) -> Path:
    litert_torch = import_litert_torch()
    import torch
    from transformers import AutoModelForCausalLM

    class LogitsOnly(torch.nn.Module):
        def __init__(self, model: Any):
            super().__init__()
            self.model = model

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=tokens, use_cache=False).logits

    model = AutoModelForCausalLM.from_pretrained(str(checkpoint), dtype=torch.float32).eval()
    sample = (torch.zeros((1, seq_len), dtype=torch.long),)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-tflite-", dir=out.parent))
    try:
        kwargs: dict[str, Any] = {}
        if quantization == "int8":
            from litert_torch.generative.quantize import quant_recipes

            kwargs["quant_config"] = quant_recipes.full_int8_dynamic_recipe()
        edge_model = litert_torch.convert(LogitsOnly(model), sample, **kwargs)
        edge_model.export(str(tmp / "model.tflite"))
        copy_side_files(checkpoint, tmp)
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelLoadError(f"tflite conversion of {checkpoint} failed: {exc}") from exc
    return publish_dir(tmp, out)


def ensure_tflite(source: Path, quantization: str = "int8", cache: Path | None = None) -> Path:
    import_litert_torch()  # fail fast, before the checkpoint is made
    ckpt = ensure_transformers_checkpoint(source, cache)
    stem = ckpt.name.removesuffix("-transformers-fp32")
    out = (cache or artifacts_dir()) / f"{stem}-{quick_key(ckpt)}-tflite-{quantization}"
    if not (out / "model.tflite").is_file():
        convert_to_tflite(ckpt, out, quantization)
    return out
