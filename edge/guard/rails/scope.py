"""Scope rail: is this an e-commerce request at all? A linear head over the shared MiniLM embedding
classifies the message into shop intents or ``out_of_scope``; the policy refuses or escalates the latter.
"""

from __future__ import annotations

from frugalstack.edge.guard.heads import load_heads
from frugalstack.edge.guard.types import CheckContext, Finding, SharedState

OUT = "out_of_scope"


class ScopeRail:
    """One ``OUT_OF_SCOPE`` finding (detail: the runner-up shop intent) when the head says so."""

    name = "scope"

    def __init__(self, *, threshold: float | None = None, min_chars: int = 8):
        self.threshold = threshold  # None: the head's own, chosen by cross-validation at training time
        self.min_chars = min_chars  # "hi", "ok", "thanks" carry no topic: never refused

    def intent(self, shared: SharedState) -> tuple[str, float, float]:
        """(best shop intent, its probability, probability of out_of_scope) for the message's first window."""
        head = load_heads()["scope"]
        probs = head.proba(shared.vectors()[:1])[0]
        out_p = float(probs[head.classes.index(OUT)]) if OUT in head.classes else 0.0
        ranked = sorted(((float(p), c) for c, p in zip(head.classes, probs, strict=True) if c != OUT), reverse=True)
        best_p, best = ranked[0] if ranked else (0.0, "")
        return best, best_p, out_p

    def check(self, text: str, ctx: CheckContext, shared: SharedState) -> list[Finding]:
        if len(text.strip()) < self.min_chars:
            return []
        best, _, out_p = self.intent(shared)
        if out_p >= (self.threshold or load_heads()["scope"].metrics.get("threshold", 0.5)):
            return [
                Finding(
                    rail=self.name,
                    type="OUT_OF_SCOPE",
                    start=0,
                    end=len(text),
                    score=round(out_p, 4),
                    detail=f"closest shop intent: {best}",
                )
            ]
        return []
