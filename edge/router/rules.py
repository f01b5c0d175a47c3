"""Rules: the cases where no score is needed, because the device cannot (or must not) answer alone.

The guard said escalate; the intent needs server-side data (orders, refunds, accounts); the user asked for
the cloud; or the device is offline (then the answer stays local whatever else is true). Anything else falls
through to ``fallback`` (another policy), or to the edge when there is none.
"""

from __future__ import annotations

from frugalstack.edge.router.types import SERVER_SIDE_INTENTS, Decision, RouteContext, Router


class RulesRouter:
    """Hard rules first; ``fallback`` decides the rest."""

    name = "rules"

    def __init__(self, fallback: Router | None = None, server_side_intents: frozenset[str] = SERVER_SIDE_INTENTS):
        self.fallback = fallback
        self.server_side_intents = server_side_intents

    @property
    def needs_draft(self) -> bool:
        return bool(self.fallback and self.fallback.needs_draft)

    def match(self, ctx: RouteContext) -> Decision | None:
        """The rule that fires for ``ctx``, or None when no rule applies."""
        if not ctx.online:
            return Decision("edge", "device offline: answer locally", 0.0, self.name, {"rule": "offline"})
        if ctx.guard_action == "escalate":
            return Decision("cloud", "guard verdict says escalate", 1.0, self.name, {"rule": "guard"})
        if ctx.user_wants_cloud:
            return Decision("cloud", "the user asked for the cloud", 1.0, self.name, {"rule": "user"})
        if ctx.intent in self.server_side_intents:
            return Decision("cloud", f"intent {ctx.intent} needs server-side data", 1.0, self.name,
                            {"rule": "intent"})
        return None

    def decide(self, ctx: RouteContext) -> Decision:
        hit = self.match(ctx)
        if hit is not None:
            return hit
        if self.fallback is not None:
            return self.fallback.decide(ctx)
        return Decision("edge", "no rule fired", 0.0, self.name, {"rule": None})
