"""Project figures measured on this host to device profiles (clearly labelled as projections).

Model: decoding a small quantized model is memory-bandwidth bound, so decode tokens/s scale with memory
bandwidth; prompt processing is compute bound, so prefill scales with the profile's relative compute speed.
Energy per token is the profile's active power over its projected decode rate.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from frugalstack.edge.profiles import get_profile

# laptop-x86 (relative_speed 1.0) is taken to sustain this fp32 GFLOP/s on 4 threads (i5-1235U-class AVX2).
REFERENCE_GFLOPS = 150.0


def host_memory_bandwidth_gbs(mb: int = 256, repeats: int = 5) -> float:
    """Copy bandwidth (read + write) of a large numpy array: a STREAM-copy-like probe."""
    a = np.ones(mb * 2**20 // 8)
    b = np.empty_like(a)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t)
    return 2 * a.nbytes / best / 1e9


def host_gflops(n: int = 768, repeats: int = 5) -> float:
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def project(
    decode_tok_s: float, prefill_tok_s: float | None, host: dict[str, float], profile_id: str
) -> dict[str, Any]:
    prof = get_profile(profile_id)
    decode = decode_tok_s * prof.compute.memory_bandwidth_gbs / host["memory_bandwidth_gbs"]
    host_speed = host["gflops"] / REFERENCE_GFLOPS
    prefill = prefill_tok_s * prof.compute.relative_speed / host_speed if prefill_tok_s else None
    return {
        "profile": prof.id,
        "decode_tok_s": decode,
        "prefill_tok_s": prefill,
        "joules_per_token": prof.power_w.active / decode if decode else None,
        "method": "projection: decode x bandwidth ratio, prefill x compute ratio, energy = active W / decode rate",
    }
