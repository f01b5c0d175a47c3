"""The whole loop on tiny parts: rows registered as a dataset version in a real cloud, the loopback API
teacher, a 1-layer student from a tiny Llama with SmolLM2's tokenizer, held-out evaluation, a GGUF that
llama.cpp loads, and the registry entry with its lineage, staged and deployed into a device's manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from frugalstack.cloud.distill import run_pipeline
from frugalstack.cloud.distill.config import load_config


def _tiny_train(**more: Any) -> dict[str, Any]:
    return {"batch_size": 4, "max_steps": 4, "eval_every": 2, "checkpoint_every": 2, "lr": 0.003,
            "max_len": 96, "threads": 1, **more}


@pytest.mark.slow
def test_api_teacher_to_registry(tmp_path: Path, cloud: Any, rows_file: Path, tiny_llama: Path,
                                 teacher_server: tuple[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    if cloud.kind != "sqlite":
        pytest.skip("the registry calls are the cloud's own, tested on PostgreSQL there; one database keeps this short")
    url, _ = teacher_server
    key = cloud.key("operator")
    with cloud.client(key) as c:
        ds = c.post("/v1/datasets", json={"name": "distill-rows", "source": "generated", "pii_status": "none"}).json()
        dv = c.post(f"/v1/datasets/{ds['id']}/versions", content=rows_file.read_bytes(),
                    params={"format": "jsonl"}).json()
    monkeypatch.setenv("FRUGAL_API_KEY", key)
    cfg = load_config({
        "name": "t-api", "data": {"source": "dataset_version", "dataset_version_id": dv["id"],
                                  "dev_fraction": 0.2, "test_fraction": 0.25},
        "teacher": {"kind": "openai", "base_url": url, "few_shot": 1, "max_retries": 0},
        "student": {"kind": "small", "base": str(tiny_llama), "layers": 1},
        "train": _tiny_train(), "eval": {"max_new_tokens": 6, "energy": False},
        "export": {"quant": "q8_0"},
        "cloud": {"url": cloud.url, "publish": True, "model_name": "tiny-distilled", "deploy_profile": "laptop-x86"},
    })
    events: list[str] = []
    result = run_pipeline(cfg, workdir=tmp_path / "w", on_event=lambda s, i: events.append(s))
    assert result["status"] == "done"
    assert [e for e in events if e != "step"] == ["data", "teacher", "train", "eval", "eval", "export", "register",
                                                  "done"]
    assert result["data"]["dataset_version_id"] == dv["id"] and result["data"]["skipped_rows"] == 0
    assert result["teacher"]["stats"]["requests"] == 24 and result["teacher"]["stats"]["skipped"] == 0
    for who in ("student", "teacher", "base"):
        assert set(result["eval"][who]["tasks"]) == {"intent", "extraction"}
    for who in ("student", "base"):  # scored with the schema decoder (always valid JSON) and freely
        ext = result["eval"][who]["tasks"]["extraction"]
        assert ext["decoding"] == "schema" and ext["json_valid"] == 1.0 and 0 <= ext["free_json_valid"] <= 1
    assert result["eval"]["teacher"]["tasks"]["intent"]["accuracy"] == 1.0  # the rule teacher is right here
    summary = result["summary"]
    assert summary["student_params"] < summary["teacher_params"]
    gguf = Path(result["artifacts"]["gguf"])
    from llama_cpp import Llama

    llm = Llama(str(gguf), n_ctx=128, n_threads=1, verbose=False)
    assert llm.n_vocab() == 49152 and llm.tokenize(b"hello")
    reg = result["registry"]
    assert reg["stage"] in ("staging", "candidate")
    with cloud.client(key) as c:
        graph = c.get(f"/v1/lineage/dataset_version/{dv['id']}").json()
        kinds = {n["kind"] for n in graph["nodes"]}
        assert {"dataset_version", "run", "model_version"} <= kinds
        run = c.get(f"/v1/runs/{reg['run_id']}").json()
        assert run["kind"] == "distillation" and run["params"]["teacher_kind"] == "openai"
        arts = c.get(f"/v1/model-versions/{reg['model_version_id']}/artifacts").json()
        assert arts[0]["sha256"] and arts[0]["format"] == "gguf"
        card = c.get(f"/v1/model-versions/{reg['model_version_id']}/card.md").text
        assert "distill-rows" in card
    if reg["stage"] == "staging":
        assert reg["deployment_id"]
    # rerunning the finished config reuses the teacher cache and the finished checkpoint
    again = run_pipeline(cfg.model_copy(update={"cloud": cfg.cloud.model_copy(update={"publish": False})}),
                         workdir=tmp_path / "w")
    assert again["teacher"]["stats"]["cache_hits"] == 24 and again["teacher"]["stats"]["requests"] == 0
    assert json.loads((tmp_path / "w" / "result.json").read_text())["status"] == "done"


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["forward_kl", "jsd"])
def test_token_level_kd_with_a_local_teacher(tmp_path: Path, rows_file: Path, tiny_llama: Path, loss: str) -> None:
    cfg = load_config({
        "name": f"t-tok-{loss}", "tasks": ["intent"], "data": {"source": "file", "path": str(rows_file)},
        "teacher": {"kind": "local", "model": str(tiny_llama), "few_shot": 1},
        "student": {"kind": "small", "base": str(tiny_llama), "layers": 1},
        "train": _tiny_train(mode="token", loss=loss, on_policy_fraction=0.5 if loss == "jsd" else 0.0),
        "eval": {"max_new_tokens": 4, "energy": False, "models": ["student", "teacher"]},
        "export": {"enabled": False},
    })
    result = run_pipeline(cfg, workdir=tmp_path / "w")
    assert result["status"] == "done" and result["train"]["steps"] == 4
    hist = json.loads((tmp_path / "w" / "checkpoints" / "train.json").read_text())["history"]
    assert all(h["loss"] >= 0 for h in hist)  # divergences are non-negative
    # the constrained local teacher always answers a valid intent
    assert result["eval"]["teacher"]["tasks"]["intent"]["valid"] == 1.0
