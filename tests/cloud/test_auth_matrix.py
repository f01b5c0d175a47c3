"""Every cloud route x every role: a table says who may call it, and the live server must agree.

The routes come from ``app.routes``, so a route added without a row here fails ``test_every_route_has_a_row``.
"Allowed" means the call got past authentication and authorisation (any status but 401/403, and never 5xx);
"denied" means 401 without a key and 403 with a key of the wrong role. Path ids are unknown ones (so nothing
is found) except the device's own id and a real, undeployed artifact, which make the device checks bite.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

ROLES = ("none", "device", "auditor", "operator", "admin")
PUBLIC = frozenset(ROLES)
READ = frozenset({"auditor", "operator", "admin"})
WRITE = frozenset({"operator", "admin"})
ADMIN = frozenset({"admin"})
OWN_DEVICE_OR_READ = READ | {"device"}  # a device only for its own id (see test_device_keys_are_confined)
OWN_DEVICE = frozenset({"device"})
CALLERS = frozenset({"device", "operator", "admin"})  # gateway and telemetry upload

TABLE: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/v1/signing-key"): PUBLIC,
    ("GET", "/dashboard"): PUBLIC,  # static HTML; its data comes from /v1/stats/overview with a key
    ("POST", "/v1/devices/enrol"): PUBLIC,  # the one-time enrolment token is the credential
    ("POST", "/v1/keys"): ADMIN,
    ("GET", "/v1/keys"): ADMIN,
    ("DELETE", "/v1/keys/{key_id}"): ADMIN,
    ("POST", "/v1/enrolment-tokens"): WRITE,
    ("GET", "/v1/devices"): READ,
    ("GET", "/v1/devices/{device_id}"): OWN_DEVICE_OR_READ,
    ("GET", "/v1/devices/{device_id}/manifest"): OWN_DEVICE_OR_READ,
    ("POST", "/v1/devices/{device_id}/deletion-acks"): OWN_DEVICE,
    ("PUT", "/v1/devices/{device_id}/status"): OWN_DEVICE,
    ("GET", "/v1/audit"): READ,
    ("GET", "/v1/audit/verify"): READ,
    ("POST", "/v1/registry/models"): WRITE,
    ("GET", "/v1/registry/models"): READ,
    ("GET", "/v1/registry/models/{model_id}"): READ,
    ("PATCH", "/v1/registry/models/{model_id}"): WRITE,
    ("POST", "/v1/registry/models/{model_id}/versions"): WRITE,
    ("GET", "/v1/registry/models/{model_id}/versions"): READ,
    ("GET", "/v1/model-versions/{mv_id}"): READ,
    ("POST", "/v1/model-versions/{mv_id}/stage"): WRITE,
    ("POST", "/v1/model-versions/{mv_id}/approvals"): WRITE,
    ("GET", "/v1/model-versions/{mv_id}/approvals"): READ,
    ("POST", "/v1/model-versions/{mv_id}/evaluations"): WRITE,
    ("GET", "/v1/model-versions/{mv_id}/evaluations"): READ,
    ("POST", "/v1/model-versions/{mv_id}/artifacts"): WRITE,
    ("GET", "/v1/model-versions/{mv_id}/artifacts"): READ,
    ("GET", "/v1/model-versions/{mv_id}/card"): READ,
    ("GET", "/v1/model-versions/{mv_id}/card.md"): READ,
    ("GET", "/v1/artifacts/{artifact_id}"): READ,  # devices: only artifacts deployed to them (not this one)
    ("PUT", "/v1/artifacts/{artifact_id}/content"): WRITE,
    ("GET", "/v1/artifacts/{artifact_id}/content"): READ,
    ("POST", "/v1/runs"): WRITE,
    ("GET", "/v1/runs"): READ,
    ("GET", "/v1/runs/{run_id}"): READ,
    ("POST", "/v1/deployments"): WRITE,
    ("GET", "/v1/deployments"): READ,
    ("GET", "/v1/deployments/{deployment_id}"): READ,
    ("POST", "/v1/datasets"): WRITE,
    ("GET", "/v1/datasets"): READ,
    ("GET", "/v1/datasets/{dataset_id}"): READ,
    ("PATCH", "/v1/datasets/{dataset_id}"): WRITE,
    ("POST", "/v1/datasets/{dataset_id}/versions"): WRITE,
    ("GET", "/v1/datasets/{dataset_id}/versions"): READ,
    ("GET", "/v1/dataset-versions/{version_id}"): READ,
    ("GET", "/v1/dataset-versions/{version_id}/content"): READ,
    ("GET", "/v1/dataset-versions/{version_id}/card"): READ,
    ("GET", "/v1/dataset-versions/{version_id}/card.md"): READ,
    ("GET", "/v1/lineage/{kind}/{node_id}"): READ,
    ("POST", "/v1/telemetry/batches"): CALLERS,
    ("GET", "/v1/telemetry/aggregates"): READ,
    ("GET", "/v1/drift/alerts"): READ,
    ("GET", "/v1/models"): CALLERS,
    ("POST", "/v1/chat/completions"): CALLERS,
    ("GET", "/v1/usage"): READ,
    ("POST", "/v1/use-cases"): WRITE,
    ("GET", "/v1/use-cases"): READ,
    ("GET", "/v1/use-cases/{use_case_id}"): READ,
    ("PATCH", "/v1/use-cases/{use_case_id}"): WRITE,
    ("PUT", "/v1/retention-policies"): WRITE,
    ("GET", "/v1/retention-policies"): READ,
    ("POST", "/v1/retention/apply"): WRITE,
    ("POST", "/v1/deletion-requests"): WRITE,
    ("GET", "/v1/deletion-requests"): READ,
    ("GET", "/v1/governance/export"): READ,
    ("GET", "/v1/governance/export.html"): READ,
    ("POST", "/v1/experiments"): WRITE,
    ("GET", "/v1/experiments"): READ,
    ("GET", "/v1/experiments/{experiment_id}"): READ,
    ("PATCH", "/v1/experiments/{experiment_id}"): WRITE,
    ("GET", "/v1/experiments/{experiment_id}/assignment"): READ,
    ("GET", "/v1/experiments/{experiment_id}/results"): READ,
    ("GET", "/v1/stats/overview"): READ,
    ("POST", "/v1/features/apply"): WRITE,
    ("GET", "/v1/features/views"): READ,
    ("POST", "/v1/features/views/{name}/rows"): WRITE,
    ("POST", "/v1/features/historical"): READ,
    ("POST", "/v1/features/materialize"): WRITE,
    ("GET", "/v1/features/snapshots/{snapshot_id}/content"): OWN_DEVICE_OR_READ,  # device: only its own snapshot
    ("POST", "/v1/distill/jobs"): WRITE,
    ("GET", "/v1/distill/jobs"): READ,
    ("GET", "/v1/distill/jobs/{job_id}"): READ,
    ("GET", "/v1/distill/jobs/{job_id}/logs"): READ,
}

DOC_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def app_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route, including those inside included routers (FastAPI 0.138 wraps them)."""
    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any]) -> None:
        for r in routes:
            if hasattr(r, "original_router"):
                walk(r.original_router.routes)
            elif getattr(r, "path", None) not in DOC_ROUTES:
                found.update((m, r.path) for m in (r.methods or ()) if m != "HEAD")

    walk(list(app.routes))
    return found


