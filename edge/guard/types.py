"""The guard's wire types: plain pydantic models, so the router and the server can consume verdicts.

A rail only *finds*; the policy decides. Every finding names its rail, a type, a span in the checked
text and a score, so a verdict can be explained and evaluated without re-running the rails.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

Action = Literal["allow", "redact", "block", "escalate"]
Direction = Literal["input", "output"]

#: Order of severity: the verdict takes the most severe action any finding maps to.
SEVERITY: dict[str, int] = {"allow": 0, "redact": 1, "escalate": 2, "block": 3}


class Finding(BaseModel):
    """One thing a rail found: ``text[start:end]`` is the evidence (the whole text for text-level findings)."""

    model_config = ConfigDict(extra="forbid")

    rail: str
    type: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    score: float = Field(ge=0.0, le=1.0)
    action: Action = "allow"
    detail: str | None = None


class GuardVerdict(BaseModel):
    """What the guard decided for one text; ``redacted_text`` is what may go to the model or the user."""

    action: Action
    allowed: bool
    redacted_text: str
    findings: list[Finding] = Field(default_factory=list)
    direction: Direction = "input"
    message: str | None = Field(None, description="safe message to show instead when blocked or escalated")
    rails: list[str] = Field(default_factory=list, description="rails that ran")
    latency_ms: float = 0.0
    _vault: dict[str, str] = PrivateAttr(default_factory=dict)

    def restore(self, text: str) -> str:
        """Put redacted values back into ``text`` (device-only; the vault is never serialised)."""
        from frugalstack.edge.guard.redact import restore

        return restore(text, self._vault)

    def public(self) -> dict[str, Any]:
        """The JSON shape of ``frugal guard check --json`` and ``POST /v1/guard``."""
        return {
            "action": self.action,
            "allowed": self.allowed,
            "redacted_text": self.redacted_text,
            "message": self.message,
            "findings": [
                {
                    "rail": f.rail,
                    "type": f.type,
                    "start": f.start,
                    "end": f.end,
                    "score": round(f.score, 4),
                    "action": f.action,
                    **({"detail": f.detail} if f.detail else {}),
                }
                for f in self.findings
            ],
        }


class CheckContext(BaseModel):
    """Extra material some rails need: cited records (grounding) and a JSON schema (output format)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    citations: list[dict[str, Any]] = Field(default_factory=list)
    json_schema: dict[str, Any] | None = None
    retrieved: list[str] = Field(default_factory=list, description="retrieved documents to scan for injection")
    allow_terms: list[str] = Field(default_factory=list, description="product titles/brands never reported as names")


@runtime_checkable
class Rail(Protocol):
    """A rail inspects text and returns findings; heavy models are loaded lazily and shared."""

    name: str

    def check(self, text: str, ctx: CheckContext, shared: SharedState) -> list[Finding]: ...


class SharedState:
    """Per-check scratch shared between rails, so the text is embedded once per pass."""

    def __init__(self, text: str, embedder: Any | None = None, windows: list[str] | None = None):
        self.text = text
        self._embedder = embedder
        self._windows = windows
        self._vectors: Any = None
        self.cache: dict[str, Any] = {}  # results one rail computed that another may reuse

    def windows(self) -> list[str]:
        """Bounded pieces of the text the embedding rails classify (first, last, and hot spots)."""
        if self._windows is None:
            from frugalstack.edge.guard.text import windows

            self._windows = windows(self.text)
        return self._windows

    def vectors(self) -> Any:
        """Unit-norm embeddings of ``windows()`` (computed once per pass)."""
        if self._vectors is None:
            if self._embedder is None:
                from frugalstack.edge.guard.embed import get_embedder

                self._embedder = get_embedder()
            self._vectors = self._embedder.embed(self.windows())
        return self._vectors
