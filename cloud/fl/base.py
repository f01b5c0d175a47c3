"""What every frugalstack strategy shares: clients send *updates*, the server checks and applies them.

Built on Flower's message-based ``FedAvg`` (sampling, messaging, evaluation are Flower's). On top of it:
- replies are deltas (maybe int8 with a scale), decoded and added to the current global model;
- a reply with NaN/Inf, missing or extra tensors or a wrong shape is rejected, the round goes on;
- devices that skip (too little data) or drop out are counted, never averaged;
- bytes down/up per client per round and per-round wall time are logged for the report.
Subclasses override :meth:`check` (extra rejection rules) and :meth:`combine` (how accepted updates mix).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg

from frugalstack.edge.fl import codec
from frugalstack.edge.fl.client import arrays_to_params, payload_bytes
from frugalstack.edge.fl.model import Params

TRAIN_DEFAULTS: dict[str, Any] = {
    "local-steps": 20,
    "lr": 5.0,
    "batch-size": 32,
    "min-examples": 8,
    "clip": 0.0,
    "noise-multiplier": 0.0,
    "quantize": "none",
    "deadline-speed": 1.0,
}


class UpdateStrategy(FedAvg):
    """FedAvg over client deltas with validation and accounting (see the module docstring)."""

    def __init__(self, *, train_settings: dict[str, Any] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("min_available_nodes", 2)
        super().__init__(**kwargs)
        self.train_settings = {**TRAIN_DEFAULTS, **(train_settings or {})}
        self.global_params: Params = {}
        self.comm: list[dict[str, Any]] = []
        self.rounds: list[dict[str, Any]] = []
        self._t0 = 0.0
        self.mixed = 0
        self._down = 0

    # ------------------------------------------------------------------ configure
    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        self._t0 = time.perf_counter()
        self.global_params = arrays_to_params(arrays)
        self._down = payload_bytes(arrays)
        for k, v in self.train_settings.items():
            config[k] = v
        return super().configure_train(server_round, arrays, config, grid)

    # ------------------------------------------------------------------ checks
    def check(self, update: Params) -> str | None:
        """Why ``update`` must be rejected, or None. Always: non-finite values, wrong keys or shapes."""
        if set(update) != set(self.global_params):
            return f"wrong tensors {sorted(update)}"
        for k, v in update.items():
            if v.shape != self.global_params[k].shape:
                return f"wrong shape for {k}: {v.shape} != {self.global_params[k].shape}"
            if not np.all(np.isfinite(v)):
                return f"non-finite values in {k}"
        return None

    def screen(self, updates: list[Params]) -> list[str | None]:
        """Per-update verdicts that need the whole cohort (e.g. norm vs the median); default: none."""
        return [None] * len(updates)

    def combine(self, updates: list[Params], weights: np.ndarray) -> Params:
        w = weights / weights.sum()
        return {k: np.tensordot(w, np.stack([u[k] for u in updates]), axes=1).astype(np.float32) for k in updates[0]}

    # ------------------------------------------------------------------ aggregate
    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        replies = list(replies)
        stats: dict[str, Any] = {
            "round": server_round,
            "sampled": len(replies),
            "dropped": 0,
            "skipped": 0,
            "rejected": [],
        }
        cands: list[tuple[int, Params, float, float]] = []
        for msg in replies:
            node = int(msg.metadata.src_node_id)
            if msg.has_error():
                stats["dropped"] += 1
                continue
            content = msg.content
            metrics = next(iter(content.metric_records.values()), MetricRecord({}))
            up = sum(payload_bytes(r) for r in content.array_records.values())
            self.comm.append({"round": server_round, "node": node, "bytes_down": self._down, "bytes_up": up})
            if _num(metrics, "skipped") or not content.array_records:
                stats["skipped"] += 1
                continue
            try:
                raw = next(iter(content.array_records.values()))
                update = codec.dequantize({k: np.asarray(a.numpy()) for k, a in raw.items()})
            except Exception as exc:  # a malformed payload is one client's problem, not the round's
                stats["rejected"].append({"node": node, "reason": f"undecodable: {exc}"})
                continue
            reason = self.check(update)
            if reason:
                stats["rejected"].append({"node": node, "reason": reason})
                continue
            weight = _num(metrics, self.weighted_by_key, 1.0)
            cands.append((node, update, max(weight, 1e-9), _num(metrics, "train-loss", float("nan"))))
        verdicts = self.screen([u for _, u, _, _ in cands])
        accepted = []
        for (node, upd, w, loss), reason in zip(cands, verdicts, strict=True):
            if reason:
                stats["rejected"].append({"node": node, "reason": reason})
            else:
                accepted.append((upd, w, loss))
        stats["accepted"] = len(accepted)
        if not accepted:
            stats["wall_s"] = time.perf_counter() - self._t0
            self.rounds.append(stats)
            return None, MetricRecord({"accepted": 0})
        weights = np.array([w for _, w, _ in accepted])
        self.mixed = len(accepted)  # combine() may use fewer (multi-Krum); it says so here
        mixed = self.combine([u for u, _, _ in accepted], weights)
        stats["mixed"] = self.mixed
        new = {k: (self.global_params[k] + mixed[k]).astype(np.float32) for k in self.global_params}
        losses = np.array([loss for _, _, loss in accepted])
        metrics = MetricRecord({"accepted": len(accepted), "rejected": len(stats["rejected"])})
        if np.isfinite(losses).any():
            ok = np.isfinite(losses)
            metrics["train-loss"] = float(np.average(losses[ok], weights=weights[ok]))
        stats["wall_s"] = time.perf_counter() - self._t0
        self.rounds.append(stats)
        return ArrayRecord({k: Array(v) for k, v in new.items()}), metrics

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]) -> MetricRecord | None:
        ok = [m for m in replies if not m.has_error() and _num(m.content["metrics"], "num-examples") > 0]
        return super().aggregate_evaluate(server_round, ok) if ok else None


def _num(metrics: Any, key: str, default: float = 0.0) -> float:
    """A scalar metric of a reply (Flower types values as scalar-or-list)."""
    value = metrics.get(key, default)
    return float(value) if isinstance(value, int | float) else default
