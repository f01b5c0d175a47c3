"""Confidence: escalate when the SLM was unsure or retrieval did not back its answer.

The score is a weighted mean of "doubt" terms in [0, 1], each from one signal (low mean / minimum token
logprob, high entropy, an answer far too short for the question, a weak or ambiguous retrieval, no grounded
citation), raised to 1 by a hard failure (a refusal, an empty answer, a grounding mismatch). Without a draft
only the retrieval terms count, so the policy can also run *before* generating (no cascade latency).
"""

from __future__ import annotations

from dataclasses import dataclass

from frugalstack.edge.router.signals import Signals, compute
from frugalstack.edge.router.types import Draft, RouteContext, ThresholdRouter


def _clip(x: float) -> float:
    return max(0.0, min(1.0, x))


@dataclass
class ConfidenceWeights:
    """How much each doubt term counts; the scales say at which raw value a term reaches 1."""

    mean_logprob: float = 1.0
    min_logprob: float = 0.5
    entropy: float = 0.5
    short_answer: float = 0.5
    retrieval: float = 1.0
    score_gap: float = 0.3
    no_citation: float = 0.5
    mean_logprob_scale: float = 1.5  # mean logprob of -1.5 nats = full doubt
    min_logprob_scale: float = 8.0
    entropy_scale: float = 2.0
    short_ratio: float = 0.3  # answer words / question words below this = too short
    gap_scale: float = 0.1


def doubt_terms(sig: Signals, w: ConfidenceWeights) -> list[tuple[str, float, float]]:
    """(name, weight, doubt in [0, 1]) for every signal present; hard failures come back with doubt 1."""
    terms: list[tuple[str, float, float]] = []
    if sig.empty or sig.refusal or sig.grounding_failures:
        why = "empty answer" if sig.empty else "refusal" if sig.refusal else "grounding check failed"
        terms.append((why, float("inf"), 1.0))
    if sig.has_logprobs:
        terms += [
            ("low mean logprob", w.mean_logprob, _clip(-sig.mean_logprob / w.mean_logprob_scale)),
            ("low min logprob", w.min_logprob, _clip(-sig.min_logprob / w.min_logprob_scale)),
            ("high entropy", w.entropy, _clip(sig.mean_entropy / w.entropy_scale)),
            ("short answer", w.short_answer, 1.0 if sig.length_ratio < w.short_ratio else 0.0),
        ]
    if sig.has_retrieval:
        terms += [
            ("weak retrieval", w.retrieval, _clip(1.0 - sig.top_score)),
            ("ambiguous retrieval", w.score_gap, _clip(1.0 - sig.score_gap / w.gap_scale)),
        ]
        if sig.has_logprobs:
            terms.append(("no grounded citation", w.no_citation, 1.0 if sig.citations == 0 else 0.0))
    return terms


def doubt(sig: Signals, w: ConfidenceWeights) -> tuple[float, list[str]]:
    """The combined doubt in [0, 1] (weighted mean; 1 on a hard failure) and the terms that drove it."""
    terms = doubt_terms(sig, w)
    hard = [t[0] for t in terms if t[1] == float("inf")]
    if hard:
        return 1.0, hard
    total = sum(t[1] for t in terms)
    if not total:
        return 0.5, ["no signals"]
    score = sum(weight * value for _, weight, value in terms) / total
    top = sorted(terms, key=lambda t: -t[1] * t[2])[:2]
    return score, [name for name, weight, value in top if weight * value > 0]


class ConfidenceRouter(ThresholdRouter):
    """Escalate when doubt >= threshold. ``use_draft=False`` decides from retrieval alone, before generating."""

    name = "confidence"

    def __init__(self, threshold: float = 0.5, weights: ConfidenceWeights | None = None, use_draft: bool = True):
        super().__init__(threshold)
        self.weights = weights or ConfidenceWeights()
        self.use_draft = use_draft
        self.needs_draft = use_draft

    def score(self, ctx: RouteContext) -> tuple[float, str]:
        draft = ctx.draft
        if draft is not None and not self.use_draft:  # pre-generation mode: keep the retrieval part only
            draft = Draft(text="x", retrieval_scores=draft.retrieval_scores)
            sig = compute(ctx.query, draft)
            sig.has_logprobs, sig.empty, sig.refusal = False, 0.0, 0.0
        else:
            sig = compute(ctx.query, draft)
        return self.score_signals(sig)

    def score_signals(self, sig: Signals) -> tuple[float, str]:
        if not self.use_draft:
            sig = Signals(**{**sig.__dict__, "has_logprobs": False, "empty": 0.0, "refusal": 0.0,
                             "grounding_failures": 0.0})
        s, why = doubt(sig, self.weights)
        return s, ("doubt from " + ", ".join(why)) if why else "confident"
