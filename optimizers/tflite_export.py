"""``.tflite`` artifacts: litert-torch (the general converter, a heavy optional extra) or the built-in writer.

litert-torch brings ~760 MB (jax, jaxlib) and pins typing_extensions<4.13, so it lives in its own
extra, ``frugalstack[litert-convert]``. Without it, fp32 ``.tflite`` files of Llama-style checkpoints
(SmolLM2) are written by ``frugalstack.optimizers.tflite_writer`` from the schema in ``ai-edge-litert``;
int8 and other architectures then raise ``MissingDependencyError`` naming the extra, and ``frugal
optimize`` reports them as skipped. Running a ``.tflite`` only needs ``ai-edge-litert`` (``litert``).

Both routes export a graph mapping token ids ``[1, seq_len]`` to logits (no KV cache, fixed length), the
layout the LiteRT backend's single-signature path reads. The litert-torch route was run on SmolLM2-135M
(int8 and fp32) in a separate venv with the ``litert-convert`` extra (docs/optimize.md, "LiteRT"); in the
project venv it is not installed and its test skips naming the extra.
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


def int8_recipe() -> Any:
    """Dynamic-range int8 (int8 channel-wise weights, activations quantised at run time) for any graph.

    litert-torch 0.10 calls it ``full_dynamic_recipe`` (int8 is its default weight dtype); the
    ``full_int8_dynamic_recipe`` name of older ai-edge-torch releases no longer exists. Its default
    layer recipe matches every op by regex, so it is not limited to Edge Generative API models.
    """
    from litert_torch.generative.quantize import quant_recipes

    recipe = getattr(quant_recipes, "full_dynamic_recipe", None) or quant_recipes.full_int8_dynamic_recipe
    return recipe()


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
            kwargs["quant_config"] = int8_recipe()
        edge_model = litert_torch.convert(LogitsOnly(model).eval(), sample, **kwargs)
        edge_model.export(str(tmp / "model.tflite"))
        copy_side_files(checkpoint, tmp)
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelLoadError(f"tflite conversion of {checkpoint} failed: {exc}") from exc
    return publish_dir(tmp, out)


def has_litert_torch() -> bool:
    try:
        import_litert_torch()
    except MissingDependencyError:
        return False
    return True


def build_tflite(checkpoint: Path, out: Path, quantization: str) -> Path:
    """litert-torch when installed; else the built-in writer (fp32 only), else a clear missing-extra error."""
    if has_litert_torch():
        return convert_to_tflite(checkpoint, out, quantization)
    if quantization != "fp32":
        import_litert_torch()  # raises MissingDependencyError naming the litert-convert extra
    from frugalstack.optimizers.tflite_writer import write_tflite

    return write_tflite(checkpoint, out)


def ensure_tflite(source: Path, quantization: str = "fp32", cache: Path | None = None) -> Path:
    if quantization != "fp32":
        import_litert_torch()  # fail fast, before the checkpoint is made
    ckpt = ensure_transformers_checkpoint(source, cache)
    stem = ckpt.name.removesuffix("-transformers-fp32")
    out = (cache or artifacts_dir()) / f"{stem}-{quick_key(ckpt)}-tflite-{quantization}"
    if not (out / "model.tflite").is_file():
        build_tflite(ckpt, out, quantization)
    return out
