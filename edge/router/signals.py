"""Confidence signals from the device's draft: how sure the SLM was, and how well retrieval backed it.

These are the inputs the confidence, cascade and learned policies share, computed once per request in a
fixed order (``FEATURES``) so a learned head can take them as a vector next to the query embedding.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import numpy as np

from frugalstack.edge.router.types import Draft

_REFUSAL = re.compile(
    r"\b(i'?m sorry|i am sorry|i (?:can(?:no|')t|cannot|do not|don'?t) (?:help|answer|know|have|access|provide|find)|"
    r"as an ai|not sure|unable to|no information|i apologi[sz]e|don'?t have (?:access|information))\b",
    re.IGNORECASE,
)

FEATURES: tuple[str, ...] = (
    "mean_logprob", "min_logprob", "mean_entropy", "length_ratio", "refusal", "empty",
    "top_score", "score_gap", "citations", "grounding_failures",
)


@dataclass
class Signals:
    """One request's signals; missing inputs take neutral values (and are marked by ``has_*``)."""

    mean_logprob: float = 0.0
    min_logprob: float = 0.0
    mean_entropy: float = 0.0
    length_ratio: float = 1.0
    refusal: float = 0.0
    empty: float = 0.0
    top_score: float = 0.0
    score_gap: float = 0.0
    citations: float = 0.0
    grounding_failures: float = 0.0
    has_logprobs: bool = False
    has_retrieval: bool = False

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, f) for f in FEATURES], dtype=np.float32)

    def as_dict(self) -> dict[str, float | bool]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def from_vector(vec: list[float] | np.ndarray, has_logprobs: bool = True, has_retrieval: bool = True) -> Signals:
    """Rebuild ``Signals`` from a stored ``vector()`` (the eval caches vectors, not drafts)."""
    return Signals(**{f: float(v) for f, v in zip(FEATURES, vec, strict=True)},
                   has_logprobs=has_logprobs, has_retrieval=has_retrieval)


def is_refusal(text: str) -> bool:
    return bool(_REFUSAL.search(text))


def _entropy(chosen: float, top: dict[str, float]) -> float:
    """Entropy (nats) of the next-token distribution truncated to the reported top tokens."""
    lps = list(top.values()) or [chosen]
    if chosen not in lps:
        lps.append(chosen)
    p = np.exp(np.array(lps, dtype=np.float64))
    p = p / p.sum()
    return float(-(p * np.log(np.clip(p, 1e-12, None))).sum())


def compute(query: str, draft: Draft | None) -> Signals:
    """Signals for ``query`` answered by ``draft`` (all neutral when there is no draft yet)."""
    s = Signals()
    if draft is None:
        return s
    text = draft.text.strip()
    s.empty = float(not text)
    s.refusal = float(is_refusal(text))
    q_words = max(1, len(query.split()))
    s.length_ratio = min(10.0, len(text.split()) / q_words)
    lps = [lp for lp in draft.logprobs if math.isfinite(lp)]
    if lps:
        s.has_logprobs = True
        s.mean_logprob = float(np.mean(lps))
        s.min_logprob = float(min(lps))
        if draft.top_logprobs:
            ents = [_entropy(lp, top) for lp, top in zip(lps, draft.top_logprobs, strict=False)]
            s.mean_entropy = float(np.mean(ents)) if ents else 0.0
    if draft.retrieval_scores:
        s.has_retrieval = True
        scores = sorted(draft.retrieval_scores, reverse=True)
        s.top_score = float(scores[0])
        s.score_gap = float(scores[0] - scores[1]) if len(scores) > 1 else float(scores[0])
    s.citations = float(len(draft.citations))
    s.grounding_failures = float(draft.grounding_failures)
    return s
