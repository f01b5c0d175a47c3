"""Store and load calibrated thresholds with the router version they belong to; build a router by name.

A calibration is only valid for the exact policy version it was fitted on (the confidence weights'
version, or the learned head's parameter digest); ``make_router`` refuses a mismatched one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from frugalstack.edge.router.cascade import CascadeRouter
from frugalstack.edge.router.confidence import ConfidenceRouter
from frugalstack.edge.router.learned import LearnedRouter
from frugalstack.edge.router.rules import RulesRouter
from frugalstack.edge.router.types import Router, ThresholdRouter
from frugalstack.shared.errors import ConfigError

POLICIES = ("confidence", "confidence-pre", "cascade", "learned", "learned-pre", "rules+confidence")
STATIC_VERSIONS = {"confidence": "confidence-v1", "confidence-pre": "confidence-v1", "cascade": "cascade-v1",
                   "rules+confidence": "rules-v1"}


def default_store() -> Path:
    from frugalstack.edge.settings import EdgeSettings

    return EdgeSettings().home / "router"


def save(store: Path, policy: str, result: dict[str, Any], version: str, source: str,
         head: LearnedRouter | None = None) -> Path:
    """Write ``store/calibration.json`` (one entry per policy) and the learned head next to it."""
    store.mkdir(parents=True, exist_ok=True)
    path = store / "calibration.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[policy] = {"threshold": result["threshold"], "version": version, "target": result["target"],
                    "met": result["met"], "dev_cloud_share": result["cloud_share"],
                    "dev_quality_rel": result["quality_rel"], "dataset": source,
                    "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    path.write_text(json.dumps(data, indent=2))
    if head is not None:
        head.threshold = result["threshold"]
        head.save(store / policy, extra={"calibration": data[policy]})
    return path


def load(store: Path, policy: str) -> dict[str, Any] | None:
    path = store / "calibration.json"
    if not path.is_file():
        return None
    entry: dict[str, Any] | None = json.loads(path.read_text()).get(policy)
    return entry


def make_router(policy: str = "rules+confidence", store: Path | None = None, threshold: float | None = None) -> Router:
    """The named policy with its calibrated threshold (or ``threshold``, or the policy's default)."""
    if policy not in POLICIES:
        raise ConfigError(f"unknown route policy {policy!r}", hint=f"one of {', '.join(POLICIES)}")
    store = store or default_store()
    cal = load(store, policy)
    inner: ThresholdRouter
    if policy.startswith("learned"):
        inner = LearnedRouter.load(store / policy)
        if cal and cal["version"] != inner.version:
            raise ConfigError(f"calibration for {policy} is for {cal['version']}, the head is {inner.version}",
                              hint="re-run `frugal route calibrate`")
    else:
        if cal and cal["version"] != STATIC_VERSIONS[policy]:
            raise ConfigError(f"calibration for {policy} is for {cal['version']}, not {STATIC_VERSIONS[policy]}")
        inner = (CascadeRouter() if policy == "cascade"
                 else ConfidenceRouter(use_draft=policy != "confidence-pre"))
    if threshold is not None:
        inner.threshold = threshold
    elif cal:
        inner.threshold = float(cal["threshold"])
    return RulesRouter(fallback=inner)  # the hard rules (offline, guard, user, server-side intent) always apply
