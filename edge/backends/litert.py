"""LiteRT (TFLite) backend: ``.tflite`` language models run with ``ai-edge-litert``'s Interpreter.

Two layouts are read:

* litert-torch / ai-edge-torch generative exports with ``prefill`` and ``decode`` signatures whose
  inputs are ``tokens``, ``input_pos`` and ``kv_cache_{k,v}_{i}`` (the cache is carried between calls);
* a single signature mapping token ids ``[1, T]`` to logits ``[1, T, vocab]`` (what
  ``frugalstack.optimizers.tflite_export`` and its built-in writer produce): no cache, the sequence is
  re-run each step, padded to the graph's fixed length; the context is capped at ``T``.

The tokenizer (``tokenizer.json`` + config) must sit next to the ``.tflite`` file. A transformers or
GGUF source is converted on load: fp32 by the built-in writer (Llama-style models), anything else needs
``litert-torch``, a heavy optional extra (``frugalstack[litert-convert]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from frugalstack.edge.backends._decoding import StepBackend
from frugalstack.shared.errors import MissingDependencyError, ModelLoadError

if TYPE_CHECKING:
    from frugalstack.edge.profiles import RuntimeSettings


def import_interpreter() -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:  # tflite-runtime, the predecessor (numpy<2 only)
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise MissingDependencyError("ai-edge-litert", "litert", purpose="the LiteRT backend") from None
    return Interpreter


class LiteRTBackend(StepBackend):
    name: ClassVar[str] = "litert"

    def __init__(self) -> None:
        super().__init__()
        self._interp: Any = None
        self._kv_mode = False
        self._runner: Any = None
        self._prefill: Any = None
        self._decode: Any = None
        self._cache: dict[str, np.ndarray] = {}
        self._ids: list[int] = []
        self._pos = 0
        self._seq_len = 0

    def _prepare(self, path: Path, settings: RuntimeSettings) -> Path:
        import_interpreter()
        if path.is_file() and path.suffix == ".tflite":
            self._file = path
            return path.parent
        if path.is_dir():
            found = sorted(path.glob("*.tflite"))
            if found:
                self._file = found[0]
                return path
        from frugalstack.optimizers.tflite_export import ensure_tflite

        out = ensure_tflite(path)
        self._file = sorted(out.glob("*.tflite"))[0]
        return out

    def _load_model(self, model_dir: Path, settings: RuntimeSettings) -> None:
        interpreter = import_interpreter()
        try:
            self._interp = interpreter(model_path=str(self._file), num_threads=settings.threads)
        except (ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"LiteRT could not load {self._file}: {exc}") from exc
        sigs = self._interp.get_signature_list()
        if "prefill" in sigs and "decode" in sigs:
            self._kv_mode = True
            self._prefill = self._interp.get_signature_runner("prefill")
            self._decode = self._interp.get_signature_runner("decode")
            details = self._decode.get_input_details()
            self._cache_spec = {k: (v["shape"], v["dtype"]) for k, v in details.items() if k.startswith("kv_cache")}
            pre = self._prefill.get_input_details()["tokens"]
            self._seq_len = int(pre["shape"][-1])
        elif len(sigs) == 1:
            self._runner = self._interp.get_signature_runner(next(iter(sigs)))
            inputs = self._runner.get_input_details()
            if len(inputs) != 1:
                raise ModelLoadError(f"{self._file}: expected one token-id input, found {sorted(inputs)}")
            self._input_name, detail = next(iter(inputs.items()))
            self._input_dtype = detail["dtype"]
            self._seq_len = int(detail["shape"][-1])
        else:
            raise ModelLoadError(f"{self._file} has signatures {sorted(sigs)}; expected prefill+decode or one")
        if self._seq_len > 0:
            self._n_ctx = min(self._n_ctx, self._seq_len)

    def _reset(self) -> None:
        self._ids, self._pos = [], 0
        if self._kv_mode:
            self._cache = {k: np.zeros(shape, dtype=dtype) for k, (shape, dtype) in self._cache_spec.items()}

    def _forward(self, ids: list[int]) -> np.ndarray:
        if not self._kv_mode:
            self._ids.extend(ids)
            return self._window(self._ids)[-1]
        # KV layout: prefill all but the last new token, then decode the last one to get its logits.
        head, last = ids[:-1], ids[-1]
        if head:
            tokens = np.zeros((1, self._seq_len), dtype=np.int32)
            tokens[0, : len(head)] = head
            pos = np.arange(self._pos, self._pos + self._seq_len, dtype=np.int32)
            self._cache.update(self._prefill(tokens=tokens, input_pos=pos, **self._cache))
            self._pos += len(head)
        out = self._decode(tokens=np.array([[last]], dtype=np.int32), input_pos=np.array([self._pos], dtype=np.int32),
                           **self._cache)
        self._pos += 1
        self._cache.update({k: v for k, v in out.items() if k.startswith("kv_cache")})
        return np.asarray(out["logits"][0, -1], dtype=np.float32)

    def _window(self, ids: list[int]) -> np.ndarray:
        """Logits ``[len(ids), vocab]`` of one run of the single-signature graph, right-padded to its length."""
        n = len(ids)
        tokens = np.zeros((1, self._seq_len if self._seq_len > 0 else n), dtype=self._input_dtype)
        tokens[0, :n] = ids
        logits = next(iter(self._runner(**{self._input_name: tokens}).values()))
        return np.asarray(logits[0, :n], dtype=np.float32)

    def score(self, ids: list[int]) -> np.ndarray:
        """Per-position logits; past the fixed window, windows slide by half, so every position beyond
        the first window sees at least half a window of context (perplexity is then slightly pessimistic)."""
        if self._kv_mode or self._seq_len <= 0 or len(ids) <= self._seq_len:
            return super().score(ids) if self._kv_mode else self._window(ids)
        rows: list[np.ndarray] = []
        start, half = 0, max(1, self._seq_len // 2)
        while len(rows) < len(ids):
            window = ids[start : start + self._seq_len]
            rows.extend(self._window(window)[len(rows) - start :])
            start += half
        return np.stack(rows[: len(ids)])

    def close(self) -> None:
        self._interp = self._runner = self._prefill = self._decode = None
