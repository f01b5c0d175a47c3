"""Simulated device behaviour: which shipped device profile a client runs on, and what that implies.

Speed comes from the profile's ``compute.relative_speed``: a slow device finishes only part of its local
steps before the round deadline (a straggler, as in FedProx's system-heterogeneity setting). Phones drop out
of a round more often than laptops (battery, network); the rates are assumptions, stated here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DROPOUT_BY_CLASS = {"phone": 0.10, "tablet": 0.08, "sbc": 0.05, "laptop": 0.03, "desktop": 0.02, "server": 0.0}


@dataclass(frozen=True)
class SimDevice:
    profile: str
    device_class: str
    relative_speed: float
    dropout: float

    def steps_done(self, steps: int, deadline_speed: float) -> int:
        """Local steps finished before the deadline (set by a device of speed ``deadline_speed``)."""
        return max(1, min(steps, round(steps * self.relative_speed / deadline_speed)))


def device_pool() -> list[SimDevice]:
    from frugalstack.edge.profiles import shipped_profiles

    out = []
    for pid, p in sorted(shipped_profiles().items()):
        if p.device_class == "server":
            continue
        speed = float(getattr(p.compute, "relative_speed", 1.0) or 1.0)
        out.append(SimDevice(pid, p.device_class, speed, DROPOUT_BY_CLASS.get(p.device_class, 0.05)))
    return out


def assign_devices(n_clients: int, seed: int = 0) -> list[SimDevice]:
    """Phones weigh twice as much as other classes, as in a shop's app audience."""
    pool = device_pool()
    w = np.array([2.0 if d.device_class == "phone" else 1.0 for d in pool])
    rng = np.random.default_rng(seed + 7)
    return [pool[i] for i in rng.choice(len(pool), size=n_clients, p=w / w.sum())]
