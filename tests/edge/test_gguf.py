"""The GGUF header check that stands between a bad file and llama.cpp."""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frugalstack.edge.gguf import GGML_BLOCK, read_gguf
from frugalstack.shared.errors import ModelLoadError


def test_reads_the_embedded_smollm2(smollm2_path: Path) -> None:
    info = read_gguf(smollm2_path)
    assert info.version == 3
    assert info.architecture == "llama"
    assert info.context_length == 8192
    assert info.has_chat_template
    assert len(info.tensors) > 100
    assert info.data_offset % 32 == 0


def test_block_sizes_agree_with_the_gguf_package() -> None:
    from gguf.constants import GGML_QUANT_SIZES

    for qtype, (per, size) in GGML_QUANT_SIZES.items():
        assert GGML_BLOCK.get(int(qtype)) == (per, size), qtype.name


def test_truncated_file_is_refused(smollm2_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "truncated.gguf"
    data = smollm2_path.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="truncated or corrupt"):
        read_gguf(bad)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "magic"),
        (b"not a model at all, just some text" * 10, "magic"),
        (b"GGUF" + struct.pack("<I", 99) + b"\0" * 40, "version"),
        (b"GGUF" + struct.pack("<IQQ", 3, 10**9, 1), "implausible"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 0) + b"\0" * 16, "no tensors"),
        (b"GGUF" + struct.pack("<IQQ", 3, 1, 1) + struct.pack("<Q", 2**40), "string of"),
    ],
)
def test_malformed_headers_raise_model_load_error(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(content)
    with pytest.raises(ModelLoadError, match=message):
        read_gguf(bad)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        read_gguf(tmp_path / "nope.gguf")
    with pytest.raises(ModelLoadError, match="not a file"):
        read_gguf(tmp_path)


@pytest.fixture(scope="module")
def header(smollm2_path: Path) -> bytes:
    return smollm2_path.read_bytes()[:200_000]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_corruption_of_the_header_is_a_clean_error(header: bytes, tmp_path: Path, data: st.DataObject) -> None:
    """Flip bytes anywhere in the header: the reader parses or raises ModelLoadError, nothing else."""
    buf = bytearray(header)
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, 4096))
        buf[pos] = data.draw(st.integers(0, 255))
    path = tmp_path / "fuzz.gguf"
    path.write_bytes(bytes(buf))
    with contextlib.suppress(ModelLoadError):
        read_gguf(path)
