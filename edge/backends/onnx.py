"""ONNX Runtime backend: a causal LM exported by optimum (``text-generation-with-past``), fp32 or int8.

The KV cache is fed back as graph inputs each step (see ``_kvgraph``). Given a GGUF or a transformers
folder it exports once (``frugalstack.optimizers.onnx_export``) and caches the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from frugalstack.edge.backends._decoding import StepBackend
from frugalstack.edge.backends._kvgraph import KVGraphState
from frugalstack.shared.errors import MissingDependencyError, ModelLoadError

if TYPE_CHECKING:
    from frugalstack.edge.profiles import RuntimeSettings


def _import_ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise MissingDependencyError("onnxruntime", "onnx", purpose="the ONNX Runtime backend") from None
    return onnxruntime


def find_onnx(model_dir: Path) -> Path | None:
    for name in ("model_quantized.onnx", "model.onnx", "decoder_model_merged.onnx"):
        if (model_dir / name).is_file():
            return model_dir / name
    found = sorted(model_dir.glob("*.onnx"))
    return found[0] if found else None


class OnnxBackend(StepBackend):
    name: ClassVar[str] = "onnx"

    def __init__(self) -> None:
        super().__init__()
        self._session: Any = None
        self._state: KVGraphState | None = None
        self._outputs: list[str] = []

    def _prepare(self, path: Path, settings: RuntimeSettings) -> Path:
        _import_ort()
        if path.suffix == ".onnx" and path.is_file():
            self._file = path
            return path.parent
        found = find_onnx(path) if path.is_dir() else None
        if found is not None:
            self._file = found
            return path
        from frugalstack.optimizers.onnx_export import ensure_onnx

        quant = self.spec.quantization if self.spec is not None else None
        out = ensure_onnx(path, quant if quant in ("fp32", "int8") else "fp32")
        found = find_onnx(out)
        if found is None:
            raise ModelLoadError(f"the ONNX export in {out} has no .onnx file")
        self._file = found
        return out

    def _load_model(self, model_dir: Path, settings: RuntimeSettings) -> None:
        ort = _import_ort()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = settings.threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(self._file), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelLoadError(f"onnxruntime could not load {self._file}: {exc}") from exc
        self._state = KVGraphState(model_dir, [i.name for i in self._session.get_inputs()])
        self._outputs = ["logits", *KVGraphState.present_names(self._state.layers)]

    @property
    def session(self) -> Any:
        """The ``onnxruntime.InferenceSession`` (for benchmarks)."""
        return self._session

    def _reset(self) -> None:
        if self._state is not None:
            self._state.reset()

    def _forward(self, ids: list[int]) -> np.ndarray:
        assert self._state is not None
        logits, *presents = self._session.run(self._outputs, self._state.feeds(ids))
        self._state.update(presents)
        return np.asarray(logits[0, -1], dtype=np.float32)

    def score(self, ids: list[int]) -> np.ndarray:
        assert self._state is not None
        self._state.reset()
        logits = self._session.run(["logits"], self._state.feeds(ids))[0]
        return np.asarray(logits[0], dtype=np.float32)

    def close(self) -> None:
        self._session = None
