"""Over-the-air updates end to end: signed manifest, resumable download, verification, swap, rollback.

The cloud is real (uvicorn + SQLite); tampering is done in flight by an httpx transport that rewrites
real responses, or on the server's disk.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from frugalstack.edge.catalog import get_spec, resolve_path
from frugalstack.edge.ota.client import OtaClient, load_with_runtime
from frugalstack.edge.ota.store import ModelStore
from frugalstack.edge.ota.verify import VerificationError, sha256_file, verify_manifest

ADMIN = "ota-admin-secret-" + "y" * 32
PROFILE = "laptop-x86"


class Rewriting(httpx.BaseTransport):
    """Pass requests to the real server; let ``edit`` rewrite the body of matching responses."""

    def __init__(self, edit: Callable[[httpx.Request, bytes], bytes | None]):
        self.inner = httpx.HTTPTransport()
        self.edit = edit
        self.seen: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        response = self.inner.handle_request(request)
        response.read()
        body = self.edit(request, response.content)
        if body is None:
            return response
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=headers, content=body)


def _release(url: str, content: bytes | Path, filename: str = "model.gguf", profile: str = PROFILE,
             deploy: bool = True) -> tuple[str, str]:
    """Register a version with one artifact, stage it and deploy it to PROFILE; (version id, artifact id)."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=120) as c:
        models = c.get("/v1/registry/models").json()
        model = models[0] if models else c.post("/v1/registry/models", json={"name": "edge-assistant"}).json()
        mv = c.post(f"/v1/registry/models/{model['id']}/versions", json={"version": uuid.uuid4().hex[:8]}).json()
        art = c.post(f"/v1/model-versions/{mv['id']}/artifacts", json={
            "filename": filename, "format": "gguf", "quantization": "Q4_1", "profiles": [profile]}).json()
        if isinstance(content, Path):
            with content.open("rb") as f:
                r = c.put(f"/v1/artifacts/{art['id']}/content", content=f)
        else:
            r = c.put(f"/v1/artifacts/{art['id']}/content", content=content)
        assert r.status_code == 200, r.text
        assert c.post(f"/v1/model-versions/{mv['id']}/stage", json={"stage": "staging"}).status_code == 200
        if deploy:
            r = c.post("/v1/deployments", json={"profile": profile, "model_version_id": mv["id"],
                                                "prompt_versions": {"support": "3", "returns": "1"}})
            assert r.status_code == 201
        return mv["id"], art["id"]


def _device(url: str, profile: str = PROFILE) -> tuple[str, str]:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as c:
        token = c.post("/v1/enrolment-tokens", json={"profile": profile}).json()["token"]
        r = c.post("/v1/devices/enrol", json={"token": token, "name": "ota-test"}).json()
        return r["device"]["id"], r["api_key"]


@pytest.fixture(scope="module")
def gguf() -> Path:
    return resolve_path(get_spec("smollm2-135m-instruct-q4_1"))


def test_update_keep_previous_and_roll_back(ota_cloud: Any, tmp_path: Path, gguf: Path) -> None:
    url, _ = ota_cloud
    good, _ = _release(url, gguf)
    device_id, key = _device(url)
    store = ModelStore(tmp_path / "store")
    with OtaClient(url, key, device_id, store) as ota:
        first = ota.update(loader=load_with_runtime)
        assert first.status == "updated" and store.current_version == good
        assert sha256_file(store.current_file())[0] == sha256_file(gguf)[0]  # type: ignore[arg-type]
        assert ota.update().status == "up_to_date"
        broken, _ = _release(url, b"GGUF but not really a model", "broken.gguf")
        result = ota.update(loader=load_with_runtime)
        assert result.status == "rolled_back" and result.error
        assert store.current_version == good and store.current_file() is not None
        assert not (store.root / "versions" / broken).exists()
        assert ota.update().status == "rolled_back"  # the failed version is not retried
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as c:
        device = c.get(f"/v1/devices/{device_id}").json()
        assert device["current_model_version_id"] == good and device["ota_status"] == "rolled_back"
        assert device["ota_error"]
        rows = c.get("/v1/stats/overview").json()["model_versions"]
        assert rows[0]["profile"] == PROFILE and rows[0]["devices_running"] == 0  # the broken one is deployed


def test_swap_keeps_previous_version(ota_cloud: Any, tmp_path: Path) -> None:
    url, _ = ota_cloud
    device_id, key = _device(url)
    store = ModelStore(tmp_path / "store")
    loaded: list[Path] = []
    with OtaClient(url, key, device_id, store) as ota:
        v1, _ = _release(url, b"first model bytes")
        assert ota.update(loader=loaded.append).status == "updated"
        v2, _ = _release(url, b"second model bytes")
        assert ota.update(loader=loaded.append).status == "updated"
    assert (store.current_version, store.previous_version) == (v2, v1)
    assert [p.read_bytes() for p in loaded] == [b"first model bytes", b"second model bytes"]


