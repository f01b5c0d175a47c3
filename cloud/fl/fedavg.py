"""FedAvg (McMahan et al., 2017) over client updates, weighted by example count (uniform under DP)."""

from __future__ import annotations

from frugalstack.cloud.fl.base import UpdateStrategy


class FedAvgUpdates(UpdateStrategy):
    """Plain weighted averaging; malformed updates are still rejected by :meth:`UpdateStrategy.check`."""
