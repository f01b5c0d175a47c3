"""A/B experiments: deterministic assignment by device-id hash and a two-proportion z-test."""

from __future__ import annotations

import hashlib
import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frugalstack.cloud.db.tables_ops import Experiment, ExperimentOutcome
from frugalstack.cloud.services import crud


def assign(experiment_id: str, device_id: str, variants: list[dict[str, Any]]) -> str:
    """The same device always gets the same variant; shares follow the weights."""
    digest = hashlib.sha256(f"{experiment_id}:{device_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    total = sum(float(v["weight"]) for v in variants)
    acc = 0.0
    for v in variants:
        acc += float(v["weight"]) / total
        if u < acc:
            return str(v["name"])
    return str(variants[-1]["name"])


def _norm_ppf(p: float) -> float:
    """Inverse standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9)."""
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
         -3.066479806614716e01, 2.506628277459239e00)
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
         -1.328068155288572e01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
         4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    lo = 0.02425
    if p < lo:
        q = math.sqrt(-2 * math.log(p))
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    if p > 1 - lo:
        return -_norm_ppf(1 - p)
    q = p - 0.5
    r = q * q
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (
        ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)


def wilson(successes: int, trials: int, z: float) -> tuple[float | None, float | None]:
    if trials == 0:
        return None, None
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def z_test(s1: int, n1: int, s2: int, n2: int, z_crit: float) -> dict[str, float | None]:
    """Two-proportion z-test of variant (2) against control (1); CI of the difference p2 - p1 (Wald)."""
    if n1 == 0 or n2 == 0:
        return {"difference": None, "ci_low": None, "ci_high": None, "z": None, "p_value": None}
    p1, p2 = s1 / n1, s2 / n2
    pooled = (s1 + s2) / (n1 + n2)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    diff = p2 - p1
    if se_pooled == 0:
        z, pval = 0.0, 1.0
    else:
        z = diff / se_pooled
        pval = math.erfc(abs(z) / math.sqrt(2))
    return {"difference": diff, "ci_low": diff - z_crit * se, "ci_high": diff + z_crit * se, "z": z, "p_value": pval}


def results(session: Session, experiment_id: str, confidence: float = 0.95) -> dict[str, Any]:
    exp = crud.get_or_404(session, Experiment, experiment_id, "experiment")
    counts = {o.variant: o for o in session.scalars(
        select(ExperimentOutcome).where(ExperimentOutcome.experiment_id == exp.id))}
    z_crit = _norm_ppf(1 - (1 - confidence) / 2)
    rows = []
    for v in exp.variants:
        o = counts.get(v["name"])
        n, s = (o.trials, o.successes) if o else (0, 0)
        lo, hi = wilson(s, n, z_crit)
        rows.append({"variant": v["name"], "trials": n, "successes": s, "rate": s / n if n else None,
                     "ci_low": lo, "ci_high": hi})
    control = rows[0]
    comps = []
    for r in rows[1:]:
        t = z_test(control["successes"], control["trials"], r["successes"], r["trials"], z_crit)
        comps.append({"variant": r["variant"], "control": control["variant"], **t,
                      "significant": t["p_value"] is not None and t["p_value"] < 1 - confidence})
    return {"experiment_id": exp.id, "confidence": confidence, "variants": rows, "comparisons": comps}


def record_outcome(session: Session, experiment_id: str, variant: str, trials: int, successes: int) -> None:
    exp = session.get(Experiment, experiment_id)
    if exp is None or variant not in {v["name"] for v in exp.variants}:
        return  # outcomes for unknown experiments/variants are ignored, not an error for the device
    row = session.scalars(select(ExperimentOutcome).where(
        ExperimentOutcome.experiment_id == experiment_id, ExperimentOutcome.variant == variant)).first()
    if row is None:
        from frugalstack.cloud.db.base import new_id

        row = ExperimentOutcome(id=new_id(), experiment_id=experiment_id, variant=variant, trials=0, successes=0)
        session.add(row)
    row.trials += trials
    row.successes += successes
