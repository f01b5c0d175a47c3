"""Runtime.ask routes by default: with no cloud configured the device answers, says why, and the request's
trace carries the decision (real SmolLM2, real knowledge store on a slice of the sample catalog)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from frugalstack.edge.telemetry import TelemetryStore


def test_ask_routes_by_default_and_traces_the_decision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from frugalstack.edge.knowledge.ingest import ingest
    from frugalstack.edge.knowledge.store import KnowledgeStore
    from frugalstack.edge.runtime import Runtime
    from frugalstack.edge.sampledata import DOCS_DIR

    monkeypatch.delenv("FRUGAL_CLOUD_URL", raising=False)
    src = tmp_path / "catalog"
    shutil.copytree(DOCS_DIR, src / "docs")
    store = KnowledgeStore(tmp_path / "k.db")
    assert not ingest(store, src).errors
    telemetry = TelemetryStore(tmp_path / "t.db")
    with Runtime(profile="laptop-x86", telemetry=telemetry) as rt:  # the dead-cloud path: test_hook.py
        res = rt.ask("How much does standard delivery cost?", db=store, k=2, max_tokens=8)
        route = res.extras["route"]
        assert (route["answered_by"], route["planned"], route["policy"]) == ("edge", "edge", "rules")
        assert "offline" in route["reason"] and res.answer
        trace = next(t for t in telemetry.recent(5) if t.trace_id == res.reply.trace_id)
        assert trace.attributes["frugal.route.decision"] == "edge"
        assert trace.attributes["frugal.route.reason"] == route["reason"]
        assert "delivery" not in json.dumps(trace.attributes)
    store.close()
