"""The aggregated head lands in the real control plane (uvicorn + SQLite) with its lineage and ε."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from typer.testing import CliRunner

from frugalstack.edge.cli.main import app


def test_simulate_registers_a_model_version_with_lineage(start_cloud: Any) -> None:
    cloud = start_cloud()
    key = cloud.key("operator")
    res = CliRunner().invoke(
        app,
        [
            "fl",
            "simulate",
            "--engine",
            "inprocess",
            "--clients",
            "5",
            "--rounds",
            "2",
            "--fraction",
            "1.0",
            "--clip",
            "1.0",
            "--noise",
            "0.3",
            "--no-devices",
            "--min-examples",
            "1",
            "--register",
            cloud.url,
            "--api-key",
            key,
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    with cloud.admin() as c:
        runs = c.get("/v1/runs").json()
        run = next(r for r in runs if r["kind"] == "federated")
        assert run["params"]["round_ids"] == [1, 2]
        assert run["params"]["participating_devices"] == [5, 5]
        assert run["params"]["privacy"]["epsilon_local"] > run["params"]["privacy"]["epsilon_central"] > 0
        models = c.get("/v1/registry/models").json()
        model = next(m for m in models if m["name"] == "intent-head")
        versions = c.get(f"/v1/registry/models/{model['id']}/versions").json()
        assert len(versions) == 1 and versions[0]["run_id"] == run["id"]
        mv = versions[0]["id"]
        evals = c.get(f"/v1/model-versions/{mv}/evaluations").json()
        assert evals and "macro_f1" in evals[0]["metrics"]
        graph = c.get(f"/v1/lineage/model_version/{mv}").json()
        assert run["id"] in str(graph)
        audit = c.get("/v1/audit", params={"limit": 500}).json()
        assert any(e["action"] == "run.create" and e["entity_id"] == run["id"] for e in audit)
        art = c.get(f"/v1/model-versions/{mv}/artifacts").json()[0]
        blob = c.get(f"/v1/artifacts/{art['id']}/content")
        assert blob.status_code == 200
    with np.load(io.BytesIO(blob.content)) as z:
        assert z["param_w"].shape == (384, len(z["classes"]))
