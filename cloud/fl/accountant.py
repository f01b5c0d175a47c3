"""Rényi-DP accountant for the (sub)sampled Gaussian mechanism, client level.

Flower 1.42 ships an RDP accountant but it needs Google's ``dp-accounting`` package, which is not installed
here; this is the same maths (Mironov 2017; Mironov, Talwar, Zhang 2019 for integer orders of the sampled
Gaussian) in ~60 lines of numpy, checked in tests against the closed form of the plain Gaussian.

Two figures are reported per run:
- **local** ε: each device's noisy update is itself the release (no trust in the server, no amplification);
  noise multiplier ``z`` composed over the rounds the device may take part in.
- **central** ε (needs SecAgg: the server sees only the sum): the sum of ``m`` clients' independent noises
  has std ``z·C·√m`` for sensitivity ``C``, so multiplier ``z·√m``, with sampling rate ``q = m/N``.
With distributed DP (``noise_share`` s > 1) each device adds only ``z/√s`` of the noise: the local figure
uses ``z/√s`` (weak on its own) and the central one ``z·√(m/s)`` (about ``z`` when ``m ≈ s``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ORDERS = tuple(range(2, 257))


def _log_add(a: float, b: float) -> float:
    hi, lo = max(a, b), min(a, b)
    return hi if lo == -math.inf else hi + math.log1p(math.exp(lo - hi))


def rdp_sampled_gaussian(q: float, z: float, order: int) -> float:
    """RDP at integer ``order`` of one release of the Poisson-subsampled Gaussian mechanism."""
    if z <= 0:
        return math.inf
    if q >= 1.0:
        return order / (2 * z * z)
    if q <= 0:
        return 0.0
    log_a = -math.inf
    for k in range(order + 1):
        term = (
            math.lgamma(order + 1)
            - math.lgamma(k + 1)
            - math.lgamma(order - k + 1)
            + k * math.log(q)
            + (order - k) * math.log1p(-q)
            + (k * k - k) / (2 * z * z)
        )
        log_a = _log_add(log_a, term)
    return log_a / (order - 1)


def epsilon(q: float, z: float, steps: int, delta: float) -> tuple[float, int]:
    """(ε, best order) after ``steps`` releases, with the conversion of Balle et al. (2020) as in Opacus."""
    if steps <= 0:
        return 0.0, 0
    best, best_order = math.inf, 0
    for a in ORDERS:
        rdp = steps * rdp_sampled_gaussian(q, z, a)
        eps = rdp + math.log1p(-1 / a) - (math.log(delta) + math.log(a)) / (a - 1)
        if eps < best:
            best, best_order = eps, a
    return max(best, 0.0), best_order


@dataclass(frozen=True)
class PrivacyReport:
    noise_multiplier: float
    clip: float
    delta: float
    rounds: int
    population: int
    per_round: int
    epsilon_local: float
    epsilon_central: float
    noise_share: float = 1.0

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


def privacy_report(
    *,
    noise_multiplier: float,
    clip: float,
    delta: float,
    rounds: int,
    population: int,
    per_round: int,
    noise_share: float = 1.0,
) -> PrivacyReport:
    """Both ε figures for a run; ``per_round`` is the smallest number of clients whose noise is summed."""
    z, m, share = noise_multiplier, max(per_round, 1), max(noise_share, 1.0)
    if z <= 0:
        return PrivacyReport(z, clip, delta, rounds, population, per_round, math.inf, math.inf, share)
    eps_local, _ = epsilon(1.0, z / float(np.sqrt(share)), rounds, delta)
    q = min(1.0, m / max(population, 1))
    eps_central, _ = epsilon(q, z * float(np.sqrt(m / share)), rounds, delta)
    return PrivacyReport(z, clip, delta, rounds, population, per_round, eps_local, eps_central, share)
