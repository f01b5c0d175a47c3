"""GGUF artifacts made by llama.cpp's own quantizer (``llama_cpp.llama_model_quantize``).

The source is a GGUF: the embedded SmolLM2 Q4_1 (re-quantization allowed). Its f16 and q8_0 outputs hold
exactly the Q4_1 weights (up-casts; the same weights the fp32 reference was dequantised from), and
q4_k_m is a real re-quantization. Writing an f16 GGUF from a transformers folder (the ``gguf`` package
plus llama.cpp's tensor-name mapping) is not implemented: such sources report the GGUF formats as skipped.
"""

from __future__ import annotations

import ctypes
import shutil
from pathlib import Path

from frugalstack.shared.errors import MissingDependencyError, ModelLoadError

QUANTS = {
    "q4_1": None,  # the embedded source, copied as is
    "f16": "LLAMA_FTYPE_MOSTLY_F16",
    "q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0",
    "q4_k_m": "LLAMA_FTYPE_MOSTLY_Q4_K_M",
    "q4_0": "LLAMA_FTYPE_MOSTLY_Q4_0",
    "q5_k_m": "LLAMA_FTYPE_MOSTLY_Q5_K_M",
    "q6_k": "LLAMA_FTYPE_MOSTLY_Q6_K",
    "bf16": "LLAMA_FTYPE_MOSTLY_BF16",
    "f32": "LLAMA_FTYPE_ALL_F32",
}


def quantize_gguf(source: Path, out_file: Path, quant: str, threads: int = 2) -> Path:
    """Write ``out_file`` from the GGUF ``source`` in ``quant`` (one of ``QUANTS``)."""
    if quant not in QUANTS:
        raise ModelLoadError(f"unknown GGUF quantization {quant!r}; use one of {', '.join(QUANTS)}")
    if source.suffix != ".gguf" or not source.is_file():
        raise ModelLoadError(f"GGUF quantization needs a .gguf source, got {source}")
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_name(out_file.name + ".tmp")
    ftype = QUANTS[quant]
    if ftype is None:
        shutil.copyfile(source, tmp)
    else:
        try:
            import llama_cpp

            from frugalstack.edge.backends.llama_cpp import _quiet_stderr
        except ImportError:
            raise MissingDependencyError("llama-cpp-python", "edge", purpose="GGUF quantization") from None
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = getattr(llama_cpp, ftype)
        params.allow_requantize = True
        params.nthread = threads
        with _quiet_stderr():
            rc = llama_cpp.llama_model_quantize(str(source).encode(), str(tmp).encode(), ctypes.byref(params))
        if rc != 0:
            tmp.unlink(missing_ok=True)
            raise ModelLoadError(f"llama_model_quantize({quant}) failed with code {rc}")
    tmp.replace(out_file)
    return out_file
