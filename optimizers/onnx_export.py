"""ONNX artifacts: optimum export with the KV cache as inputs (fp32), and dynamic int8 quantization."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from frugalstack.optimizers.checkpoint import (
    artifacts_dir,
    ensure_transformers_checkpoint,
    publish_dir,
    quick_key,
)
from frugalstack.shared.errors import MissingDependencyError, ModelLoadError

SIDE_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
              "special_tokens_map.json", "chat_template.jinja")


def copy_side_files(src: Path, dst: Path) -> None:
    """Tokenizer and config travel with every artifact, so each folder loads on its own."""
    for name in SIDE_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, dst / name)


def export_onnx(checkpoint: Path, out: Path) -> Path:
    """Export a transformers folder to ``out/model.onnx`` (task text-generation-with-past)."""
    try:
        from optimum.exporters.onnx import main_export
    except ImportError:
        raise MissingDependencyError("optimum-onnx", "onnx", purpose="ONNX export") from None
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-onnx-", dir=out.parent))
    try:
        main_export(str(checkpoint), output=str(tmp), task="text-generation-with-past", device="cpu")
        copy_side_files(checkpoint, tmp)
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelLoadError(f"ONNX export of {checkpoint} failed: {exc}") from exc
    return publish_dir(tmp, out)


def quantize_int8(onnx_dir: Path, out: Path) -> Path:
    """Dynamic int8 with onnxruntime's quantizer: per-channel int8 weights, activations quantized at run time."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        raise MissingDependencyError("onnxruntime", "onnx", purpose="int8 quantization") from None
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-onnx8-", dir=out.parent))
    try:
        quantize_dynamic(str(onnx_dir / "model.onnx"), str(tmp / "model.onnx"), weight_type=QuantType.QInt8,
                         per_channel=True)
        copy_side_files(onnx_dir, tmp)
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelLoadError(f"int8 quantization of {onnx_dir} failed: {exc}") from exc
    return publish_dir(tmp, out)


def ensure_onnx(source: Path, quantization: str = "fp32", cache: Path | None = None) -> Path:
    """The ONNX folder for a GGUF or transformers ``source``, exported once and cached."""
    ckpt = ensure_transformers_checkpoint(source, cache)
    root = cache or artifacts_dir()
    fp32 = root / f"{ckpt.name.removesuffix('-transformers-fp32')}-{quick_key(ckpt)}-onnx-fp32"
    if not (fp32 / "model.onnx").is_file():
        export_onnx(ckpt, fp32)
    if quantization == "fp32":
        return fp32
    if quantization != "int8":
        raise ModelLoadError(f"unknown ONNX quantization {quantization!r}; use fp32 or int8")
    int8 = fp32.with_name(fp32.name.replace("-onnx-fp32", "-onnx-int8"))
    if not (int8 / "model.onnx").is_file():
        quantize_int8(fp32, int8)
    return int8
