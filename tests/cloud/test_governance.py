"""Governance: EU AI Act records, retention, deletion requests through the manifest, exports."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any


def test_use_case_record_and_update(cloud: Any) -> None:
    with cloud.admin() as c:
        name = f"uc-{uuid.uuid4().hex[:6]}"
        uc = c.post("/v1/use-cases", json={"name": name, "risk_class": "limited",
                                           "transparency_obligations": "disclose the AI", "human_oversight": "agent",
                                           "logging": "aggregates only"})
        assert uc.status_code == 201
        assert c.post("/v1/use-cases", json={"name": name, "risk_class": "limited"}).status_code == 409
        assert c.post("/v1/use-cases", json={"name": "x", "risk_class": "medium"}).status_code == 422
        upd = c.patch(f"/v1/use-cases/{uc.json()['id']}", json={"risk_class": "high", "allow_raw_prompts": True})
        assert upd.json()["risk_class"] == "high" and upd.json()["updated_at"]


def test_deletion_request_reaches_devices_and_completes(start_cloud: Any) -> None:
    cloud = start_cloud()  # own server: completion depends on the number of enrolled devices
    d1, k1 = cloud.device()
    d2, k2 = cloud.device("raspberry-pi5-8gb")
    with cloud.admin() as c:
        req = c.post("/v1/deletion-requests", json={"subject_id": "customer-42", "reason": "GDPR art. 17"}).json()
        assert req["status"] == "pending"
    for device_id, key in ((d1, k1), (d2, k2)):
        with cloud.client(key) as c:
            manifest = c.get(f"/v1/devices/{device_id}/manifest").json()["manifest"]
            assert {"id": req["id"], "subject_id": "customer-42"} in manifest["deletion_requests"]
            acked = c.post(f"/v1/devices/{device_id}/deletion-acks", json={"request_ids": [req["id"]]})
            assert acked.status_code == 200, acked.text
            again = c.get(f"/v1/devices/{device_id}/manifest").json()["manifest"]
            assert again["deletion_requests"] == []
    with cloud.client(k1) as c:
        assert c.post(f"/v1/devices/{d2}/deletion-acks", json={"request_ids": [req["id"]]}).status_code == 403
    with cloud.admin() as c:
        done = next(r for r in c.get("/v1/deletion-requests").json() if r["id"] == req["id"])
        assert done["status"] == "completed" and sorted(done["acked_by"]) == sorted([d1, d2])


def test_retention_deletes_old_aggregates(start_cloud: Any) -> None:
    cloud = start_cloud()
    _, key = cloud.device()
    old, new = date.today() - timedelta(days=100), date.today()
    with cloud.client(key) as c:
        for day in (old, new):
            c.post("/v1/telemetry/batches", json={"batch_id": uuid.uuid4().hex, "aggregates": [
                {"day": day.isoformat(), "gen_ai.request.model": "m", "requests": 5}]})
    with cloud.admin() as c:
        assert c.put("/v1/retention-policies", json={"resource": "telemetry", "days": 30}).status_code == 200
        assert c.put("/v1/retention-policies", json={"resource": "telemetry", "days": 60}).json()["days"] == 60
        ran = c.post("/v1/retention/apply").json()
        assert ran["deleted"]["daily_aggregates"] == 1
        days = [r["day"] for r in c.get("/v1/telemetry/aggregates").json()]
        assert days == [new.isoformat()]


def test_export_json_and_html(cloud: Any) -> None:
    auditor = cloud.key("auditor")
    with cloud.admin() as c:
        name = f"exported-{uuid.uuid4().hex[:6]}"
        uc = c.post("/v1/use-cases", json={"name": name, "risk_class": "high", "human_oversight": "<b>agent</b>"})
        c.post("/v1/registry/models", json={"name": f"m-{name}", "use_case_id": uc.json()["id"]})
    with cloud.client(auditor) as c:
        data = c.get("/v1/governance/export").json()
        assert any(u["name"] == name and u["risk_class"] == "high" for u in data["use_cases"])
        assert any(m["name"] == f"m-{name}" and m["risk_class"] == "high" for m in data["models"])
        assert data["audit"]["ok"] is True
        page = c.get("/v1/governance/export.html")
        assert page.headers["content-type"].startswith("text/html")
        assert name in page.text and "&lt;b&gt;agent&lt;/b&gt;" in page.text and "chain intact" in page.text
