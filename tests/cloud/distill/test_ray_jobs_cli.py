"""Fan-out over a local Ray of 2 workers, the jobs API (a job's failure is reported with its log), and the
CLI surface."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from frugalstack.cloud.distill.config import TeacherConfig
from frugalstack.cloud.distill.executor import run_shards, shard, teacher_shard
from frugalstack.cloud.distill.tasks import Example


@pytest.mark.slow
def test_teacher_generation_over_two_ray_workers(tmp_path: Path, teacher_server: tuple[str, Any]) -> None:
    url, behaviour = teacher_server
    exs = [Example("intent", f"r{i}", f"Where is my parcel #{i}, has it shipped?", "shipping") for i in range(6)]
    args = [{"teacher": TeacherConfig(kind="openai", base_url=url).model_dump(mode="json"), "base_url": url,
             "api_key": None, "cache": str(tmp_path / "cache.sqlite"), "examples": part, "shots": {"intent": []}}
            for part in shard(exs, 2)]
    results = run_shards(teacher_shard, args, "ray", 2)
    assert len(results) == 2
    answers = {k: v for got, _ in results for k, v in got.items()}
    assert set(answers) == {e.id for e in exs} and {v["answer"] for v in answers.values()} == {"shipping"}
    assert sum(st["requests"] for _, st in results) == 6 and behaviour.calls == 6
    import ray

    assert not ray.is_initialized()  # the executor shuts down the Ray it started


def test_jobs_api_reports_a_failing_job_and_rejects_bad_configs(cloud: Any, tmp_path: Path) -> None:
    if cloud.kind != "sqlite":
        pytest.skip("file-based job state; the database is not involved")
    with cloud.client(cloud.key("operator")) as c:
        bad = c.post("/v1/distill/jobs", json={"config": {"train": {"lr": -1}}})
        assert bad.status_code in (400, 422) and "train.lr" in bad.text
        assert c.post("/v1/distill/jobs", json={"config": {}}, headers={"Authorization": "Bearer nope"}
                      ).status_code == 401
        missing = str(tmp_path / "no-such-rows.jsonl")
        r = c.post("/v1/distill/jobs", json={"config": {"name": "fails", "data": {"source": "file", "path": missing},
                                                        "teacher": {"kind": "local"}}})
        assert r.status_code == 202, r.text
        job = r.json()
        deadline = time.monotonic() + 120
        while job["state"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
            job = c.get(f"/v1/distill/jobs/{job['id']}").json()
        assert job["state"] == "failed" and "no dataset file" in job["error"]
        assert "no dataset file" in c.get(f"/v1/distill/jobs/{job['id']}/logs").text
        assert any(j["id"] == job["id"] for j in c.get("/v1/distill/jobs").json())
        assert c.get("/v1/distill/jobs/nope").status_code == 404


def test_cli_lists_configs_and_reports_bad_config(tmp_path: Path) -> None:
    from frugalstack.edge.cli.main import app

    runner = CliRunner()
    out = runner.invoke(app, ["distill", "configs"])
    assert out.exit_code == 0 and "demo.yaml" in out.output
    (tmp_path / "bad.yaml").write_text("train: {mode: token}\nteacher: {kind: openai}\n")
    bad = runner.invoke(app, ["distill", "run", str(tmp_path / "bad.yaml")])
    assert bad.exit_code != 0 and "teacher.kind=local" in str(bad.exception)
    data = runner.invoke(app, ["distill", "sample-data", str(tmp_path / "rows.jsonl")])
    assert data.exit_code == 0 and (tmp_path / "rows.jsonl").stat().st_size > 100_000
