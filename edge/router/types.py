"""The router's wire types: what a policy sees (``RouteContext``) and what it says (``Decision``).

Every policy answers the same question, "edge or cloud for this request?", with a reason a person can
read and a score in [0, 1] (higher = more reason to escalate), so policies can be compared, stacked and
calibrated by moving one threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Target = Literal["edge", "cloud"]

#: Intents whose answer lives in server-side data (orders, payments, accounts) the device does not hold.
SERVER_SIDE_INTENTS: frozenset[str] = frozenset({"order_status", "return_refund", "account"})


@dataclass
class Draft:
    """What the device produced for the request: the answer, its token logprobs, what it retrieved."""

    text: str
    logprobs: list[float] = field(default_factory=list)  # natural-log probability of each generated token
    top_logprobs: list[dict[str, float]] = field(default_factory=list)  # runner-up tokens per position
    retrieval_scores: list[float] = field(default_factory=list)  # best first, cosine/fused scores in [0, 1]
    citations: list[str] = field(default_factory=list)  # ids cited in the answer that were retrieved
    grounding_failures: int = 0  # price/stock/attribute mismatches found by the grounding check
    latency_ms: float = 0.0
    output_tokens: int = 0


@dataclass
class RouteContext:
    """Everything a policy may look at. Only ``query`` is required; each policy uses what is present."""

    query: str
    intent: str | None = None
    guard_action: str | None = None  # the guard verdict's action: allow/redact/block/escalate
    user_wants_cloud: bool = False
    online: bool = True
    draft: Draft | None = None
    embedding: Any = None  # np.ndarray (384,) unit-norm MiniLM vector of the query, when computed
    device: dict[str, Any] = field(default_factory=dict)  # battery, charging, metered (see budget.DeviceState)
    features: dict[str, float] | None = None  # feature-store inputs (``edge.router.features.feature_signals``)


@dataclass
class Decision:
    """Where to answer, why, and how strongly (``score`` near 1 = the cloud is likely better)."""

    target: Target
    reason: str
    score: float
    policy: str
    details: dict[str, Any] = field(default_factory=dict)

    def attributes(self) -> dict[str, Any]:
        """The decision as telemetry attributes (no text of the request)."""
        return {
            "frugal.route.decision": self.target,
            "frugal.route.reason": self.reason,
            "frugal.route.score": round(float(self.score), 4),
            "frugal.route.policy": self.policy,
        }


@runtime_checkable
class Router(Protocol):
    """One routing policy. ``needs_draft`` says whether ``decide`` wants the device's answer first."""

    name: str

    @property
    def needs_draft(self) -> bool: ...

    def decide(self, ctx: RouteContext) -> Decision: ...


class ThresholdRouter:
    """Base of the score-based policies: ``score(ctx) >= threshold`` escalates; calibration moves the threshold."""

    name = "threshold"
    needs_draft = True

    def __init__(self, threshold: float = 0.5):
        self.threshold = float(threshold)

    def score(self, ctx: RouteContext) -> tuple[float, str]:
        raise NotImplementedError

    def decide(self, ctx: RouteContext) -> Decision:
        s, why = self.score(ctx)
        target: Target = "cloud" if s >= self.threshold else "edge"
        verb = "escalate" if target == "cloud" else "stay on device"
        return Decision(target, f"{why}; {verb} (score {s:.2f} vs threshold {self.threshold:.2f})", s, self.name,
                        {"threshold": self.threshold})
