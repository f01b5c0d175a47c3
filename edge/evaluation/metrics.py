"""Metrics with uncertainty: point estimates plus percentile-bootstrap confidence intervals.

Every metric is a function of per-example values, so the same resampling gives a CI for any of them, and two
runs over the same examples can be compared pairwise (``paired_delta``) rather than by overlapping intervals.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

Metric = dict[str, Any]  # {"value", "ci_low", "ci_high", "n"}


def _quantile(sorted_vals: list[float], q: float) -> float:
    if not sorted_vals:
        return math.nan
    pos = q * (len(sorted_vals) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (pos - lo)


def bootstrap(
    items: Sequence[Any],
    stat: Callable[[Sequence[Any]], float],
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Metric:
    """Point estimate of ``stat(items)`` and a percentile bootstrap interval (resampling items)."""
    n = len(items)
    if n == 0:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    value = stat(items)
    rng = random.Random(seed)
    draws = []
    for _ in range(resamples):
        sample = [items[rng.randrange(n)] for _ in range(n)]
        v = stat(sample)
        if not math.isnan(v):
            draws.append(v)
    draws.sort()
    a = (1 - confidence) / 2
    return {"value": _r(value), "ci_low": _r(_quantile(draws, a)), "ci_high": _r(_quantile(draws, 1 - a)), "n": n}


def _r(x: float) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), 4)


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def mean_metric(values: Sequence[float], **kw: Any) -> Metric:
    return bootstrap(list(values), mean, **kw)


def macro_f1(pairs: Sequence[tuple[str, str]]) -> float:
    """Macro-averaged F1 over the gold labels present (a label never predicted scores 0)."""
    labels = sorted({g for g, _ in pairs})
    if not labels:
        return math.nan
    f1s = []
    for lab in labels:
        tp = sum(1 for g, p in pairs if g == lab and p == lab)
        fp = sum(1 for g, p in pairs if g != lab and p == lab)
        fn = sum(1 for g, p in pairs if g == lab and p != lab)
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(f1s) / len(f1s)


def accuracy(pairs: Sequence[tuple[str, str]]) -> float:
    return mean([1.0 if g == p else 0.0 for g, p in pairs])


def paired_delta(a: Sequence[float], b: Sequence[float], *, resamples: int = 2000, seed: int = 0,
                 confidence: float = 0.95) -> Metric:
    """Mean of ``b - a`` over paired examples with a bootstrap CI; significant when the CI excludes 0."""
    diffs = [y - x for x, y in zip(a, b, strict=True)]
    out = bootstrap(diffs, mean, resamples=resamples, seed=seed, confidence=confidence)
    out["significant"] = _significant(out)
    return out


def _significant(m: Metric) -> bool:
    lo, hi = m.get("ci_low"), m.get("ci_high")
    return lo is not None and hi is not None and (lo > 0 or hi < 0)


def unpaired_delta(a: Metric, b: Metric) -> Metric:
    """``b - a`` from two independent intervals (normal approximation from the CI widths)."""
    if a.get("value") is None or b.get("value") is None:
        return {"value": None, "ci_low": None, "ci_high": None, "significant": False}
    z = 1.959964
    se_a = ((a["ci_high"] or a["value"]) - (a["ci_low"] or a["value"])) / (2 * z)
    se_b = ((b["ci_high"] or b["value"]) - (b["ci_low"] or b["value"])) / (2 * z)
    d = b["value"] - a["value"]
    se = math.hypot(se_a, se_b)
    out = {"value": _r(d), "ci_low": _r(d - z * se), "ci_high": _r(d + z * se)}
    out["significant"] = _significant(out) if se > 0 else d != 0
    return out


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float:
    """Agreement between two binary raters beyond chance (1 perfect, 0 chance level)."""
    n = len(a)
    if n == 0:
        return math.nan
    po = sum(1 for x, y in zip(a, b, strict=True) if x == y) / n
    pa, pb = sum(a) / n, sum(b) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    return 1.0 if pe == 1 else (po - pe) / (1 - pe)


def ratio(lo: float, hi: float) -> float:
    """min/max disparity ratio (1 = parity), as in Fairlearn's ``*_ratio`` metrics."""
    if hi == 0:
        return 1.0 if lo == 0 else math.nan
    return lo / hi
