"""The runtime hook with the real SmolLM2: draft on the device, route, fall back, and trace the decision."""

from __future__ import annotations

import json
from pathlib import Path

from frugalstack.edge.router import CloudClient, RulesRouter
from frugalstack.edge.router.confidence import ConfidenceRouter
from frugalstack.edge.router.hook import draft_from, route_ask
from frugalstack.edge.router.localcloud import free_port
from frugalstack.edge.telemetry import TelemetryStore

Q = "What colour is the Fjellwear Umber Air Parka?"
CTX = "Records:\n[p-00001] Fjellwear Umber Air Parka - €99.33, out of stock. colour: black, waterproof: True."


def test_route_ask_with_the_real_model_offline_cloud(runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = TelemetryStore(tmp_path / "t.db")
    old, runtime._telemetry = runtime._telemetry, store
    try:
        made: list[object] = []

        def local():  # type: ignore[no-untyped-def]
            if not made:  # one real generation for the whole test (the machine is small)
                made.append(runtime.chat(f"{CTX}\n\nQuestion: {Q}", max_tokens=8, logprobs=True, top_logprobs=3))
            return made[0]

        dead = CloudClient(f"http://127.0.0.1:{free_port()}/v1", deadline_s=2)  # nothing listens there
        router = RulesRouter(fallback=ConfidenceRouter(threshold=0.0))  # always wants the cloud
        res = route_ask(runtime, Q, local, router, dead, lambda: [{"role": "user", "content": Q}])
        assert res.answered_by == "edge" and res.decision.target == "cloud" and res.fallback == "unreachable"
        assert res.text == res.local.text and res.text.strip()
        d = draft_from(res.local)
        assert d.logprobs and len(d.logprobs) == d.output_tokens and all(lp <= 0 for lp in d.logprobs)
        assert d.top_logprobs and d.latency_ms > 0

        t = next(x for x in store.recent(10) if x.trace_id == res.local.trace_id)  # the draft's own trace
        assert t.attributes["frugal.route.decision"] == "edge" and t.attributes["frugal.route.planned"] == "cloud"
        assert t.attributes["frugal.route.fallback"] == "unreachable" and t.attributes["frugal.route.policy"]
        assert Q not in json.dumps(t.attributes)  # no text in the route attributes

        rule = route_ask(runtime, "where is my order?", local, router, None, lambda: [], intent="order_status")
        assert (rule.answered_by, rule.decision.details["rule"]) == ("edge", "offline")
        t = next(x for x in store.recent(10) if x.trace_id == res.local.trace_id)
        assert "offline" in t.attributes["frugal.route.reason"] and t.attributes["frugal.route.planned"] == "edge"
        dead.close()
    finally:
        runtime._telemetry = old
        store.close()
