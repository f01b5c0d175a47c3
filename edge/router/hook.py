"""How the edge runtime routes a question: the small hook ``Runtime.ask`` (issue 4) calls by default.

``route_ask`` wraps one local answer function (the runtime's RAG answer) and one cloud call: it builds the
``RouteContext`` (intent, guard verdict, user preference, connectivity, device state), lets the router
decide (drafting first when the policy needs one), falls back to the device when the cloud fails, and
writes the decision to the runtime's telemetry as a ``route`` trace whose attributes carry
``frugal.route.*`` (never the text). ``draft_from`` reads any answer object duck-typed, so it works with
``Runtime.chat``'s ``Reply`` and with the knowledge layer's grounded answer alike.
"""

from __future__ import annotations

import json
import os
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
    cites: Sequence[Any] = _get(answer, "mentioned_ids", "citations", default=[]) or []
    scores = _get(answer, "retrieval_scores", "scores", default=None)
    hits = _get(_get(answer, "retrieval", default={}), "hits", default=None)
    if scores is None and hits:  # AskResult: cosine similarity of each hit (fused RRF scores are not in [0, 1])
        scores = [float(_get(h, "vector_score", "score", default=0.0)) for h in hits]
    if scores is None:
        scores = [float(_get(c, "score", default=0.0)) for c in cites if _get(c, "score") is not None]
    flags = _get(answer, "grounding_flags", "grounding_failures", "checks", default=[])
    usage = _get(reply, "usage")
    return Draft(
        text=str(_get(answer, "answer", "text", default="")),
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
              device: dict[str, Any] | None = None, max_tokens: int = 256,
              feature_store: Any = None) -> RoutedAnswer:
    """Route one question; the local answer object is kept on ``result.local`` for citations. With a
    ``feature_store`` (an ``OnlineStore``), the draft's retrieved products are looked up in it and the
    router gets ``ctx.features`` (``edge.router.features.feature_signals``) next to the draft."""
    local: list[Any] = []

    def edge() -> Draft:
        local.append(answer_locally())
        draft = draft_from(local[-1])
        if feature_store is not None:
            from frugalstack.edge.router.features import feature_signals

            hits = _get(_get(local[-1], "retrieval", default={}), "hits", default=None) or []
            ids = [str(_get(h, "id")) for h in hits if _get(h, "kind", default="product") == "product"]
            ctx.features = feature_signals(feature_store, product_ids=ids or draft.citations)
        return draft

    ctx = RouteContext(query=question, intent=intent, guard_action=guard_action, user_wants_cloud=user_wants_cloud,
                       online=cloud is not None, device=device or {})
    result = route_and_answer(ctx, router, edge, cloud, cloud_messages, max_tokens=max_tokens)
    result.local = local[-1] if local else None
    draft_trace = _get(_get(local[-1], "reply", default=local[-1]), "trace_id") if local else None
    record_decision(runtime, result, draft_trace=draft_trace)
    return result


def record_decision(runtime: Any, result: RoutedAnswer, draft_trace: str | None = None) -> None:
    """Put the decision on the request's trace (``TraceRecord.attributes``); attributes only, never text.

    When the device drafted, its trace row gets the ``frugal.route.*`` attributes (one trace per request, so
    the telemetry aggregates count ``frugal.route.decision`` per request); when nothing ran on the device (a
    rule sent the request straight to the cloud) a trace for the cloud call is written instead.
    """
    store = getattr(runtime, "_telemetry", None)
    if store is None:
        return
    attrs = result.attributes()
    cloud = result.cloud
    if cloud is not None and cloud.ok:
        attrs["frugal.route.cloud_input_tokens"] = cloud.input_tokens
        attrs["frugal.route.cloud_output_tokens"] = cloud.output_tokens
    conn, lock = getattr(store, "_conn", None), getattr(store, "_lock", None)
    if draft_trace and conn is not None and lock is not None:
        with lock:
            row = conn.execute("SELECT attributes FROM traces WHERE trace_id=?", (draft_trace,)).fetchone()
            if row is not None:
                merged = {**json.loads(row[0] or "{}"), **attrs}
                conn.execute("UPDATE traces SET attributes=? WHERE trace_id=?", (json.dumps(merged), draft_trace))
                return
    store.record(TraceRecord(
        trace_id=uuid.uuid4().hex, timestamp=time.time(), operation="chat",
        model=(cloud.model or "cloud") if result.answered_by == "cloud" and cloud else runtime.model_id,
        backend="cloud" if result.answered_by == "cloud" else runtime.backend_name,
        device_profile=runtime.profile.id, duration_ms=result.latency_ms,
        input_tokens=cloud.input_tokens if cloud and result.answered_by == "cloud" else 0,
        output_tokens=cloud.output_tokens if cloud and result.answered_by == "cloud" else 0,
        status="ok", attributes=attrs))


