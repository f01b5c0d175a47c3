"""Guardrails on the edge: PII, prompt injection, toxicity, scope, grounding and output-format rails.

Importing this package is cheap (pydantic, numpy, regexes); Presidio/spaCy, the MiniLM embedder,
scikit-learn-trained heads and the profanity model load on first use.
"""

from frugalstack.edge.guard.pipeline import GuardPipeline
from frugalstack.edge.guard.policy import Policy, load_policy
from frugalstack.edge.guard.types import CheckContext, Finding, GuardVerdict

__all__ = ["CheckContext", "Finding", "GuardPipeline", "GuardVerdict", "Policy", "load_policy"]
