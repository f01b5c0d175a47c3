"""Small statistics helpers shared by the benchmark scripts (medians and spreads, never single runs)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, interquartile range and min/max of repeated measurements."""
    vals = sorted(values)
    if not vals:
        return {"median": float("nan"), "p25": float("nan"), "p75": float("nan"), "min": float("nan"),
                "max": float("nan"), "n": 0}
    q = statistics.quantiles(vals, n=4, method="inclusive") if len(vals) > 1 else [vals[0]] * 3
    return {"median": statistics.median(vals), "p25": q[0], "p75": q[2], "min": vals[0], "max": vals[-1],
            "n": len(vals)}


def spread_pct(s: dict[str, float]) -> float:
    """Interquartile range relative to the median, in percent."""
    return 100.0 * (s["p75"] - s["p25"]) / s["median"] if s["median"] else float("nan")
