"""Model registry stages and approvals, artifacts, model cards; datasets, data cards and lineage."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx


def _ok(r: httpx.Response, code: int = 200) -> Any:
    assert r.status_code == code, r.text
    return r.json()


def _dataset(c: httpx.Client, rows: bytes, fmt: str = "jsonl") -> tuple[dict[str, Any], dict[str, Any]]:
    ds = _ok(c.post("/v1/datasets", json={"name": f"ds-{uuid.uuid4().hex[:8]}", "license": "CC-BY-4.0",
                                          "source": "generated", "pii_status": "none", "retention_days": 30}), 201)
    dv = _ok(c.post(f"/v1/datasets/{ds['id']}/versions", params={"format": fmt}, content=rows), 201)
    return ds, dv


def test_dataset_versions_are_hashed_profiled_and_immutable(cloud: Any) -> None:
    with cloud.admin() as c:
        body = b'{"q": "is it waterproof?", "label": 1}\n{"q": "price?", "label": 2.5, "extra": null}\n'
        ds, dv = _dataset(c, body)
        assert dv["content_hash"] == hashlib.sha256(body).hexdigest()
        assert dv["row_count"] == 2 and dv["version"] == 1
        assert dv["schema"] == {"q": "string", "label": "number", "extra": "null"}
        dup = c.post(f"/v1/datasets/{ds['id']}/versions", params={"format": "jsonl"}, content=body)
        assert dup.status_code == 409
        v2 = _ok(c.post(f"/v1/datasets/{ds['id']}/versions", params={"format": "csv"},
                        content=b"sku,price,name\nA1,9.5,bag\nA2,12,hat\n"), 201)
        assert v2["version"] == 2 and v2["row_count"] == 2
        assert v2["schema"] == {"sku": "string", "price": "number", "name": "string"}
        bad = c.post(f"/v1/datasets/{ds['id']}/versions", params={"format": "jsonl"}, content=b'{"a": 1}\nnope\n')
        assert bad.status_code == 422 and "line 2" in bad.json()["error"]["message"]
        assert c.post(f"/v1/datasets/{ds['id']}/versions", params={"format": "xml"}, content=b"<a/>").status_code == 422
        assert c.put(f"/v1/dataset-versions/{dv['id']}", json={}).status_code == 405
        content = c.get(f"/v1/dataset-versions/{dv['id']}/content")
        assert content.content == body
        card = _ok(c.get(f"/v1/dataset-versions/{dv['id']}/card"))
        assert card["dataset"]["license"] == "CC-BY-4.0" and "PII status: none" in card["markdown"]


def test_parquet_versions_are_profiled_and_round_trip(cloud: Any) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table({"sku": ["A1", "A2", "A3"], "price": [9.5, 12.0, 3.25], "stock": [1, 0, 7]}), buf)
    body = buf.getvalue()
    with cloud.admin() as c:
        ds, dv = _dataset(c, body, "parquet")
        assert dv["row_count"] == 3 and dv["format"] == "parquet"
        assert dv["schema"] == {"sku": "string", "price": "double", "stock": "int64"}
        assert dv["content_hash"] == hashlib.sha256(body).hexdigest()
        back = pq.read_table(io.BytesIO(c.get(f"/v1/dataset-versions/{dv['id']}/content").content))
        assert back.column("price").to_pylist() == [9.5, 12.0, 3.25]
        bad = c.post(f"/v1/datasets/{ds['id']}/versions", params={"format": "parquet"}, content=b"PAR1 not parquet")
        assert bad.status_code == 422 and "Parquet" in bad.json()["error"]["message"]


def test_parquet_without_pyarrow_names_the_package(tmp_path: Any, monkeypatch: Any) -> None:
    import sys

    import pytest

    from frugalstack.cloud.services.datasets import profile_file
    from frugalstack.shared.errors import MissingDependencyError

    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # an install without the cloud extra's pyarrow
    with pytest.raises(MissingDependencyError, match="pyarrow"):
        profile_file(path, "parquet")


def test_promotion_rules_card_and_lineage(cloud: Any) -> None:
    op1, op2 = cloud.key("operator", "op-one"), cloud.key("operator", "op-two")
    with cloud.client(op1) as c, cloud.client(op2) as c2:
        uc = _ok(c.post("/v1/use-cases", json={"name": f"assist-{uuid.uuid4().hex[:6]}", "risk_class": "limited"}),
                 201)
        _, dv = _dataset(c, b'{"q": "a"}\n{"q": "b"}\n')
        run = _ok(c.post("/v1/runs", json={"kind": "fine-tune", "dataset_version_ids": [dv["id"]],
                                           "params": {"lr": 1e-4}}), 201)
        model = _ok(c.post("/v1/registry/models", json={"name": f"shop-{uuid.uuid4().hex[:6]}", "use_case_id": uc["id"],
                                               "intended_use": "answer product questions"}), 201)
        mv = _ok(c.post(f"/v1/registry/models/{model['id']}/versions", json={
            "version": "1.0.0", "run_id": run["id"], "quantization_losses": {"perplexity_delta": 0.4},
            "energy": {"wh_per_1k_requests": 1.2}}), 201)
        assert mv["stage"] == "candidate"
        assert c.post(f"/v1/registry/models/{model['id']}/versions", json={"version": "1.0.0"}).status_code == 409
        art = _ok(c.post(f"/v1/model-versions/{mv['id']}/artifacts", json={
            "filename": "m.gguf", "format": "gguf", "quantization": "Q4_1", "profiles": ["laptop-x86"]}), 201)
        bad_name = c.post(f"/v1/model-versions/{mv['id']}/artifacts", json={"filename": "../x", "format": "gguf"})
        assert bad_name.status_code == 422
        stage = lambda who, s: who.post(f"/v1/model-versions/{mv['id']}/stage", json={"stage": s})  # noqa: E731
        assert stage(c, "production").status_code == 409  # candidate cannot jump
        assert _ok(stage(c, "staging"))["stage"] == "staging"
        r = stage(c, "production")
        assert r.status_code == 409 and "evaluation" in r.json()["error"]["message"]
        failing = _ok(c.post(f"/v1/model-versions/{mv['id']}/evaluations", json={
            "suite": "faq", "metrics": {"accuracy": 0.5}, "thresholds": {"accuracy": 0.8}}), 201)
        assert failing["passed"] is False
        assert stage(c, "production").status_code == 409
        _ok(c.post(f"/v1/model-versions/{mv['id']}/evaluations", json={
            "suite": "faq", "metrics": {"accuracy": 0.9}, "thresholds": {"accuracy": 0.8}}), 201)
        r = stage(c, "production")
        assert r.status_code == 409 and "artifact" in r.json()["error"]["message"]
        up = _ok(c.put(f"/v1/artifacts/{art['id']}/content", content=b"weights" * 100,
                       headers={"X-Content-SHA256": hashlib.sha256(b"weights" * 100).hexdigest()}))
        assert up["size_bytes"] == 700 and up["signature"]
        assert c.put(f"/v1/artifacts/{art['id']}/content", content=b"other").status_code == 409
        _ok(c.post(f"/v1/model-versions/{mv['id']}/approvals", json={"stage": "production"}), 201)
        r = stage(c, "production")  # self-approval does not count
        assert r.status_code == 403 and "second operator" in r.json()["error"]["message"]
        _ok(c2.post(f"/v1/model-versions/{mv['id']}/approvals", json={"stage": "production"}), 201)
        assert _ok(stage(c, "production"))["stage"] == "production"
        assert stage(c, "candidate").status_code == 409
        dep = _ok(c.post("/v1/deployments", json={"profile": "laptop-x86", "model_version_id": mv["id"],
                                                  "prompt_versions": {"support": "3"}}), 201)
        card = _ok(c.get(f"/v1/model-versions/{mv['id']}/card"))
        assert card["eu_ai_act_risk_class"] == "limited"
        assert card["data_lineage"][0]["rows"] == 2 and card["quantization_losses"] == {"perplexity_delta": 0.4}
        assert "## Evaluation" in c.get(f"/v1/model-versions/{mv['id']}/card.md").text
        graph = _ok(c.get(f"/v1/lineage/dataset_version/{dv['id']}"))
        kinds = {n["kind"] for n in graph["nodes"]}
        assert kinds == {"dataset_version", "run", "model_version", "deployment"}
        assert {(e["src_kind"], e["dst_kind"]) for e in graph["edges"]} == {
            ("dataset_version", "run"), ("run", "model_version"), ("model_version", "deployment")}
        assert _ok(c.get(f"/v1/lineage/deployment/{dep['id']}"))["root"]["kind"] == "deployment"
        assert c.get("/v1/lineage/deployment/nope").status_code == 404
        assert c.get("/v1/lineage/planet/x").status_code == 422


def test_artifact_range_download(cloud: Any) -> None:
    with cloud.admin() as c:
        model = _ok(c.post("/v1/registry/models", json={"name": f"rng-{uuid.uuid4().hex[:6]}"}), 201)
        mv = _ok(c.post(f"/v1/registry/models/{model['id']}/versions", json={"version": "1"}), 201)
        art = _ok(c.post(f"/v1/model-versions/{mv['id']}/artifacts", json={"filename": "a.bin", "format": "other"}),
                  201)
        assert c.get(f"/v1/artifacts/{art['id']}/content").status_code == 404
        data = bytes(range(256)) * 40
        _ok(c.put(f"/v1/artifacts/{art['id']}/content", content=data))
        full = c.get(f"/v1/artifacts/{art['id']}/content")
        assert full.status_code == 200 and full.content == data and full.headers["accept-ranges"] == "bytes"
        part = c.get(f"/v1/artifacts/{art['id']}/content", headers={"Range": "bytes=1000-"})
        assert part.status_code == 206 and part.content == data[1000:]
        assert part.headers["content-range"] == f"bytes 1000-{len(data) - 1}/{len(data)}"
        mid = c.get(f"/v1/artifacts/{art['id']}/content", headers={"Range": "bytes=10-19"})
        assert mid.content == data[10:20]
        tail = c.get(f"/v1/artifacts/{art['id']}/content", headers={"Range": "bytes=-5"})
        assert tail.content == data[-5:]
        assert c.get(f"/v1/artifacts/{art['id']}/content", headers={"Range": "bytes=999999-"}).status_code == 416
        bad_sha = c.put(f"/v1/artifacts/{art['id']}/content", content=b"x")
        assert bad_sha.status_code == 409
