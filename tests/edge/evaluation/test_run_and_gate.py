"""A whole (micro) suite on the real SmolLM2, the record it writes, compare, a broken artifact, and the record
posted to a real cloud (uvicorn + SQLite) where it gates promotion to production."""

from __future__ import annotations

import copy
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from frugalstack.edge.evaluation import gate
from frugalstack.edge.evaluation import record as rec
from frugalstack.edge.evaluation.model import profile_with_threads
from frugalstack.edge.evaluation.runner import evaluate
from frugalstack.edge.evaluation.suite import load_suite

MICRO = """
name: micro
version: "0.1"
seed: 7
tasks:
  intent: {limit: 3, max_tokens: 10}
  extraction: {limit: 1, max_tokens: 64}
  qa: {limit: 2, max_tokens: 20}
toxicity: {limit: 2, max_tokens: 12}
bias: {attributes: [gender], templates: 1, intros_per_group: 1, max_tokens: 16}
robustness: {limit: 2}
efficiency: {enabled: true, requests: 1, max_tokens: 8}
bootstrap: {resamples: 100}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    path = tmp_path_factory.mktemp("suite") / "micro.yaml"
    path.write_text(MICRO)
    suite, where = load_suite(path)
    # the judge URL points at a closed port: the run must complete with judge metrics missing
    return evaluate(suite, "smollm2-135m-instruct-q4_1", suite_dir=where, profile=profile_with_threads(None, 1),
                    judge_url=f"http://127.0.0.1:{_free_port()}/v1")


def test_record_holds_every_part(record: dict[str, Any]) -> None:
    m = record["metrics"]
    for name in ("intent.accuracy", "intent.macro_f1", "extraction.json_valid", "extraction.field_em",
                 "qa.answer_fact", "qa.citation_correct", "toxicity.non_toxic_rate", "robustness.typos_drop",
                 "robustness.worst_retained", "bias.min_disparity_ratio", "efficiency.decode_tok_s_median",
                 "efficiency.peak_rss_mb"):
        assert name in m, name
    assert m["intent.accuracy"]["n"] == 3 and 0 <= m["intent.accuracy"]["value"] <= 1
    assert m["intent.accuracy"]["ci_low"] <= m["intent.accuracy"]["value"] <= m["intent.accuracy"]["ci_high"]
    assert m["extraction.json_valid"]["value"] == 1.0  # constrained by a json_schema grammar
    assert record["model"]["sha256"] and len(record["model"]["sha256"]) == 64
    assert record["dataset_version"].startswith("builtin@sha256:") and record["seed"] == 7
    assert record["judge"]["status"] == "missing" and "judge.qa_rubric" not in m
    assert record["sections"]["judge"]["reason"]
    assert record["sections"]["toxicity"]["rater"].startswith(("guard", "alt-profanity"))
    assert set(record["sections"]["bias"]["attributes"]["gender"]) == {"refusal", "price", "tone", "length"}
    assert record["sections"]["efficiency"]["status"] == "ok"
    assert record["gate"]["use_case"] == "default" and isinstance(record["gate"]["passed"], bool)
    assert len(rec.flat_metrics(record)) <= 100
    prof = record["profile"]  # where the time went, per part
    assert set(prof) >= {"intent", "qa", "bias", "robustness"} and prof["intent"]["requests"] == 3
    assert all(p["cpu_s"] >= 0 and p["output_tokens"] > 0 for p in prof.values())
    assert "prefix" in record["generation"]["path"] and record["generation"]["reused_prefix_tokens"] > 0


def test_compare(record: dict[str, Any], tmp_path: Path) -> None:
    same = {r["metric"]: r for r in rec.compare(record, record)}
    assert same["intent.accuracy"]["delta"] == 0 and not same["intent.accuracy"]["significant"]
    assert same["intent.accuracy"]["method"] == "paired bootstrap"
    worse = copy.deepcopy(record)
    worse["metrics"]["extraction.json_valid"] = {"value": 0.2, "ci_low": 0.1, "ci_high": 0.3, "n": 50}
    worse["samples"].pop("extraction.json_valid")
    row = {r["metric"]: r for r in rec.compare(record, worse)}["extraction.json_valid"]
    assert row["significant"] and row["b_worse"] and row["method"] == "unpaired (CIs)"
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    rec.save(record, a)
    rec.save(worse, b)
    out = subprocess.run([sys.executable, "-m", "frugalstack.edge.cli.main", "eval", "compare", str(a), str(b),
                          "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert '"extraction.json_valid"' in out.stdout


def test_broken_artifact_is_a_clear_error_and_writes_no_record(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    out_file = tmp_path / "rec.json"
    res = subprocess.run([sys.executable, "-m", "frugalstack.edge.cli.main", "eval", "run", "tiny", "--model", str(bad),
                          "-o", str(out_file), "--no-efficiency"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 4, res.stderr  # ModelLoadError's exit code
    assert "error" in res.stderr and "broken.gguf" in res.stderr
    assert not out_file.exists()


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[str]:
    import uvicorn

    from frugalstack.cloud.app import create_app
    from frugalstack.cloud.settings import CloudSettings

    settings = CloudSettings(data_dir=tmp_path / "cloud", admin_secret="eval-admin-" + "x" * 32, port=_free_port(),
                             rate_limit_per_minute=100_000, rate_limit_burst=10_000, gateway_threads=1)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.port,
                                           log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{settings.port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_upload_gates_promotion(record: dict[str, Any], cloud: str) -> None:
    admin = "eval-admin-" + "x" * 32
    with httpx.Client(base_url=cloud, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as c:
        uc = c.post("/v1/use-cases", json={"name": "customer-support", "risk_class": "limited"}).json()
        model = c.post("/v1/registry/models", json={"name": "smollm2-eval", "use_case_id": uc["id"]}).json()
        mv = c.post(f"/v1/registry/models/{model['id']}/versions", json={"version": "1"}).json()
        assert c.post(f"/v1/model-versions/{mv['id']}/stage", json={"stage": "staging"}).status_code == 200
        r = c.post(f"/v1/model-versions/{mv['id']}/stage", json={"stage": "production"})
        assert r.status_code == 409 and "none is recorded" in r.json()["error"]["message"]

        weak = copy.deepcopy(record)
        weak["metrics"]["intent.accuracy"] = {"value": 0.1, "ci_low": 0.0, "ci_high": 0.2, "n": 3}
        # a client cannot loosen the use case's shipped threshold (customer-support: intent.accuracy >= 0.5)
        up = rec.upload(weak, cloud, mv["id"], admin, thresholds={"intent.accuracy": 0.0})
        assert up["evaluation"]["passed"] is False
        assert up["evaluation"]["thresholds"]["intent.accuracy"] == 0.5
        assert up["evaluation"]["suite"] == "frugal-eval/micro@0.1"
        r = c.post(f"/v1/model-versions/{mv['id']}/stage", json={"stage": "production"})
        assert r.status_code == 409 and "intent.accuracy = 0.1 < 0.5" in r.json()["error"]["message"]

        run = c.get(f"/v1/runs/{up['run_id']}").json()
        assert run["kind"] == "evaluation" and run["params"]["artifact_sha256"] == record["model"]["sha256"]
        assert run["params"]["dataset_version"] == record["dataset_version"]
        graph = c.get(f"/v1/lineage/model_version/{mv['id']}").json()
        assert up["run_id"] in str(graph)

        strong = copy.deepcopy(record)
        for name in {*gate.thresholds_for("customer-support"), *record["gate"]["thresholds"]}:
            strong["metrics"][name] = {"value": 1.0, "ci_low": 1.0, "ci_high": 1.0, "n": 3}
        assert rec.upload(strong, cloud, mv["id"], admin)["evaluation"]["passed"] is True
        r = c.post(f"/v1/model-versions/{mv['id']}/stage", json={"stage": "production"})
        assert r.status_code == 409 and "artifact" in r.json()["error"]["message"]  # the next gate, not eval
