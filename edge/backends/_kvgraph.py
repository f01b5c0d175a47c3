"""Feeding exported decoder graphs that take the KV cache as explicit inputs (ONNX and OpenVINO IR).

optimum's ``text-generation-with-past`` export has inputs ``input_ids``, ``attention_mask``,
``position_ids``, ``past_key_values.{i}.key/value`` and outputs ``logits``, ``present.{i}.key/value``.
Each step feeds only the new tokens plus the previous presents, so the cache is reused, not recomputed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from frugalstack.shared.errors import ModelLoadError


class KVGraphState:
    """The cache of one sequence and the feeds for the next step."""

    def __init__(self, model_dir: Path, input_names: list[str]):
        cfg_path = model_dir / "config.json"
        if not cfg_path.is_file():
            raise ModelLoadError(f"{model_dir} has no config.json next to the exported graph")
        cfg = json.loads(cfg_path.read_text())
        self.layers = int(cfg["num_hidden_layers"])
        heads = int(cfg["num_attention_heads"])
        self.kv_heads = int(cfg.get("num_key_value_heads") or heads)
        self.head_dim = int(cfg.get("head_dim") or cfg["hidden_size"] // heads)
        self.names = set(input_names)
        missing = {"input_ids", "past_key_values.0.key"} - self.names
        if missing:
            raise ModelLoadError(
                f"the graph in {model_dir} lacks inputs {sorted(missing)}",
                hint="export it with task text-generation-with-past (KV cache as inputs)",
            )
        self.past: list[np.ndarray] = []
        self.reset()

    def reset(self) -> None:
        empty = np.zeros((1, self.kv_heads, 0, self.head_dim), dtype=np.float32)
        self.past = [empty] * (2 * self.layers)

    @property
    def length(self) -> int:
        return int(self.past[0].shape[2])

    def feeds(self, ids: list[int]) -> dict[str, np.ndarray]:
        n, past = len(ids), self.length
        feeds: dict[str, np.ndarray] = {"input_ids": np.asarray([ids], dtype=np.int64)}
        if "attention_mask" in self.names:
            feeds["attention_mask"] = np.ones((1, past + n), dtype=np.int64)
        if "position_ids" in self.names:
            feeds["position_ids"] = np.arange(past, past + n, dtype=np.int64)[None, :]
        for i in range(self.layers):
            feeds[f"past_key_values.{i}.key"] = self.past[2 * i]
            feeds[f"past_key_values.{i}.value"] = self.past[2 * i + 1]
        return feeds

    def update(self, presents: list[np.ndarray]) -> None:
        self.past = [np.asarray(p, dtype=np.float32) for p in presents]

    @staticmethod
    def present_names(layers: int) -> list[str]:
        return [f"present.{i}.{kind}" for i in range(layers) for kind in ("key", "value")]
