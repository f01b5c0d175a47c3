"""OpenVINO backend: an IR converted from the ONNX export, fp16 / int8 / int4 weights (NNCF).

The device (``CPU``, ``GPU``, ``NPU``, ``AUTO``) comes from the device profile; when it is absent on
this host the backend falls back to CPU and logs a warning instead of failing. CPU inference runs in
bf16 by default on CPUs that have it: ``precision="f32"`` (the default here) keeps numbers comparable
with the fp32 reference.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from frugalstack.edge.backends._decoding import StepBackend
from frugalstack.edge.backends._kvgraph import KVGraphState
from frugalstack.shared.errors import MissingDependencyError, ModelLoadError

if TYPE_CHECKING:
    from frugalstack.edge.profiles import RuntimeSettings

log = logging.getLogger("frugalstack.edge.backends.openvino")
IR_NAME = "openvino_model.xml"


def _import_ov() -> Any:
    try:
        import openvino
    except ImportError:
        raise MissingDependencyError("openvino", "openvino", purpose="the OpenVINO backend") from None
    return openvino


def pick_device(wanted: str, available: list[str]) -> str:
    """The profile's device if this host has it (``GPU`` matches ``GPU.0``), else CPU with a warning."""
    if wanted == "AUTO" or any(d == wanted or d.startswith(wanted + ".") for d in available):
        return wanted
    log.warning("OpenVINO device %s is not available on this host (have %s); falling back to CPU",
                wanted, ", ".join(available) or "none")
    return "CPU"


class OpenVinoBackend(StepBackend):
    name: ClassVar[str] = "openvino"

    def __init__(self, precision: str = "f32") -> None:
        super().__init__()
        self.precision = precision
        self.device = "CPU"
        self._compiled: Any = None
        self._request: Any = None
        self._state: KVGraphState | None = None
        self._outputs: list[Any] = []

    def _prepare(self, path: Path, settings: RuntimeSettings) -> Path:
        _import_ov()
        if path.suffix == ".xml" and path.is_file():
            self._file = path
            return path.parent
        if path.is_dir() and (path / IR_NAME).is_file():
            self._file = path / IR_NAME
            return path
        from frugalstack.optimizers.openvino_export import ensure_openvino

        quant = self.spec.quantization if self.spec is not None else None
        out = ensure_openvino(path, weights=quant if quant in ("fp32", "fp16", "int8", "int4") else "fp16")
        self._file = out / IR_NAME
        return out

    def _load_model(self, model_dir: Path, settings: RuntimeSettings) -> None:
        ov = _import_ov()
        core = ov.Core()
        self.device = pick_device(settings.device, list(core.available_devices))
        config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": self.precision}
        if self.device == "CPU":
            config["INFERENCE_NUM_THREADS"] = settings.threads
        try:
            self._compiled = core.compile_model(str(self._file), self.device, config)
        except Exception as exc:  # openvino raises RuntimeError subclasses of its own
            raise ModelLoadError(f"OpenVINO could not compile {self._file} for {self.device}: {exc}") from exc
        self._request = self._compiled.create_infer_request()
        names = [n for port in self._compiled.inputs for n in port.get_names()]
        self._state = KVGraphState(model_dir, names)
        self._outputs = [self._compiled.output(n)
                         for n in ["logits", *KVGraphState.present_names(self._state.layers)]]

    @property
    def compiled_model(self) -> Any:
        """The ``openvino.CompiledModel`` (for benchmarks)."""
        return self._compiled

    def _reset(self) -> None:
        if self._state is not None:
            self._state.reset()

    def _forward(self, ids: list[int]) -> np.ndarray:
        assert self._state is not None
        result = self._request.infer(self._state.feeds(ids))
        logits, *presents = (result[port] for port in self._outputs)
        self._state.update([np.array(p, copy=True) for p in presents])
        return np.asarray(logits[0, -1], dtype=np.float32)

    def score(self, ids: list[int]) -> np.ndarray:
        assert self._state is not None
        self._state.reset()
        result = self._request.infer(self._state.feeds(ids))
        return np.array(result[self._outputs[0]][0], dtype=np.float32)

    def close(self) -> None:
        self._request = None
        self._compiled = None