def test_every_route_has_a_row() -> None:
    import tempfile

    from frugalstack.cloud.app import create_app
    from frugalstack.cloud.settings import CloudSettings

    with tempfile.TemporaryDirectory() as d:
        routes = app_routes(create_app(CloudSettings(data_dir=d, admin_secret="s" * 40)))
    assert routes - TABLE.keys() == set(), "new routes need a row in TABLE (who may call them?)"
    assert TABLE.keys() - routes == set(), "TABLE names routes the app no longer has"


def _body(method: str) -> dict[str, Any] | None:
    """An empty JSON object: every role check must answer before body validation (a wrong caller gets 403,
    not a 422 that names the fields it got wrong)."""
    return {} if method in {"POST", "PUT", "PATCH"} else None


@pytest.mark.slow
def test_every_route_for_every_role(start_cloud: Any) -> None:
    cloud = start_cloud()
    device_id, device_key = cloud.device()
    with cloud.admin() as c:
        mv = c.post(
            f"/v1/registry/models/{c.post('/v1/registry/models', json={'name': 'm'}).json()['id']}/versions",
            json={"version": "1"},
        ).json()
        art = c.post(f"/v1/model-versions/{mv['id']}/artifacts", json={"filename": "m.gguf", "format": "gguf"})
    keys = {
        "none": None,
        "device": device_key,
        "admin": cloud.key("admin"),
        **{role: cloud.key(role) for role in ("auditor", "operator")},
    }
    ids = {"device_id": device_id, "artifact_id": art.json()["id"], "kind": "run"}
    clients = {
        role: httpx.Client(base_url=cloud.url, timeout=60, headers={"Authorization": f"Bearer {key}"} if key else {})
        for role, key in keys.items()
    }
    wrong: list[str] = []
    for (method, path), allowed in sorted(TABLE.items()):
        url = path.format_map({**{k: f"unknown{k}" for k in _params(path)}, **ids})
        for role in ROLES:
            r = clients[role].request(method, url, json=_body(method))
            expected = "allowed" if role in allowed else ("401" if role == "none" else "403")
            got = "allowed" if r.status_code not in (401, 403) else str(r.status_code)
            if r.status_code >= 500 or got != expected:
                wrong.append(f"{method} {path} as {role}: {r.status_code} (expected {expected}) {r.text[:120]}")
    for c in clients.values():
        c.close()
    assert not wrong, "\n".join(wrong)


def _params(path: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(path) if name]


