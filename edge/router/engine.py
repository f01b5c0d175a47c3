"""Route one request end to end: draft on the device when the policy wants one, decide, call the cloud,
and fall back to the device with a flag when the cloud fails. The result says where and why."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from frugalstack.edge.router.cloud import CloudClient, CloudResult
from frugalstack.edge.router.rules import RulesRouter
from frugalstack.edge.router.types import Decision, Draft, RouteContext, Router


@dataclass
class RoutedAnswer:
    text: str
    answered_by: Literal["edge", "cloud"]
    decision: Decision
    draft: str | None = None  # the device's answer when one was made (kept when the cloud answered)
    fallback: str | None = None  # why the cloud was asked but the device answered (timeout, http_5xx, ...)
    latency_ms: float = 0.0
    cascade_cost_ms: float = 0.0  # device time spent on a draft that the cloud then replaced
    cloud: CloudResult | None = field(default=None, repr=False)
    local: Any = field(default=None, repr=False)  # the device's full answer object (citations, ...) when made

    def attributes(self) -> dict[str, Any]:
        """Telemetry attributes (TraceRecord.attributes); never the text."""
        out = self.decision.attributes()
        out["frugal.route.decision"] = self.answered_by  # what happened, not only what was planned
        out["frugal.route.planned"] = self.decision.target
        if self.fallback:
            out["frugal.route.fallback"] = self.fallback
        if self.cascade_cost_ms:
            out["frugal.route.cascade_cost_ms"] = round(self.cascade_cost_ms, 1)
        return out


def route_and_answer(ctx: RouteContext, router: Router, edge: Callable[[], Draft],
                     cloud: CloudClient | None, cloud_messages: Callable[[], list[dict[str, str]]],
                     *, max_tokens: int = 128,
                     on_cloud_call: Callable[[CloudResult], None] | None = None) -> RoutedAnswer:
    """Answer ``ctx.query`` where ``router`` says; the cloud is skipped when ``cloud`` is None or offline."""
    start = time.perf_counter()
    if cloud is None:
        ctx.online = False
    decision = router.match(ctx) if isinstance(router, RulesRouter) else None  # a hard rule needs no draft
    if decision is None:
        if router.needs_draft and ctx.draft is None and ctx.online:
            ctx.draft = edge()
        decision = router.decide(ctx)
    if decision.target == "edge" or cloud is None:
        draft = ctx.draft or edge()
        return RoutedAnswer(draft.text, "edge", decision, draft.text, None if decision.target == "edge" else "offline",
                            (time.perf_counter() - start) * 1000)
    res = cloud.chat(cloud_messages(), max_tokens=max_tokens)
    if on_cloud_call is not None and res.ok:
        on_cloud_call(res)
    draft_ms = ctx.draft.latency_ms if ctx.draft is not None else 0.0
    if res.ok:
        return RoutedAnswer(res.text, "cloud", decision, ctx.draft.text if ctx.draft else None, None,
                            (time.perf_counter() - start) * 1000, draft_ms, res)
    draft = ctx.draft or edge()
    return RoutedAnswer(draft.text, "edge", decision, draft.text, res.reason, (time.perf_counter() - start) * 1000,
                        0.0, res)
