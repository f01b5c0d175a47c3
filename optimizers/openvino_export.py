"""OpenVINO IR artifacts from the ONNX export: fp16 weights, or int8 / int4 weights compressed by NNCF."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from frugalstack.optimizers.checkpoint import artifacts_dir, publish_dir
from frugalstack.optimizers.onnx_export import copy_side_files, ensure_onnx
from frugalstack.shared.errors import MissingDependencyError, ModelLoadError

WEIGHTS = ("fp32", "fp16", "int8", "int4")
IR_NAME = "openvino_model.xml"


def convert_to_openvino(onnx_dir: Path, out: Path, weights: str = "fp16") -> Path:
    """``ov.convert_model`` on the ONNX graph (KV cache stays explicit), then compress the weights."""
    if weights not in WEIGHTS:
        raise ModelLoadError(f"unknown OpenVINO weight format {weights!r}; use one of {', '.join(WEIGHTS)}")
    try:
        import openvino as ov
    except ImportError:
        raise MissingDependencyError("openvino", "openvino", purpose="OpenVINO conversion") from None
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-ov-", dir=out.parent))
    try:
        model = ov.convert_model(str(onnx_dir / "model.onnx"))
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
        copy_side_files(onnx_dir, tmp)
    except MissingDependencyError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelLoadError(f"OpenVINO conversion of {onnx_dir} ({weights}) failed: {exc}") from exc
    return publish_dir(tmp, out)


def ensure_openvino(source: Path, weights: str = "fp16", cache: Path | None = None) -> Path:
    """The IR folder for a GGUF, transformers or ONNX ``source``, converted once and cached."""
    onnx_dir = source if (source.is_dir() and (source / "model.onnx").is_file()) else ensure_onnx(source, cache=cache)
    root = cache or artifacts_dir()
    out = root / onnx_dir.name.replace("-onnx-fp32", f"-openvino-{weights}")
    if out == onnx_dir:
        out = root / f"{onnx_dir.name}-openvino-{weights}"
    if not (out / IR_NAME).is_file():
        convert_to_openvino(onnx_dir, out, weights)
    return out
