"""Cascade (FrugalGPT / AutoMix style): answer on the device, verify, escalate only when verification fails.

The device's answer is always produced first and kept as a draft (shown while the cloud works, and the
fallback when the cloud fails). The price is latency: an escalated request pays the draft *and* the cloud,
so ``latency_cost_ms`` reports the draft time added to every escalation.
"""

from __future__ import annotations

from frugalstack.edge.router.confidence import ConfidenceWeights, doubt_terms
from frugalstack.edge.router.signals import Signals, compute
from frugalstack.edge.router.types import Decision, RouteContext, ThresholdRouter

#: Terms too noisy to veto a draft on their own (one rare token; near-duplicate products).
_SOFT = frozenset({"low min logprob", "ambiguous retrieval", "short answer"})


def cascade_score(sig: Signals, w: ConfidenceWeights) -> tuple[float, str]:
    """The largest doubt among the checks (min/max over the weighted terms, not their mean)."""
    terms = [t for t in doubt_terms(sig, w) if t[0] not in _SOFT]
    if not terms:
        return 0.5, "nothing to verify"
    name, _, value = max(terms, key=lambda t: (t[2] if t[1] > 0 else 0.0))
    return value, f"weakest check: {name}"


class CascadeRouter(ThresholdRouter):
    """Verify the draft check by check; the weakest check decides (a hard failure always escalates).

Unlike ``ConfidenceRouter``'s weighted mean, one failed check is enough: the score is the largest doubt
among the draft checks (logprobs, entropy, citation, grounding) and retrieval strength.
"""

    name = "cascade"
    needs_draft = True

    def __init__(self, threshold: float = 0.5, weights: ConfidenceWeights | None = None):
        super().__init__(threshold)
        self.weights = weights or ConfidenceWeights()

    def score(self, ctx: RouteContext) -> tuple[float, str]:
        if ctx.draft is None:
            return 1.0, "no device draft to verify"
        return cascade_score(compute(ctx.query, ctx.draft), self.weights)

    def decide(self, ctx: RouteContext) -> Decision:
        d = super().decide(ctx)
        draft_ms = ctx.draft.latency_ms if ctx.draft is not None else 0.0
        d.details["draft_kept"] = ctx.draft is not None
        d.details["latency_cost_ms"] = round(draft_ms, 1) if d.target == "cloud" else 0.0
        d.reason = ("draft failed verification: " if d.target == "cloud" else "draft verified: ") + d.reason
        return d
