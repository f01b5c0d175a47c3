"""``frugal demo`` end to end, short: one device, one query, the real cloud, models, guard and Flower round."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest


@pytest.mark.slow
def test_demo_runs_the_loop_writes_the_report_and_reruns_idempotently(tmp_path: Path) -> None:
    from frugalstack.cloud.demo import run_demo

    first = run_demo(tmp_path, devices=1, queries=1, max_tokens=8, catalog_extra=10)
    s = first["summary"]
    assert s["requests"] == 1 and s["edge_share"] + s["cloud_share"] == pytest.approx(1.0)
    assert set(s["cost_per_1k"]) >= {"edge_only", "hybrid", "cloud_only"}
    assert s["energy_wh_per_1k_estimate"]["edge_only"] > 0  # CPU time was measured on the device thread
    for name in ("report.md", "report.html", "summary.json", "share.png", "cost_per_1k.png", "model-card.md",
                 "eu-ai-act.html", "data-card.md"):
        assert (tmp_path / name).stat().st_size > 0, name
    md = (tmp_path / "report.md").read_text()
    assert first["dashboard"] in md and "| quality (fact score) |" in md
    tele = first["devices"][0].telemetry  # shipped through the durable outbox: acknowledged, nothing left behind
    assert tele["records"] >= 1 and tele["batches"] >= 1 and tele["pending"] == 0, tele
    # the federated round was registered; a router head reaches the device through its next signed manifest
    fl = first["federated"]
    assert fl["registered"]["model_version_id"] and fl["after"]
    expected = fl["registered"]["model_version_id"] if fl["task"] == "router" else "1"
    assert first["devices"][0].router_version == expected
    # nothing keeps running: the server thread is gone and the port refuses connections
    assert not [t for t in threading.enumerate() if t.name.startswith("frugal-demo")]
    with pytest.raises(httpx.ConnectError):
        httpx.get(first["url"] + "/healthz", timeout=2)

    device_before = json.loads((tmp_path / "devices" / "device-1" / "device.json").read_text())["id"]
    second = run_demo(tmp_path, devices=1, queries=1, max_tokens=8, catalog_extra=10, federated=False)
    assert second["devices"][0].device_id == device_before  # same enrolment, keys and dataset version reused
    from starlette.testclient import TestClient

    from frugalstack.cloud.app import create_app
    from frugalstack.cloud.settings import CloudSettings

    key = json.loads((tmp_path / "keys.json").read_text())["auditor"]
    with TestClient(create_app(CloudSettings(data_dir=tmp_path / "cloud"))) as c:
        h = {"Authorization": f"Bearer {key}"}
        overview = c.get("/v1/stats/overview", headers=h).json()
        datasets = c.get("/v1/datasets", headers=h).json()
        versions = c.get(f"/v1/datasets/{datasets[0]['id']}/versions", headers=h).json()
    assert overview["totals"]["requests"] >= 2  # both runs' telemetry aggregates arrived
    assert len(datasets) == 1 and len(versions) == 1
