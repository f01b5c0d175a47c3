"""The guard pipeline: clean the text, run the enabled rails in one pass, let the policy decide.

Rails share one ``SharedState`` per check, so the injection and scope heads reuse a single MiniLM
embedding of the text. Heavy models (Presidio/spaCy, MiniLM, the profanity model) load on first use and
are cached per process; ``warm()`` loads them ahead of the first request.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from frugalstack.edge.guard.policy import INPUT_RAILS, OUTPUT_RAILS, Policy, load_policy, most_severe
from frugalstack.edge.guard.rails.grounding import GroundingRail
from frugalstack.edge.guard.rails.injection import InjectionRail
from frugalstack.edge.guard.rails.json_schema import JsonSchemaRail
from frugalstack.edge.guard.rails.pii import PiiRail
from frugalstack.edge.guard.rails.scope import ScopeRail
from frugalstack.edge.guard.rails.toxicity import ToxicityRail
from frugalstack.edge.guard.redact import redact
from frugalstack.edge.guard.text import WINDOW_CHARS, clean, windows
from frugalstack.edge.guard.types import CheckContext, Direction, Finding, GuardVerdict, Rail, SharedState
from frugalstack.shared.errors import ValidationError

RailSelection = Mapping[str, bool] | Iterable[str] | None


def cited_terms(citations: list[dict[str, Any]] | None) -> list[str]:
    """Titles and brands of cited records: product names like "Alpine Trail Runner" are not people."""
    return [str(c[k]) for c in citations or [] for k in ("title", "brand") if isinstance(c.get(k), str) and c[k]]


class GuardPipeline:
    """Input and output rails under one policy.

    >>> guard = GuardPipeline()                       # shipped default policy
    >>> guard.check_input("my card is 4111 1111 1111 1111").redacted_text
    'my card is <CARD>'
    """

    def __init__(
        self,
        policy: str | Path | Policy | None = None,
        *,
        extra_brands: list[str] | None = None,
        embedder: Any | None = None,
    ):
        self.policy = load_policy(policy)
        th = self.policy.thresholds
        self._embedder = embedder
        self.rails: dict[str, Rail] = {
            "pii": PiiRail(ner_max_chars=self.policy.ner_max_chars, extra_brands=extra_brands),
            "injection": InjectionRail(threshold=th.get("injection")),
            "toxicity": ToxicityRail(threshold=th.get("toxicity", 0.65)),
            "scope": ScopeRail(threshold=th.get("scope")),
            "grounding": GroundingRail(),
            "json_schema": JsonSchemaRail(),
        }

    def warm(self) -> GuardPipeline:
        """Load every model now (seconds) instead of on the first message."""
        self.check_input("warm up: is the blue backpack waterproof?")
        return self

    def enabled(self, direction: Direction, rails: RailSelection = None) -> list[str]:
        """Rails that run: the policy's switches, overridden per call by a list (exactly these) or a dict."""
        known = INPUT_RAILS if direction == "input" else OUTPUT_RAILS
        switches = dict(self.policy.rails.input if direction == "input" else self.policy.rails.output)
        if isinstance(rails, str):
            rails = [rails]
        if rails is not None:
            if isinstance(rails, Mapping):
                switches.update({k: bool(v) for k, v in rails.items()})
                names = set(rails)
            else:
                names = set(rails)
                switches = {k: k in names for k in known}
            bad = names - set(known)
            if bad:
                raise ValidationError(f"unknown {direction} rail(s) {sorted(bad)}; known: {list(known)}")
        return [r for r in known if switches.get(r, False)]

    def check_input(
        self,
        text: str | bytes,
        *,
        rails: RailSelection = None,
        retrieved: list[str] | None = None,
        allow_terms: list[str] | None = None,
    ) -> GuardVerdict:
        """Rails on a user message (and on retrieved documents, for indirect injection); ``allow_terms``
        (product titles, brands) are never reported as person names."""
        ctx = CheckContext(retrieved=retrieved or [], allow_terms=allow_terms or [])
        return self.check(text, direction="input", rails=rails, context=ctx)

    def check_output(
        self,
        text: str | bytes,
        *,
        citations: list[dict[str, Any]] | None = None,
        json_schema: dict[str, Any] | None = None,
        rails: RailSelection = None,
    ) -> GuardVerdict:
        """Rails on a model answer: PII leakage, toxicity, grounding vs ``citations``, JSON schema."""
        ctx = CheckContext(citations=citations or [], json_schema=json_schema, allow_terms=cited_terms(citations))
        return self.check(text, direction="output", rails=rails, context=ctx)

    def check(
        self,
        text: str | bytes,
        *,
        direction: Direction = "input",
        rails: RailSelection = None,
        context: CheckContext | None = None,
    ) -> GuardVerdict:
        start = time.perf_counter()
        ctx = context or CheckContext()
        cleaned = clean(text, max_chars=self.policy.max_chars)
        body = cleaned.text
        names = self.enabled(direction, rails)
        findings: list[Finding] = []
        n = len(body)
        if cleaned.invalid_utf8:
            findings.append(
                Finding(
                    rail="input",
                    type="INVALID_UTF8",
                    start=0,
                    end=n,
                    score=1.0,
                    detail="undecodable bytes replaced by U+FFFD",
                )
            )
        if cleaned.removed_controls:
            findings.append(
                Finding(
                    rail="input",
                    type="CONTROL_CHARS",
                    start=0,
                    end=n,
                    score=1.0,
                    detail=f"{cleaned.removed_controls} control characters removed",
                )
            )
        if cleaned.invisible and "injection" in names:
            findings.append(
                Finding(
                    rail="injection",
                    type="HIDDEN_UNICODE",
                    start=0,
                    end=n,
                    score=0.9 if cleaned.invisible >= 3 else 0.6,
                    detail=f"{cleaned.invisible} invisible characters removed",
                )
            )
        heuristics = InjectionRail().heuristics(body) if n > WINDOW_CHARS and "injection" in names else None
        # Long texts: the classifiers look at the start, the end and the windows around heuristic hits.
        hot = windows(body, [f.start for f in heuristics]) if heuristics is not None else None
        shared = SharedState(body, self._embedder, hot)
        if heuristics is not None:
            shared.cache["injection_heuristics"] = heuristics
        for name in names:
            findings += self.rails[name].check(body, ctx, shared)
        return self._decide(body, findings, direction, names, start)

    def _decide(
        self, body: str, findings: list[Finding], direction: Direction, names: list[str], start: float
    ) -> GuardVerdict:
        decided: list[Finding] = []
        message: str | None = None
        for f in findings:
            f.action = self.policy.decide(f, direction)[0]  # findings are fresh per check: set in place
            decided.append(f)
        action = most_severe([f.action for f in decided])
        for f in decided:
            if f.action == action and action in ("block", "escalate"):
                message = self.policy.decide(f, direction)[1]
                if message:
                    break
        redacted, vault = redact(body, [f for f in decided if f.action == "redact"])
        verdict = GuardVerdict(
            action=action,
            allowed=action in ("allow", "redact"),
            redacted_text=redacted,
            findings=decided,
            direction=direction,
            message=message or self.policy.message_for(action),
            rails=names,
            latency_ms=(time.perf_counter() - start) * 1000,
        )
        verdict._vault = vault
        return verdict
