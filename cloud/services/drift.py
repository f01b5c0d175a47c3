"""Drift on aggregated distributions: population stability index of a day against the week before it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from frugalstack.cloud.db.base import new_id
from frugalstack.cloud.db.tables_ops import DailyAggregate, DriftAlert

MIN_COUNT = 20  # fewer observations than this on either side: no verdict
EPS = 1e-4
REFERENCE_DAYS = 7


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    """PSI = sum((a - e) * ln(a / e)) over bucket shares; 0.1 is a shift, 0.2+ a significant one."""
    te, ta = sum(expected), sum(actual)
    if te <= 0 or ta <= 0:
        return 0.0
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        pe, pa = max(e / te, EPS), max(a / ta, EPS)
        total += (pa - pe) * math.log(pa / pe)
    return total


def _add(a: list[float], b: Sequence[float]) -> list[float]:
    if not a:
        return [float(x) for x in b]
    if not b:
        return a
    return [x + y for x, y in zip(a, b, strict=False)]


def distributions(rows: Sequence[DailyAggregate]) -> dict[str, tuple[list[str] | None, list[float]]]:
    latency: list[float] = []
    length: list[float] = []
    intents: dict[str, float] = {}
    feedback = [0.0, 0.0]
    for r in rows:
        latency = _add(latency, r.duration_hist or [])
        length = _add(length, r.input_len_hist or [])
        for k, v in (r.intents or {}).items():
            intents[k] = intents.get(k, 0.0) + v
        feedback[0] += r.feedback_positive
        feedback[1] += r.feedback_negative
    return {"latency": (None, latency), "input_length": (None, length),
            "intent_mix": (sorted(intents), [intents[k] for k in sorted(intents)]), "feedback_rate": (None, feedback)}


def check(session: Session, day: date, model_version_id: str, model: str, profile: str, threshold: float) -> int:
    """Compare one day with the previous week for one model version x profile; store alerts; count them."""
    same = (DailyAggregate.model_version_id == model_version_id, DailyAggregate.model == model,
            DailyAggregate.profile == profile)
    current = session.scalars(select(DailyAggregate).where(DailyAggregate.day == day, *same)).all()
    reference = session.scalars(select(DailyAggregate).where(
        DailyAggregate.day >= day - timedelta(days=REFERENCE_DAYS), DailyAggregate.day < day, *same)).all()
    if not current or not reference:
        return 0
    cur, ref = distributions(current), distributions(reference)
    raised = 0
    for metric, (keys, values) in cur.items():
        ref_keys, ref_values = ref[metric]
        if keys is not None:  # categorical: align on the union of categories
            ref_map = dict(zip(ref_keys or [], ref_values, strict=True))
            cur_map = dict(zip(keys, values, strict=True))
            allk = sorted(set(ref_map) | set(cur_map))
            ref_values, values = [ref_map.get(k, 0.0) for k in allk], [cur_map.get(k, 0.0) for k in allk]
        if sum(values) < MIN_COUNT or sum(ref_values) < MIN_COUNT or len(values) != len(ref_values):
            continue
        score = psi(ref_values, values)
        if score <= threshold:
            continue
        alert = session.scalars(select(DriftAlert).where(
            DriftAlert.day == day, DriftAlert.model_version_id == model_version_id, DriftAlert.profile == profile,
            DriftAlert.metric == metric)).first()
        if alert is None:
            session.add(DriftAlert(id=new_id(), day=day, model_version_id=model_version_id, model=model,
                                   profile=profile, metric=metric, psi=score, threshold=threshold))
        else:
            alert.psi = score
        raised += 1
    return raised
