"""A GGUF header reader that validates a file before llama.cpp ever sees it.

llama.cpp can abort the whole process on some malformed files; reading the header, metadata and
tensor table here first turns those into a clean ``ModelLoadError``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from frugalstack.shared.errors import ModelLoadError

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
MAX_KV = 100_000
MAX_TENSORS = 1_000_000
MAX_STRING = 64 * 1024 * 1024
MAX_ARRAY = 10_000_000
MAX_DIMS = 8

# ggml type id -> (elements per block, bytes per block); unknown types skip the size check.
GGML_BLOCK: dict[int, tuple[int, int]] = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 40),
    10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
    16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18), 21: (256, 110),
    22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8),
    29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66), 39: (32, 17), 40: (64, 36), 41: (128, 18),
}

# GGUF metadata value types: id -> struct format (scalars); 8 = string, 9 = array.
_SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


@dataclass
class GGUFTensor:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def n_bytes(self) -> int | None:
        block = GGML_BLOCK.get(self.ggml_type)
        if block is None:
            return None
        per, size = block
        return (self.n_elements + per - 1) // per * size


@dataclass
class GGUFInfo:
    path: Path
    version: int
    metadata: dict[str, Any] = field(default_factory=dict)
    tensors: list[GGUFTensor] = field(default_factory=list)
    data_offset: int = 0
    file_size: int = 0

    @property
    def architecture(self) -> str | None:
        arch = self.metadata.get("general.architecture")
        return arch if isinstance(arch, str) else None

    @property
    def context_length(self) -> int | None:
        arch = self.architecture
        value = self.metadata.get(f"{arch}.context_length") if arch else None
        return int(value) if isinstance(value, int) else None

    @property
    def has_chat_template(self) -> bool:
        return isinstance(self.metadata.get("tokenizer.chat_template"), str)


class _Reader:
    def __init__(self, fh: BinaryIO, size: int, path: Path):
        self.fh, self.size, self.path = fh, size, path

    def fail(self, why: str) -> ModelLoadError:
        return ModelLoadError(f"{self.path} is not a valid GGUF file: {why}")

    def read(self, n: int) -> bytes:
        if n < 0 or self.fh.tell() + n > self.size:
            raise self.fail("truncated header")
        data = self.fh.read(n)
        if len(data) != n:
            raise self.fail("truncated header")
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack("<" + fmt, self.read(struct.calcsize("<" + fmt)))[0]

    def string(self) -> str:
        n = self.unpack("Q")
        if n > MAX_STRING:
            raise self.fail(f"string of {n} bytes")
        return self.read(n).decode("utf-8", errors="replace")

    def value(self, vtype: int, depth: int = 0) -> Any:
        if vtype in _SCALAR:
            return self.unpack(_SCALAR[vtype])
        if vtype == 8:
            return self.string()
        if vtype == 9:
            if depth > 2:
                raise self.fail("nested arrays too deep")
            item_type = self.unpack("I")
            n = self.unpack("Q")
            if n > MAX_ARRAY:
                raise self.fail(f"array of {n} items")
            if item_type in _SCALAR:  # skip fixed-size arrays in one read, keep only the length
                self.read(n * struct.calcsize(_SCALAR[item_type]))
                return _ArrayInfo(item_type, n)
            return [self.value(item_type, depth + 1) for _ in range(n)]
        raise self.fail(f"unknown metadata value type {vtype}")


@dataclass(frozen=True)
class _ArrayInfo:
    """A numeric array's type and length (its values are not kept in memory)."""

    item_type: int
    length: int


def read_gguf(path: str | Path) -> GGUFInfo:
    """Read and validate a GGUF file's header, metadata and tensor table."""
    p = Path(path)
    if not p.exists():
        raise ModelLoadError(f"model file {p} does not exist")
    if not p.is_file():
        raise ModelLoadError(f"model path {p} is not a file")
    size = p.stat().st_size
    try:
        with p.open("rb") as fh:
            r = _Reader(fh, size, p)
            if size < 24 or fh.read(4) != GGUF_MAGIC:
                raise r.fail("missing GGUF magic bytes (is it a GGUF model?)")
            version = r.unpack("I")
            if version not in SUPPORTED_VERSIONS:
                raise r.fail(f"unsupported GGUF version {version}")
            n_tensors, n_kv = r.unpack("Q"), r.unpack("Q")
            if n_tensors > MAX_TENSORS or n_kv > MAX_KV:
                raise r.fail(f"implausible counts ({n_tensors} tensors, {n_kv} metadata keys)")
            info = GGUFInfo(path=p, version=version, file_size=size)
            for _ in range(n_kv):
                key = r.string()
                info.metadata[key] = r.value(r.unpack("I"))
            for _ in range(n_tensors):
                name = r.string()
                n_dims = r.unpack("I")
                if n_dims == 0 or n_dims > MAX_DIMS:
                    raise r.fail(f"tensor {name!r} has {n_dims} dimensions")
                shape = tuple(r.unpack("Q") for _ in range(n_dims))
                info.tensors.append(GGUFTensor(name, shape, r.unpack("I"), r.unpack("Q")))
            alignment = info.metadata.get("general.alignment", 32)
            if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
                raise r.fail(f"bad alignment {alignment!r}")
            info.data_offset = (fh.tell() + alignment - 1) // alignment * alignment
    except OSError as exc:
        raise ModelLoadError(f"cannot read model file {p}: {exc}") from exc
    _check_tensor_bounds(info)
    return info


def _check_tensor_bounds(info: GGUFInfo) -> None:
    if not info.tensors:
        raise ModelLoadError(f"{info.path} is not a valid GGUF file: it holds no tensors")
    for t in info.tensors:
        nbytes = t.n_bytes() or 0
        end = info.data_offset + t.offset + nbytes
        if end > info.file_size:
            raise ModelLoadError(
                f"{info.path} is truncated or corrupt: tensor {t.name!r} ends at byte {end}, "
                f"file has {info.file_size}"
            )
