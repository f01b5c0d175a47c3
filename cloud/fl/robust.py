"""Robust aggregation: norm bounds on each update, then a robust mix (trimmed mean, median or multi-Krum).

An update is rejected when its L2 norm exceeds ``max_norm`` (absolute) or ``norm_factor`` times the cohort's
median norm (relative; catches a scaled-up poisoned update whatever the units). The survivors are mixed by:
- ``trimmed-mean``: drop the ``trim`` fraction of lowest and highest values per coordinate (Yin et al., 2018);
- ``median``: the coordinate-wise median (Yin et al., 2018), no fraction to tune;
- ``krum``: multi-Krum (Blanchard et al., 2017): score each update by its squared distances to its
  n - f - 2 nearest neighbours (f = ``byzantine``), average the n - f best — catches a flipped update whose
  norm looks normal.
So a few bad-but-bounded clients cannot drag the model. NaN/shape checks come from the base.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from frugalstack.cloud.fl.base import UpdateStrategy
from frugalstack.edge.fl import codec
from frugalstack.edge.fl.model import Params
from frugalstack.shared.errors import ConfigError

AGGREGATORS = ("trimmed-mean", "median", "krum")


class RobustUpdates(UpdateStrategy):
    def __init__(
        self,
        *,
        max_norm: float | None = None,
        norm_factor: float | None = 5.0,
        trim: float = 0.1,
        aggregator: str = "trimmed-mean",
        byzantine: int = 1,
        train_settings: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not 0 <= trim < 0.5:
            raise ConfigError(f"trim must be in [0, 0.5), got {trim}")
        if aggregator not in AGGREGATORS:
            raise ConfigError(f"unknown aggregator {aggregator!r}", hint=f"use one of {', '.join(AGGREGATORS)}")
        super().__init__(train_settings=train_settings, **kwargs)
        self.max_norm, self.norm_factor, self.trim = max_norm, norm_factor, trim
        self.aggregator, self.byzantine = aggregator, max(0, byzantine)
        self.last_selected: list[int] = []  # krum: which of the last round's accepted updates were averaged

    def check(self, update: Params) -> str | None:
        reason = super().check(update)
        if reason is None and self.max_norm is not None:
            norm = codec.l2_norm(update)
            if norm > self.max_norm:
                return f"update norm {norm:.3g} above the bound {self.max_norm:.3g}"
        return reason

    def screen(self, updates: list[Params]) -> list[str | None]:
        if self.norm_factor is None or len(updates) < 3:
            return [None] * len(updates)
        norms = np.array([codec.l2_norm(u) for u in updates])
        limit = self.norm_factor * float(np.median(norms))
        return [
            f"update norm {n:.3g} above {self.norm_factor}x the median ({limit:.3g})" if n > limit else None
            for n in norms
        ]

    def combine(self, updates: list[Params], weights: np.ndarray) -> Params:
        if self.aggregator == "median" and len(updates) >= 3:
            return {k: np.median(np.stack([u[k] for u in updates]), axis=0).astype(np.float32) for k in updates[0]}
        if self.aggregator == "krum" and len(updates) >= 3:
            keep = krum_select(updates, self.byzantine)
            self.last_selected, self.mixed = keep, len(keep)
            return super().combine([updates[i] for i in keep], weights[keep])
        k = int(np.floor(self.trim * len(updates)))
        if self.aggregator != "trimmed-mean" or k == 0:
            return super().combine(updates, weights)
        out: Params = {}
        for name in updates[0]:
            stacked = np.sort(np.stack([u[name] for u in updates]), axis=0)
            out[name] = stacked[k : len(updates) - k].mean(axis=0).astype(np.float32)
        return out


def krum_select(updates: list[Params], byzantine: int) -> list[int]:
    """Indices of the n - f updates with the lowest Krum scores (sum of squared distances to the n - f - 2
    nearest others; at least one neighbour)."""
    n = len(updates)
    flat = np.stack([np.concatenate([u[k].ravel() for k in sorted(u)]) for u in updates]).astype(np.float64)
    sq = (flat**2).sum(axis=1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2 * flat @ flat.T, 0.0)
    neighbours = max(1, n - byzantine - 2)
    scores = np.array([np.sort(np.delete(dist[i], i))[:neighbours].sum() for i in range(n)])
    return sorted(np.argsort(scores, kind="stable")[: max(1, n - byzantine)].tolist())
