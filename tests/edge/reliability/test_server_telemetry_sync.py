"""The edge server ships telemetry through the outbox while it serves, only when the device is enrolled."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from frugalstack.edge.server.app import create_app, start_telemetry_sync
from frugalstack.edge.server.models import ServerConfig
from frugalstack.edge.settings import EdgeSettings
from frugalstack.edge.telemetry import TelemetryStore
from frugalstack.shared.schemas import TraceRecord

ENV = ("FRUGAL_CLOUD_URL", "FRUGAL_DEVICE_KEY", "FRUGAL_DEVICE_ID")


def test_not_enrolled_means_nothing_leaves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FRUGAL_CLOUD_URL", "http://127.0.0.1:9")  # a URL alone is not an enrolment
    assert start_telemetry_sync(EdgeSettings(home=tmp_path)) is None


def test_serving_ships_recorded_traces_to_the_cloud(cloud: Any, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    model = f"server-sync-{uuid.uuid4().hex[:8]}"
    settings = EdgeSettings(home=tmp_path)
    store = TelemetryStore(settings.telemetry_path)
    for _ in range(3):
        store.record(TraceRecord(trace_id=uuid.uuid4().hex, timestamp=time.time(), model=model,
                                 backend="llama_cpp", device_profile="laptop-x86", input_tokens=10,
                                 output_tokens=5, duration_ms=120.0))
    store.close()
    with cloud.serve():
        device_id, key = cloud.device()
        monkeypatch.setenv("FRUGAL_CLOUD_URL", cloud.url)
        monkeypatch.setenv("FRUGAL_DEVICE_KEY", key)
        monkeypatch.setenv("FRUGAL_DEVICE_ID", device_id)
        monkeypatch.setenv("FRUGAL_TELEMETRY_INTERVAL_S", "0.2")
        app = create_app(ServerConfig(preload=False), settings)
        with TestClient(app) as client:  # runs the lifespan: the sync thread starts
            assert client.get("/health").status_code == 200
            end = time.monotonic() + 15
            total = 0
            while time.monotonic() < end and total < 3:
                with cloud.admin() as c:
                    rows = c.get("/v1/telemetry/aggregates", params={"limit": 5000}).json()
                total = sum(r["requests"] for r in rows if r["model"] == model)
                time.sleep(0.2)
            sync = app.state.telemetry_sync
        assert total == 3
        assert sync is not None and not sync._thread.is_alive()  # stopped with the server
