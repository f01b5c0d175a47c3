"""How the edge runtime routes a question: the small hook ``Runtime.ask`` (issue 4) calls by default.

``route_ask`` wraps one local answer function (the runtime's RAG answer) and one cloud call: it builds the
``RouteContext`` (intent, guard verdict, user preference, connectivity, device state), lets the router
decide (drafting first when the policy needs one), falls back to the device when the cloud fails, and
writes the decision to the runtime's telemetry as a ``route`` trace whose attributes carry
``frugal.route.*`` (never the text). ``draft_from`` reads any answer object duck-typed, so it works with
``Runtime.chat``'s ``Reply`` and with the knowledge layer's grounded answer alike.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from frugalstack.edge.router.cloud import CloudClient
from frugalstack.edge.router.engine import RoutedAnswer, route_and_answer
from frugalstack.edge.router.types import Draft, RouteContext, Router
from frugalstack.shared.schemas import TraceRecord


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for n in names:
        v = obj.get(n) if isinstance(obj, dict) else getattr(obj, n, None)
        if v is not None:
            return v
    return default


def draft_from(answer: Any) -> Draft:
    """A ``Draft`` from a Reply / grounded answer: text, logprobs, retrieval scores, citations, grounding flags."""
    reply = _get(answer, "reply", default=answer)
    lps = _get(answer, "logprobs", default=None) or _get(reply, "logprobs", default=[]) or []
    cites: Sequence[Any] = _get(answer, "citations", default=[]) or []
    scores = _get(answer, "retrieval_scores", "scores", default=None)
    if scores is None:
        scores = [float(_get(c, "score", default=0.0)) for c in cites if _get(c, "score") is not None]
    flags = _get(answer, "grounding_flags", "grounding_failures", "mismatches", default=[])
    usage = _get(reply, "usage")
    return Draft(
        text=str(_get(answer, "text", "answer", default="")),
        logprobs=[float(_get(lp, "logprob")) for lp in lps],
        top_logprobs=[dict(_get(lp, "top_logprobs", default={}) or {}) for lp in lps],
        retrieval_scores=sorted((float(s) for s in scores), reverse=True),
        citations=[str(_get(c, "id", "doc_id", "product_id", default=c)) for c in cites],
        grounding_failures=flags if isinstance(flags, int) else len(flags),
        latency_ms=float(_get(reply, "latency_ms", default=0.0)),
        output_tokens=int(_get(usage, "output_tokens", default=0)) if usage is not None else 0,
    )


def route_ask(runtime: Any, question: str, answer_locally: Callable[[], Any], router: Router,
              cloud: CloudClient | None, cloud_messages: Callable[[], list[dict[str, str]]], *,
              intent: str | None = None, guard_action: str | None = None, user_wants_cloud: bool = False,
              device: dict[str, Any] | None = None, max_tokens: int = 256) -> RoutedAnswer:
    """Route one question; the local answer object is kept on ``result.local`` for citations."""
    local: list[Any] = []

    def edge() -> Draft:
        local.append(answer_locally())
        return draft_from(local[-1])

    ctx = RouteContext(query=question, intent=intent, guard_action=guard_action, user_wants_cloud=user_wants_cloud,
                       online=cloud is not None, device=device or {})
    result = route_and_answer(ctx, router, edge, cloud, cloud_messages, max_tokens=max_tokens)
    result.local = local[-1] if local else None
    record_decision(runtime, result, draft_trace=_get(local[-1], "trace_id") if local else None)
    return result


def record_decision(runtime: Any, result: RoutedAnswer, draft_trace: str | None = None) -> None:
    """One ``route`` trace in the runtime's telemetry store (if it keeps one); attributes only, no text."""
    store = getattr(runtime, "_telemetry", None)
    if store is None:
        return
    attrs = result.attributes()
    if draft_trace:
        attrs["frugal.route.draft_trace_id"] = draft_trace
    cloud = result.cloud
    store.record(TraceRecord(
        trace_id=uuid.uuid4().hex, timestamp=time.time(), operation="route",
        model=(cloud.model or "cloud") if result.answered_by == "cloud" and cloud else runtime.model_id,
        backend="cloud" if result.answered_by == "cloud" else runtime.backend_name,
        device_profile=runtime.profile.id, duration_ms=result.latency_ms,
        input_tokens=cloud.input_tokens if cloud and result.answered_by == "cloud" else 0,
        output_tokens=cloud.output_tokens if cloud and result.answered_by == "cloud" else 0,
        status="ok", attributes=attrs))