def test_tampered_manifest_is_refused(ota_cloud: Any, tmp_path: Path) -> None:
    url, _ = ota_cloud
    _release(url, b"some model")
    device_id, key = _device(url)

    def edit(req: httpx.Request, body: bytes) -> bytes | None:
        if not req.url.path.endswith("/manifest"):
            return None
        data = json.loads(body)
        data["manifest"]["router_version"] = "evil"
        return json.dumps(data).encode()

    store = ModelStore(tmp_path / "store")
    with OtaClient(url, key, device_id, store, transport=Rewriting(edit)) as ota, \
            pytest.raises(VerificationError, match="signature"):
        ota.update(loader=None)
    assert store.current_version is None


def test_tampered_artifact_is_refused(ota_cloud: Any, tmp_path: Path) -> None:
    url, app = ota_cloud
    _, art_id = _release(url, b"A" * 5000)
    device_id, key = _device(url)
    from frugalstack.cloud.db.tables_registry import Artifact

    with app.state.cloud.db.read() as s:
        stored = Path(s.get(Artifact, art_id).storage_path)
    stored.write_bytes(b"B" * 5000)  # same size, different content: only the hash can tell
    store = ModelStore(tmp_path / "store")
    with OtaClient(url, key, device_id, store) as ota, pytest.raises(VerificationError, match="sha256"):
        ota.update(loader=None)
    assert store.current_version is None
    assert list((store.root / "downloads").iterdir()) == []  # the bad download was deleted


def test_download_resumes_with_range(ota_cloud: Any, tmp_path: Path) -> None:
    url, _ = ota_cloud
    payload = bytes(range(256)) * 400
    v, _ = _release(url, payload)
    device_id, key = _device(url)
    store = ModelStore(tmp_path / "store")
    transport = Rewriting(lambda req, body: None)
    with OtaClient(url, key, device_id, store, transport=transport) as ota:
        art = ota.fetch_manifest().model.artifact  # type: ignore[union-attr]
        assert art is not None
        (store.root / "downloads" / f"{art.sha256}.part").write_bytes(payload[:30_000])  # interrupted earlier
        assert ota.update(loader=None).status == "updated"
    ranges = [r.headers.get("range") for r in transport.seen if r.url.path.endswith("/content")]
    assert ranges == ["bytes=30000-"]
    assert store.current_file().read_bytes() == payload  # type: ignore[union-attr]
    assert store.current_version == v


def test_pinned_key_mismatch_and_expiry(ota_cloud: Any, tmp_path: Path) -> None:
    import base64

    url, _ = ota_cloud
    _release(url, b"x" * 10)
    device_id, key = _device(url)
    wrong = base64.b64encode(b"\x01" * 32).decode()
    with OtaClient(url, key, device_id, tmp_path / "s1", public_key=wrong) as ota, pytest.raises(VerificationError):
        ota.fetch_manifest()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as c:
        signed = c.get(f"/v1/devices/{device_id}/manifest").json()
        pub = c.get("/v1/signing-key").json()["public_key"]
    m = verify_manifest(signed, pub, device_id=device_id)
    with pytest.raises(VerificationError, match="expired"):
        verify_manifest(signed, pub, now=m.expires_at + 1)
    with pytest.raises(VerificationError, match="older"):
        verify_manifest(signed, pub, not_before=m.issued_at + 1)
    with pytest.raises(VerificationError, match="device"):
        verify_manifest(signed, pub, device_id="another-device")


def test_model_and_prompt_experiments_reach_devices(ota_cloud: Any, tmp_path: Path) -> None:
    """A/B of model versions through OTA: each device installs the version of its assigned variant."""
    from frugalstack.cloud.services.experiments import assign

    url, _ = ota_cloud
    profile = "raspberry-pi5-8gb"  # its own profile: the experiment does not touch the other tests' devices
    control, _ = _release(url, b"control model", profile=profile)
    challenger, _ = _release(url, b"challenger model", profile=profile, deploy=False)
    variants = [{"name": "control", "weight": 1, "config": {"prompt_versions": {"support": "4"}}},
                {"name": "challenger", "weight": 1, "config": {"model_version_id": challenger}}]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as c:
        exp = c.post("/v1/experiments", json={"name": "model-ab", "kind": "model", "profile": profile,
                                              "variants": variants}).json()
        prompt_exp = c.post("/v1/experiments", json={"name": "prompt-ab", "kind": "prompt", "profile": profile,
                                                     "variants": [variants[0], {"name": "same", "config": {}}]})
        assert prompt_exp.status_code == 201
    seen: dict[str, str] = {}
    for i in range(12):
        device_id, key = _device(url, profile)
        variant = assign(exp["id"], device_id, exp["variants"])
        store = ModelStore(tmp_path / f"store{i}")
        with OtaClient(url, key, device_id, store) as ota:
            result = ota.update(loader=None)
        assert result.status == "updated"
        seen[variant] = store.current_version or ""
        manifest = result.manifest
        prompt_variant = next(e.variant for e in manifest.experiments if e.name == "prompt-ab")
        assert manifest.prompt_versions["support"] == ("4" if prompt_variant == "control" else "3")
        assert manifest.prompt_versions["returns"] == "1"
        if len(seen) == 2:
            break
    assert seen == {"control": control, "challenger": challenger}