def test_device_keys_are_confined(start_cloud: Any) -> None:
    """A device key reads and writes only its own device: not another's record, manifest, status or telemetry."""
    cloud = start_cloud()
    me, key = cloud.device()
    other, other_key = cloud.device()
    batch = {
        "batch_id": f"b-{uuid.uuid4().hex}",
        "device_id": other,
        "aggregates": [{"day": "2026-11-29", "gen_ai.request.model": "m", "requests": 1}],
    }
    with cloud.client(key) as c:
        assert c.get(f"/v1/devices/{me}").status_code == 200
        assert c.get(f"/v1/devices/{other}").status_code == 403
        assert c.get(f"/v1/devices/{other}/manifest").status_code == 403
        assert c.put(f"/v1/devices/{other}/status", json={"ota_status": "failed"}).status_code == 403
        assert c.post(f"/v1/devices/{other}/deletion-acks", json={"request_ids": ["x" * 32]}).status_code == 403
        assert c.post("/v1/telemetry/batches", json=batch).status_code == 403
        assert c.get("/v1/devices").status_code == 403
        assert c.get("/v1/telemetry/aggregates").status_code == 403
    with cloud.admin() as c:
        assert c.get(f"/v1/devices/{other}").json()["ota_status"] is None  # nothing written by the wrong key
    with cloud.client(other_key) as c:
        assert c.post("/v1/telemetry/batches", json=batch).status_code == 200


TRAVERSAL_NAMES = [
    "../../etc/passwd",
    "..",
    "a/b.gguf",
    "a\\b.gguf",
    ".hidden",
    "/abs.gguf",
    "m.gguf\x00.txt",
    "m\r\nX-Evil: 1.gguf",
    "%2e%2e%2fm.gguf",
    "m" * 201,
]


def test_path_traversal_in_artifact_names_and_ids_is_refused(start_cloud: Any) -> None:
    cloud = start_cloud()
    with cloud.admin() as c:
        model = c.post("/v1/registry/models", json={"name": "traversal"}).json()
        mv = c.post(f"/v1/registry/models/{model['id']}/versions", json={"version": "1"}).json()
        for name in TRAVERSAL_NAMES:
            r = c.post(f"/v1/model-versions/{mv['id']}/artifacts", json={"filename": name, "format": "gguf"})
            assert r.status_code == 422, (name, r.text)
            assert r.json()["error"]["code"] == "invalid_request_error"
        for path in (
            "/v1/artifacts/..%2F..%2Fsigning.key/content",
            "/v1/artifacts/%2e%2e/content",
            "/v1/dataset-versions/..%2F..%2Fcloud.db/content",
            "/v1/features/snapshots/..%2F..%2Fx/content",
        ):
            r = c.get(path)
            assert r.status_code in (404, 422), (path, r.status_code)
            assert b"PRIVATE KEY" not in r.content and b"SQLite format" not in r.content


def test_replayed_and_foreign_manifests_are_refused_by_the_device(start_cloud: Any, tmp_path: Any) -> None:
    """The OTA client keeps the last applied issue time: an older (replayed) manifest is refused, and a manifest
    signed for another device, or by a key other than the pinned one, never verifies."""
    import base64
    import json

    from frugalstack.edge.ota.client import OtaClient
    from frugalstack.edge.ota.verify import VerificationError

    cloud = start_cloud()
    me, key = cloud.device()
    other, other_key = cloud.device()
    with OtaClient(cloud.url, key, me, tmp_path / "s") as ota:
        first = ota.fetch_manifest()
        ota.store.save_state(manifest_issued_at=first.issued_at + 3600)  # a newer one was applied since
        with pytest.raises(VerificationError, match="replay"):
            ota.fetch_manifest()
    with cloud.client(other_key) as c:
        foreign = c.get(f"/v1/devices/{other}/manifest").json()

    def serve_foreign(request: httpx.Request) -> httpx.Response:  # a man in the middle replays another's manifest
        return httpx.Response(200, json=foreign)

    with (
        OtaClient(
            cloud.url,
            key,
            me,
            tmp_path / "s2",
            transport=httpx.MockTransport(serve_foreign),
            public_key=first_key(cloud),
        ) as ota,
        pytest.raises(VerificationError, match="device"),
    ):
        ota.fetch_manifest()
    forged = json.loads(json.dumps(foreign))
    forged["manifest"]["device_id"] = me
    with (
        OtaClient(
            cloud.url,
            key,
            me,
            tmp_path / "s3",
            transport=httpx.MockTransport(lambda r: httpx.Response(200, json=forged)),
            public_key=first_key(cloud),
        ) as ota,
        pytest.raises(VerificationError, match="signature"),
    ):
        ota.fetch_manifest()
    stranger = base64.b64encode(b"\x02" * 32).decode()
    with OtaClient(cloud.url, key, me, tmp_path / "s4", public_key=stranger) as ota, pytest.raises(VerificationError):
        ota.fetch_manifest()


def first_key(cloud: Any) -> str:
    with cloud.client(None) as c:
        return str(c.get("/v1/signing-key").json()["public_key"])
