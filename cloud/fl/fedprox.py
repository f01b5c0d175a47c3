"""FedProx (Li et al., 2020): FedAvg plus a proximal term the clients add to their local loss.

The term ``(mu/2)·||w - w_global||²`` keeps heterogeneous (non-IID, straggling) devices from drifting; the
server only has to tell them ``mu`` through the round's config.
"""

from __future__ import annotations

from typing import Any

from frugalstack.cloud.fl.base import UpdateStrategy
from frugalstack.shared.errors import ConfigError


class FedProxUpdates(UpdateStrategy):
    def __init__(self, *, proximal_mu: float = 0.01, train_settings: dict[str, Any] | None = None, **kwargs: Any):
        if proximal_mu < 0:
            raise ConfigError(f"proximal_mu must be >= 0, got {proximal_mu}")
        super().__init__(train_settings={**(train_settings or {}), "proximal-mu": float(proximal_mu)}, **kwargs)
        self.proximal_mu = proximal_mu
