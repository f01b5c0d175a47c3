"""Guardrails on the edge: PII, prompt injection, toxicity, scope, grounding and output-format rails.

Importing this package is cheap; Presidio, spaCy, the embedder and scikit-learn load on first use.
"""

from frugalstack.edge.guard.types import CheckContext, Finding, GuardVerdict

__all__ = ["CheckContext", "Finding", "GuardPipeline", "GuardVerdict", "Policy", "load_policy"]


def __getattr__(name: str) -> object:
    if name == "GuardPipeline":
        from frugalstack.edge.guard.pipeline import GuardPipeline

        return GuardPipeline
    if name in ("Policy", "load_policy"):
        from frugalstack.edge.guard import policy

        return getattr(policy, name)
    raise AttributeError(name)
