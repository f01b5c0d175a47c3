"""Auth (401/403), roles, key revocation, one-time enrolment, the hash-chained audit log, limits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text


def test_health_and_openapi(cloud: Any) -> None:
    with cloud.client(None) as c:
        assert c.get("/healthz").json()["database"] == ("postgresql" if cloud.kind == "postgres" else "sqlite")
        spec = c.get("/openapi.json").json()
        assert "/v1/devices/{device_id}/manifest" in spec["paths"]
        assert "/v1/chat/completions" in spec["paths"]


def test_missing_and_bad_key_are_401(cloud: Any) -> None:
    with cloud.client(None) as c:
        r = c.get("/v1/registry/models")
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "authentication_error"
    with cloud.client("fsk_000000000000_nope") as c:
        assert c.get("/v1/registry/models").status_code == 401
    with cloud.client("garbage") as c:
        assert c.get("/v1/registry/models").status_code == 401


def test_roles_are_enforced(cloud: Any) -> None:
    auditor, operator = cloud.key("auditor"), cloud.key("operator")
    _, device_key = cloud.device()
    with cloud.client(auditor) as c:
        assert c.get("/v1/registry/models").status_code == 200
        r = c.post("/v1/registry/models", json={"name": "forbidden-model"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
    with cloud.client(operator) as c:
        assert c.post("/v1/keys", json={"name": "x", "role": "admin"}).status_code == 403
        assert c.post("/v1/registry/models", json={"name": f"op-model-{cloud.kind}"}).status_code == 201
    with cloud.client(device_key) as c:
        assert c.get("/v1/registry/models").status_code == 403
        assert c.get("/v1/audit").status_code == 403


def test_revoked_key_is_refused(cloud: Any) -> None:
    key = cloud.key("operator")
    with cloud.admin() as c:
        key_id = next(k["id"] for k in c.get("/v1/keys").json() if key.startswith(k["prefix"] + "_"))
        assert c.delete(f"/v1/keys/{key_id}").json()["revoked_at"] is not None
    with cloud.client(key) as c:
        assert c.get("/v1/registry/models").status_code == 401


def test_keys_are_stored_hashed(cloud: Any) -> None:
    key = cloud.key("operator")
    with cloud.app.state.cloud.db.read() as s:
        hashes = [h for (h,) in s.execute(text("SELECT secret_hash FROM api_keys"))]
    assert key not in hashes and all(len(h) == 64 for h in hashes)


def test_enrolment_token_is_one_time(cloud: Any) -> None:
    with cloud.admin() as c:
        token = c.post("/v1/enrolment-tokens", json={"profile": "laptop-x86"}).json()["token"]
    with cloud.client(None) as c:
        first = c.post("/v1/devices/enrol", json={"token": token, "name": "kiosk"})
        assert first.status_code == 201
        device = first.json()["device"]
        again = c.post("/v1/devices/enrol", json={"token": token, "name": "kiosk"})
        assert again.status_code == 401
        assert c.post("/v1/devices/enrol", json={"token": "fet_made_up", "name": "x"}).status_code == 401
    other_id, _ = cloud.device()
    with cloud.client(first.json()["api_key"]) as c:
        assert c.get(f"/v1/devices/{device['id']}/manifest").status_code == 200
        assert c.get(f"/v1/devices/{other_id}/manifest").status_code == 403


def test_validation_and_not_found(cloud: Any) -> None:
    with cloud.admin() as c:
        r = c.post("/v1/registry/models", json={"nam": "typo"})
        assert r.status_code == 422
        assert "name" in r.json()["error"]["message"]
        r = c.post("/v1/registry/models", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 422
        assert c.get("/v1/registry/models/unknown-id").status_code == 404
        assert c.get("/v1/model-versions/unknown-id/card").status_code == 404
        assert c.get("/v1/no-such-route").json()["error"]["code"] == "not_found"


def test_every_mutation_is_audited_and_chain_verifies(cloud: Any) -> None:
    with cloud.admin() as c:
        before = c.get("/v1/audit/verify").json()
        assert before["ok"]
        c.post("/v1/use-cases", json={"name": f"uc-audit-{cloud.kind}", "risk_class": "limited"})
        c.post("/v1/keys", json={"name": "audited", "role": "auditor"})
        after = c.get("/v1/audit/verify").json()
        assert after["ok"] and after["entries"] == before["entries"] + 2
        entries = c.get("/v1/audit", params={"after_seq": before["entries"]}).json()
        assert [e["action"] for e in entries] == ["use_case.create", "api_key.create"]
        assert entries[0]["after_hash"] and entries[0]["before_hash"] is None
        assert entries[1]["prev_hash"] == entries[0]["hash"]


def test_audit_log_refuses_updates_and_deletes(cloud: Any) -> None:
    import pytest
    from sqlalchemy.exc import DBAPIError

    with cloud.admin() as c:
        c.post("/v1/use-cases", json={"name": f"append-only-{cloud.kind}", "risk_class": "minimal"})
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), cloud.app.state.cloud.db.write() as s:
            s.execute(text(statement))
    with cloud.admin() as c:
        assert c.get("/v1/audit/verify").json()["ok"]


def test_tampering_breaks_the_chain(start_cloud: Any) -> None:
    from typer.testing import CliRunner

    from frugalstack.cloud.cli import app as cli_app

    cloud = start_cloud()
    with cloud.admin() as c:
        for i in range(3):
            c.post("/v1/use-cases", json={"name": f"tamper-{i}", "risk_class": "minimal"})
    runner = CliRunner()
    ok = runner.invoke(cli_app, ["audit", "verify", "--data-dir", str(cloud.data_dir)])
    assert ok.exit_code == 0, ok.output
    with cloud.app.state.cloud.db.write() as s:  # an attacker with owner rights drops the guard first
        s.execute(text("DROP TRIGGER audit_log_no_update"))
        s.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
    bad = runner.invoke(cli_app, ["audit", "verify", "--data-dir", str(cloud.data_dir)])
    assert bad.exit_code == 8
    with cloud.admin() as c:
        report = c.get("/v1/audit/verify").json()
    assert report["ok"] is False and report["first_bad_seq"] == 2


def test_cli_creates_keys_that_work(start_cloud: Any) -> None:
    import json

    from typer.testing import CliRunner

    from frugalstack.cloud.cli import app as cli_app

    cloud = start_cloud()
    out = CliRunner().invoke(cli_app, ["keys", "create", "--role", "operator", "--name", "ci",
                                       "--data-dir", str(cloud.data_dir)])
    assert out.exit_code == 0, out.output
    key = json.loads(out.stdout)["key"]
    with cloud.client(key) as c:
        assert c.post("/v1/registry/models", json={"name": "from-cli-key"}).status_code == 201
    listed = CliRunner().invoke(cli_app, ["keys", "list", "--data-dir", str(cloud.data_dir)])
    assert "ci" in listed.stdout


def test_body_limit_rate_limit_and_no_cors(start_cloud: Any) -> None:
    cloud = start_cloud(max_body_bytes=2048, max_upload_bytes=4096, rate_limit_per_minute=60, rate_limit_burst=5)
    with cloud.admin() as c:
        r = c.post("/v1/registry/models", json={"name": "big", "description": "x" * 5000})
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
        ds = c.post("/v1/datasets", json={"name": "big-data"}).json()
        r = c.post(f"/v1/datasets/{ds['id']}/versions", content=b'{"a": 1}\n' * 1000)
        assert r.status_code == 413
        codes = [c.get("/v1/registry/models", headers={"Origin": "http://evil.example"}) for _ in range(8)]
        assert 429 in [x.status_code for x in codes]
        limited = next(x for x in codes if x.status_code == 429)
        assert limited.json()["error"]["code"] == "rate_limit_exceeded" and "retry-after" in limited.headers
        assert "access-control-allow-origin" not in codes[0].headers
