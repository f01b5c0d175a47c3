"""``frugal cloud demo`` end to end: a device answers on SmolLM2 and its telemetry reaches the dashboard data."""

from __future__ import annotations

from pathlib import Path


def test_demo_reports_telemetry_and_prints_the_dashboard(tmp_path: Path) -> None:
    from frugalstack.cloud.demo import run_demo

    out = run_demo(tmp_path, port=0, questions=1, serve=False, max_tokens=4, threads=1)
    assert "/dashboard#key=fsk_" in out["dashboard"]
    key = out["dashboard"].split("#key=")[1]
    # the demo's server has stopped; the data stays: serve it again from the same directory
    from starlette.testclient import TestClient

    from frugalstack.cloud.app import create_app
    from frugalstack.cloud.settings import CloudSettings

    with TestClient(create_app(CloudSettings(data_dir=tmp_path))) as c:
        overview = c.get("/v1/stats/overview", headers={"Authorization": f"Bearer {key}"}).json()
    assert overview["totals"]["requests"] == 1 and overview["days"][0]["edge_share"] == 1.0
