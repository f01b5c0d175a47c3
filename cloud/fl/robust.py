"""Robust aggregation: norm bounds on each update and a coordinate-wise trimmed mean.

An update is rejected when its L2 norm exceeds ``max_norm`` (absolute) or ``norm_factor`` times the cohort's
median norm (relative; catches a scaled-up poisoned update whatever the units). The survivors are mixed by a
coordinate-wise trimmed mean that drops the ``trim`` fraction of lowest and highest values per coordinate
(Yin et al., 2018), so a few bad-but-bounded clients cannot drag the model. NaN/shape checks come from the base.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from frugalstack.cloud.fl.base import UpdateStrategy
from frugalstack.edge.fl import codec
from frugalstack.edge.fl.model import Params
from frugalstack.shared.errors import ConfigError


class RobustUpdates(UpdateStrategy):
    def __init__(
        self,
        *,
        max_norm: float | None = None,
        norm_factor: float | None = 5.0,
        trim: float = 0.1,
        train_settings: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not 0 <= trim < 0.5:
            raise ConfigError(f"trim must be in [0, 0.5), got {trim}")
        super().__init__(train_settings=train_settings, **kwargs)
        self.max_norm, self.norm_factor, self.trim = max_norm, norm_factor, trim

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
        k = int(np.floor(self.trim * len(updates)))
        if k == 0:
            return super().combine(updates, weights)
        out: Params = {}
        for name in updates[0]:
            stacked = np.sort(np.stack([u[name] for u in updates]), axis=0)
            out[name] = stacked[k : len(updates) - k].mean(axis=0).astype(np.float32)
        return out
