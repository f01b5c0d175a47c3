"""Put a merged LoRA back into the GGUF the devices run, for the next manifest.

The source GGUF (the embedded SmolLM2 Q4_1) is copied tensor by tensor with the ``gguf`` package; each
adapted projection (``v_proj`` -> ``blk.N.attn_v.weight``, ``o_proj`` -> ``blk.N.attn_output.weight``,
both stored unpermuted by llama.cpp) is replaced by its merged fp32 weight. llama.cpp's own quantizer
(``optimizers.gguf_export.quantize_gguf``) then writes the shipped format (q8_0 by default: a LoRA delta is
far smaller than a 4-bit step, so re-quantizing to q4 would erase most of it — measured in docs/federated.md).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from frugalstack.shared.errors import MissingDependencyError, ModelLoadError

_HF = re.compile(r"^model\.layers\.(\d+)\.self_attn\.(v_proj|o_proj)$")
_GGUF = {"v_proj": "attn_v", "o_proj": "attn_output"}


def gguf_name(hf_name: str) -> str:
    m = _HF.match(hf_name)
    if not m:
        raise ModelLoadError(f"no GGUF tensor for {hf_name}", hint="only v_proj/o_proj adapters are exported")
    return f"blk.{m.group(1)}.{_GGUF[m.group(2)]}.weight"


def write_merged_gguf(source: Path, merged: dict[str, np.ndarray], out_file: Path) -> Path:
    """``source`` with the ``merged`` projections (HF names, (out, in) arrays) replaced in fp32."""
    try:
        import gguf
    except ImportError:
        raise MissingDependencyError("gguf", "torch", purpose="writing the merged GGUF") from None
    reader = gguf.GGUFReader(str(source))
    repl = {gguf_name(k): np.ascontiguousarray(v, np.float32) for k, v in merged.items()}
    names = {t.name for t in reader.tensors}
    if missing := sorted(set(repl) - names):
        raise ModelLoadError(f"{source} has no tensors {missing[:3]}")
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    tmp = out_file.with_name(out_file.name + ".tmp")
    writer = gguf.GGUFWriter(str(tmp), arch=arch, endianess=reader.endianess)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        sub = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), field.types[0], sub_type=sub)
    for t in reader.tensors:
        if t.name in repl:
            a = repl[t.name]
            if tuple(a.shape) != tuple(int(x) for x in reversed(t.shape)):
                raise ModelLoadError(f"merged {t.name} has shape {a.shape}, the GGUF {tuple(reversed(t.shape))}")
            writer.add_tensor_info(t.name, a.shape, a.dtype, a.nbytes, gguf.GGMLQuantizationType.F32)
        else:
            writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for t in reader.tensors:
        writer.write_tensor_data(repl.get(t.name, t.data), tensor_endianess=reader.endianess)
    writer.close()
    tmp.replace(out_file)
    return out_file


def export_merged(
    source: Path, merged: dict[str, np.ndarray], out_file: Path, quant: str = "q8_0", threads: int = 1
) -> Path:
    """Merged GGUF in ``quant`` (via llama.cpp's quantizer); the fp32-patched intermediate is removed."""
    from frugalstack.optimizers.gguf_export import quantize_gguf

    out_file.parent.mkdir(parents=True, exist_ok=True)
    patched = write_merged_gguf(source, merged, out_file.with_name(out_file.stem + ".patched-f32.gguf"))
    try:
        if quant == "f32-patched":
            return patched.replace(out_file)
        return quantize_gguf(patched, out_file, quant, threads=threads)
    finally:
        patched.unlink(missing_ok=True)
