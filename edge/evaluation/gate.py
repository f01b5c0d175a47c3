"""Promotion thresholds per use case and the check that names the failed metric.

Kept free of heavy imports (yaml + importlib only) because the cloud registry calls it when it records an
evaluation and when a version is promoted to production.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

#: Suites whose records the registry gates with the shipped thresholds.
RECORD_PREFIX = "frugal-eval/"


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, float]]:
    f = resources.files("frugalstack.edge.evaluation").joinpath("data", "thresholds.yaml")
    raw = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
    return {str(k): {str(m): float(v) for m, v in (vals or {}).items()} for k, vals in raw.items()}


def thresholds_for(use_case: str | None) -> dict[str, float]:
    """The shipped thresholds of a use case (by name), else the ``default`` ones."""
    table = _table()
    return dict(table.get(use_case or "default", table["default"]))


def merge(shipped: Mapping[str, float], given: Mapping[str, float]) -> dict[str, float]:
    """The stricter of the two per metric: a client may tighten the gate, never loosen it."""
    out = dict(shipped)
    for k, v in given.items():
        out[k] = max(v, out[k]) if k in out else v
    return out


def failures(metrics: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[str]:
    """One line per failed metric, e.g. ``intent.accuracy = 0.21 < 0.30`` (a missing metric fails too)."""
    out = []
    for name, limit in sorted(thresholds.items()):
        v = metrics.get(name)
        if isinstance(v, Mapping):
            v = v.get("value")
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(f"{name} is missing (needs >= {limit:g})")
        elif float(v) < limit:
            out.append(f"{name} = {float(v):.4g} < {limit:g}")
    return out


def check(metrics: Mapping[str, Any], use_case: str | None, extra: Mapping[str, float] | None = None) -> dict[str, Any]:
    th = merge(thresholds_for(use_case), extra or {})
    failed = failures(metrics, th)
    return {"use_case": use_case or "default", "thresholds": th, "passed": not failed, "failures": failed}