def default_route() -> tuple[Router, CloudClient | None]:
    """The router and cloud client ``Runtime.ask`` uses unless told otherwise, from the environment.

    ``FRUGAL_ROUTE_POLICY`` (default ``rules+confidence``, calibrated threshold from ``$FRUGAL_HOME/router``
    when present), ``FRUGAL_CLOUD_URL`` (+ ``FRUGAL_CLOUD_MODEL``, ``FRUGAL_CLOUD_API_KEY``,
    ``FRUGAL_CLOUD_DEADLINE_S``). Without a cloud URL the device is treated as offline: every answer is
    local and the decision says so. The client is cached per process, so its circuit breaker persists.
    """
    from frugalstack.edge.router.calibrate import make_router

    key = tuple(os.environ.get(k) for k in ("FRUGAL_ROUTE_POLICY", "FRUGAL_CLOUD_URL", "FRUGAL_CLOUD_MODEL",
                                            "FRUGAL_CLOUD_API_KEY", "FRUGAL_CLOUD_DEADLINE_S", "FRUGAL_HOME"))
    if key not in _DEFAULTS:
        policy, url, model, api_key, deadline, _ = key
        cloud = CloudClient(url, model or "default", api_key=api_key, deadline_s=float(deadline or 10)) if url \
            else None
        _DEFAULTS[key] = (make_router(policy or "rules+confidence"), cloud)
    return _DEFAULTS[key]


_DEFAULTS: dict[tuple[str | None, ...], tuple[Router, CloudClient | None]] = {}
_STORES: dict[str, Any] = {}


def _feature_store(path: str) -> Any:
    """The device's feature store, opened once per process."""
    if path not in _STORES:
        from frugalstack.edge.features import OnlineStore

        _STORES[path] = OnlineStore(path)
    return _STORES[path]


def routed_ask(runtime: Any, question: str, answer_locally: Callable[[], Any], route: Any = None) -> Any:
    """What ``Runtime.ask`` returns when routing is on: the local ``AskResult`` with the decision in
    ``extras["route"]``; when the cloud answered, ``answer`` is the cloud's and the device draft (if one
    was made) is kept in ``extras["route"]["draft"]``. ``route`` is None (defaults), or a dict with any of
    ``router``, ``cloud``, ``intent``, ``guard_action``, ``user_wants_cloud``, ``device``, ``feature_store``
    (default: the ``OnlineStore`` at ``FRUGAL_FEATURES_DB`` when that is set)."""
    opts: dict[str, Any] = dict(route) if isinstance(route, dict) else {}
    if "feature_store" not in opts and os.environ.get("FRUGAL_FEATURES_DB"):
        opts["feature_store"] = _feature_store(os.environ["FRUGAL_FEATURES_DB"])
    router, cloud = default_route() if "router" not in opts or "cloud" not in opts else (None, None)
    router = opts.pop("router", router)
    cloud = opts.pop("cloud", cloud)

    def cloud_messages() -> list[dict[str, str]]:
        return [{"role": "user", "content": question}]

    res = route_ask(runtime, question, answer_locally, router, cloud, cloud_messages, **opts)
    out = res.local if res.local is not None else answer_locally()
    info = {"answered_by": res.answered_by, "planned": res.decision.target, "reason": res.decision.reason,
            "score": round(float(res.decision.score), 4), "policy": res.decision.policy, "fallback": res.fallback,
            "cascade_cost_ms": round(res.cascade_cost_ms, 1)}
    if res.answered_by == "cloud":
        info["draft"] = res.draft
        if hasattr(out, "answer"):
            out.answer = res.text
    extras = getattr(out, "extras", None)
    if isinstance(extras, dict):
        extras["route"] = info
    return out
