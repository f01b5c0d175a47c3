"""Every backend is registered by entry point and in BUILTIN, imports lazily, and names its extra when missing."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from frugalstack.edge.backends import BUILTIN, available_backends, create_backend
from frugalstack.edge.catalog import get_spec
from frugalstack.edge.profiles import RuntimeSettings
from frugalstack.shared.errors import MissingDependencyError, ModelLoadError

NEW = {"torch", "onnx", "openvino", "litert", "openai_compatible", "mlc"}
SETTINGS = RuntimeSettings(threads=1, context_size=256, memory_budget_mb=512)
SPEC = get_spec("smollm2-135m-instruct-q4_1")


def test_registered_by_entry_point_and_builtin() -> None:
    eps = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="frugalstack.backends")}
    assert set(eps) >= NEW and set(BUILTIN) >= NEW
    for name in NEW:
        assert eps[name] == BUILTIN[name] == available_backends()[name]


def test_importing_backends_package_loads_no_runtime() -> None:
    code = ("import sys, frugalstack.edge, frugalstack.edge.backends as b;"
            "b.load_backend_class('onnx');"
            "b.load_backend_class('openvino'); b.load_backend_class('torch'); b.load_backend_class('litert');"
            "heavy = ('torch', 'onnxruntime', 'openvino', 'fastapi', 'ai_edge_litert');"
            "print(sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("backend", "module", "extra"),
    [("onnx", "onnxruntime", "onnx"), ("openvino", "openvino", "openvino"), ("torch", "torch", "torch"),
     ("litert", "ai_edge_litert.interpreter", "litert")],
)
def test_missing_runtime_names_the_extra(backend: str, module: str, extra: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # simulates the runtime not being installed
    if module == "ai_edge_litert.interpreter":
        monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", None)
    with pytest.raises(MissingDependencyError) as info:
        create_backend(backend).load(tmp_path, SPEC, SETTINGS)
    assert info.value.extra == extra and f"frugalstack[{extra}]" in str(info.value)


def test_int8_tflite_conversion_needs_the_litert_convert_extra(smollm2_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """fp32 has a built-in writer; int8 needs litert-torch, and must say so before any work is done."""
    from frugalstack.optimizers.tflite_export import ensure_tflite

    monkeypatch.setitem(sys.modules, "litert_torch", None)  # simulates the heavy extra not being installed
    with pytest.raises(MissingDependencyError) as info:
        ensure_tflite(smollm2_path, "int8")
    assert info.value.extra == "litert-convert" and "litert-torch" in str(info.value)


def test_litert_rejects_a_file_that_is_not_tflite(tmp_path: Path) -> None:
    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"not a flatbuffer" * 10)
    with pytest.raises(ModelLoadError, match="LiteRT could not load"):
        create_backend("litert").load(bad, SPEC, SETTINGS)
