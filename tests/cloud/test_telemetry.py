"""Telemetry ingestion (idempotent batches, aggregation), drift alerts, experiments, dashboard data."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from frugalstack.shared.telemetry import TelemetryAggregate, TelemetryBatch


def _agg(day: date, model: str, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "day": day.isoformat(), "gen_ai.request.model": model, "requests": 100, "errors": 1,
        "gen_ai.usage.input_tokens": 4000, "gen_ai.usage.output_tokens": 9000, "duration_sum_s": 80.0,
        "gen_ai.client.operation.duration": [10, 30, 40, 15, 5, 0, 0, 0, 0],
        "gen_ai.server.time_to_first_token": [50, 40, 10, 0, 0, 0, 0, 0],
        "frugal.input_length": [5, 20, 50, 20, 5, 0, 0, 0, 0],
        "frugal.route.decision": {"edge": 90, "cloud": 10}, "frugal.guard.verdict": {"allow": 97, "block": 3},
        "frugal.intent": {"product": 60, "shipping": 30, "returns": 10},
        "feedback_positive": 40, "feedback_negative": 10, "energy_wh": 1.5, "cost_usd": 0.02,
    }
    base.update(kw)
    return base


def test_wire_type_uses_otel_names() -> None:
    agg = TelemetryAggregate.model_validate(_agg(date(2026, 1, 1), "m"))
    dumped = agg.model_dump(by_alias=True, mode="json")
    assert dumped["gen_ai.usage.input_tokens"] == 4000 and "gen_ai.client.operation.duration" in dumped
    TelemetryBatch(batch_id="abcdefgh", aggregates=[agg])


def test_duplicate_batch_is_counted_once(cloud: Any) -> None:
    device_id, key = cloud.device()
    model = f"m-{uuid.uuid4().hex[:6]}"
    batch = {"batch_id": f"b-{uuid.uuid4().hex}", "aggregates": [_agg(date.today(), model)]}
    with cloud.client(key) as c:
        first = c.post("/v1/telemetry/batches", json=batch).json()
        again = c.post("/v1/telemetry/batches", json=batch).json()
        assert first["accepted"] and not first["duplicate"]
        assert again["duplicate"] and not again["accepted"]
        other = {"batch_id": f"b-{uuid.uuid4().hex}", "aggregates": [_agg(date.today(), model, requests=50,
                                                                           errors=0)]}
        assert c.post("/v1/telemetry/batches", json=other).json()["accepted"]
        spoof = {**batch, "batch_id": f"b-{uuid.uuid4().hex}", "device_id": "someone-else"}
        assert c.post("/v1/telemetry/batches", json=spoof).status_code == 403
        assert c.get("/v1/telemetry/aggregates").status_code == 403
    with cloud.admin() as c:
        rows = [r for r in c.get("/v1/telemetry/aggregates").json() if r["model"] == model]
        assert len(rows) == 1
        row = rows[0]
        assert row["requests"] == 150 and row["profile"] == "laptop-x86"
        assert row["duration_hist"] == [20, 60, 80, 30, 10, 0, 0, 0, 0]
        assert row["routes"] == {"edge": 180, "cloud": 20}
        device = c.get(f"/v1/devices/{device_id}").json()
        assert device["last_seen_at"] is not None


def test_malformed_telemetry_is_422(cloud: Any) -> None:
    _, key = cloud.device()
    with cloud.client(key) as c:
        bad_hist = {"batch_id": "bad-hist-01", "aggregates": [_agg(date.today(), "m", **{
            "gen_ai.client.operation.duration": [1, 2]})]}
        r = c.post("/v1/telemetry/batches", json=bad_hist)
        assert r.status_code == 422 and "bucket" in r.json()["error"]["message"]
        assert c.post("/v1/telemetry/batches", json={"batch_id": "x", "aggregates": []}).status_code == 422


def test_drift_alert_on_shifted_latency(cloud: Any) -> None:
    _, key = cloud.device("raspberry-pi5-8gb")
    model = f"drift-{uuid.uuid4().hex[:6]}"
    today = date.today()
    with cloud.client(key) as c:
        for d in range(1, 4):
            c.post("/v1/telemetry/batches", json={"batch_id": uuid.uuid4().hex,
                                                  "aggregates": [_agg(today - timedelta(days=d), model)]})
        same = c.post("/v1/telemetry/batches", json={"batch_id": uuid.uuid4().hex,
                                                     "aggregates": [_agg(today, model)]})
        assert same.json()["drift_alerts"] == 0  # today looks like the week before
        slow = _agg(today, model, **{"gen_ai.client.operation.duration": [0, 0, 50, 100, 300, 400, 150, 0, 0],
                                     "frugal.intent": {"product": 100, "shipping": 100, "returns": 800}})
        r = c.post("/v1/telemetry/batches", json={"batch_id": uuid.uuid4().hex, "aggregates": [slow]}).json()
        assert r["drift_alerts"] >= 2
    with cloud.admin() as c:
        alerts = [a for a in c.get("/v1/drift/alerts").json() if a["model"] == model]
        assert {a["metric"] for a in alerts} >= {"latency", "intent_mix"}
        assert all(a["psi"] > a["threshold"] for a in alerts)
        assert "feedback_rate" not in {a["metric"] for a in alerts}


def test_psi_values() -> None:
    from frugalstack.cloud.services.drift import psi

    assert psi([10, 20, 30], [10, 20, 30]) == 0.0
    assert psi([50, 50], [90, 10]) > 0.2
    assert psi([50, 50], [55, 45]) < 0.1


def test_experiment_assignment_and_significance(cloud: Any) -> None:
    from frugalstack.cloud.services.experiments import assign

    with cloud.admin() as c:
        exp = c.post("/v1/experiments", json={"name": f"exp-{uuid.uuid4().hex[:6]}", "kind": "prompt",
                                              "variants": [{"name": "control", "weight": 1, "config": {"prompt": "3"}},
                                                           {"name": "v4", "weight": 3, "config": {"prompt": "4"}}]})
        assert exp.status_code == 201, exp.text
        exp_id = exp.json()["id"]
        dup = c.post("/v1/experiments", json={"name": "d", "kind": "prompt",
                                              "variants": [{"name": "a"}, {"name": "a"}]})
        assert dup.status_code == 422
    variants = exp.json()["variants"]
    picks = [assign(exp_id, f"device-{i}", variants) for i in range(2000)]
    assert picks == [assign(exp_id, f"device-{i}", variants) for i in range(2000)]  # deterministic
    assert 0.70 < picks.count("v4") / len(picks) < 0.80  # weight 3:1
    device_id, key = cloud.device()
    with cloud.client(key) as c:
        manifest = c.get(f"/v1/devices/{device_id}/manifest").json()["manifest"]
        mine = next(e for e in manifest["experiments"] if e["experiment_id"] == exp_id)
        assert mine["variant"] == assign(exp_id, device_id, variants)
        for variant, pos, neg in (("control", 400, 600), ("v4", 520, 480)):
            agg = _agg(date.today(), "exp-model", experiment_id=exp_id, variant=variant, feedback_positive=pos,
                       feedback_negative=neg)
            assert c.post("/v1/telemetry/batches", json={"batch_id": uuid.uuid4().hex, "aggregates": [agg]}).json()[
                "accepted"]
    with cloud.admin() as c:
        res = c.get(f"/v1/experiments/{exp_id}/results").json()
        ctrl, v4 = res["variants"]
        assert (ctrl["trials"], ctrl["successes"], v4["trials"], v4["successes"]) == (1000, 400, 1000, 520)
        comp = res["comparisons"][0]
        assert abs(comp["difference"] - 0.12) < 1e-9
        assert comp["significant"] and comp["p_value"] < 1e-6
        assert comp["ci_low"] < 0.12 < comp["ci_high"]
        assert ctrl["ci_low"] < 0.4 < ctrl["ci_high"]
        assert c.get(f"/v1/experiments/{exp_id}/assignment", params={"device_id": device_id}).json()[
            "variant"] == mine["variant"]


def test_z_test_matches_reference() -> None:
    from frugalstack.cloud.services.experiments import _norm_ppf, z_test

    assert abs(_norm_ppf(0.975) - 1.959964) < 1e-5
    t = z_test(400, 1000, 520, 1000, 1.959964)
    # pooled p = 0.46, se = sqrt(0.46*0.54*0.002) = 0.022289; z = 0.12 / 0.022289 = 5.3838
    assert abs(t["z"] - 5.3838) < 1e-3  # type: ignore[operator]


def test_dashboard_overview(cloud: Any) -> None:
    _, key = cloud.device()
    with cloud.client(key) as c:
        c.post("/v1/telemetry/batches", json={"batch_id": uuid.uuid4().hex,
                                              "aggregates": [_agg(date.today(), "dash-model")]})
    with cloud.client(cloud.key("auditor")) as c:
        data = c.get("/v1/stats/overview").json()
        today = next(d for d in data["days"] if d["day"] == date.today().isoformat())
        assert today["requests"] >= 100 and 0 < today["edge_share"] <= 1
        assert today["latency_p50_s"] is not None and today["latency_p95_s"] >= today["latency_p50_s"]
        assert data["guard_verdicts"]["allow"] >= 97
        page = c.get("/dashboard")
        assert page.status_code == 200 and "<canvas" in page.text
