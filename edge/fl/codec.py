"""What leaves the device: a model *update*, clipped, noised and optionally int8-quantized.

Clipping bounds one device's influence (its L2 norm ≤ ``clip``); Gaussian noise with std ``noise · clip`` per
coordinate makes each round's release (ε, δ)-DP for the device's whole data set (user-level, local DP);
:mod:`frugalstack.cloud.fl.accountant` turns (noise, rounds, δ) into ε. Quantization is per tensor, symmetric:
``q = round(x / scale)`` in int8 with ``scale = max|x| / 127`` sent alongside, i.e. 4x fewer bytes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from frugalstack.edge.fl.model import Params

SCALE_SUFFIX = ".scale"


def delta(new: Params, old: Params) -> Params:
    return {k: (new[k] - old[k]).astype(np.float32) for k in old}


def l2_norm(update: Mapping[str, np.ndarray]) -> float:
    return float(np.sqrt(sum(float(np.square(v.astype(np.float64)).sum()) for v in update.values())))


def clip_update(update: Params, clip: float) -> tuple[Params, float]:
    """Scale the whole update down to L2 norm ``clip`` (never up); returns it and the norm before clipping."""
    norm = l2_norm(update)
    factor = min(1.0, clip / norm) if norm > 0 else 1.0
    return {k: (v * factor).astype(np.float32) for k, v in update.items()}, norm


def add_gaussian_noise(update: Params, std: float, rng: np.random.Generator) -> Params:
    if std <= 0:
        return update
    return {k: (v + rng.normal(0.0, std, size=v.shape)).astype(np.float32) for k, v in update.items()}


def quantize_int8(update: Params) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for k, v in update.items():
        peak = float(np.abs(v).max()) if v.size else 0.0
        scale = peak / 127.0 if peak > 0 else 1.0
        out[k] = np.clip(np.rint(v / scale), -127, 127).astype(np.int8)
        out[k + SCALE_SUFFIX] = np.array([scale], np.float32)
    return out


def dequantize(arrays: Mapping[str, np.ndarray]) -> Params:
    """Inverse of :func:`quantize_int8`; float arrays without a scale pass through unchanged."""
    out: Params = {}
    for k, v in arrays.items():
        if k.endswith(SCALE_SUFFIX):
            continue
        scale = arrays.get(k + SCALE_SUFFIX)
        if scale is not None:
            out[k] = (v.astype(np.float32) * np.float32(np.asarray(scale).reshape(-1)[0])).astype(np.float32)
        else:
            out[k] = np.asarray(v, dtype=np.float32)
    return out
