"""Federated LoRA against a poisoned device, and under SecAgg+, on real Flower rounds (tiny Llama GGUF).

The poisoned device sends its adapter update flipped and scaled (x -10, unclipped): plain FedAvg follows it
and held-out perplexity gets worse than before the round; the robust strategy rejects it by norm and keeps
improving. Under SecAgg+ a round survives a device leaving mid-round, no reply carries the adapter in clear,
and the merged GGUF is registered as a candidate version whose lineage points at the federated run and which
reaches a device's manifest once staged and deployed."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("peft")

from frugalstack.cloud.fl.lora import LoraFLConfig, run_lora_federated

BASE: dict[str, Any] = {
    "clients": 4, "rounds": 2, "local_steps": 3, "texts_per_client": 6, "held_out": 8, "max_len": 32, "lr": 2e-2
}


def _ppl(r: dict[str, Any], key: str) -> float:
    return float(r[key]["perplexity"])


@pytest.mark.timeout(300)
def test_poisoned_device_drags_fedavg_but_not_the_robust_strategy(tiny_llama: Any) -> None:
    attack = {0: -10.0}
    model = {"source_gguf": tiny_llama.gguf, "checkpoint": tiny_llama.checkpoint}
    runs = {
        name: run_lora_federated(LoraFLConfig(**BASE, strategy=name, attacks=attack), baselines=False, **model)
        for name in ("fedavg", "robust")
    }
    avg, rob = runs["fedavg"], runs["robust"]
    assert _ppl(avg, "before") == pytest.approx(_ppl(rob, "before"))
    assert _ppl(rob, "federated") < _ppl(rob, "before")  # robust: still learns
    assert _ppl(avg, "federated") > _ppl(avg, "before")  # FedAvg: dragged by one device of four
    assert avg["participants_per_round"] == [4, 4] and rob["participants_per_round"] == [3, 3]
    assert all("median" in rej[0]["reason"] for rej in rob["rejected_per_round"])  # the norm screen caught it


@pytest.mark.timeout(300)
def test_secagg_lora_round_with_a_dropout_is_registered_as_a_candidate(
    tiny_llama: Any, tmp_path: Path, start_cloud: Any
) -> None:
    from llama_cpp import Llama

    from frugalstack.cloud.fl.lora_register import register_lora_result

    cfg = LoraFLConfig(**{**BASE, "clients": 3, "rounds": 1}, secagg=True, quantize="none")
    # device 0 completes setup and key sharing, then its masked vector (3rd message) never arrives
    r = run_lora_federated(
        cfg,
        source_gguf=tiny_llama.gguf,
        checkpoint=tiny_llama.checkpoint,
        export_to=tmp_path / "merged.gguf",
        keep_messages=True,
        drop={(0, 3)},
    )
    assert r["participants_per_round"] == [2] and _ppl(r, "federated") < _ppl(r, "before")
    for m in r["_grid"].received:  # SecAgg+ empties the arrays: only masked vectors travel
        assert all(len(rec) == 0 for rec in m.content.array_records.values())
    gguf = Path(r["exported_gguf"]["path"])
    Llama(str(gguf), n_ctx=32, n_threads=1, verbose=False)  # llama.cpp loads the merged q8_0 file

    cloud = start_cloud()
    device_id, device_key = cloud.device("laptop-x86")
    reg = register_lora_result(r, cloud.url, cloud.key("operator"), model_name="shop-slm", profiles=["laptop-x86"])
    assert reg["stage"] == "candidate" and reg["evaluation_passed"] is True
    assert reg["sha256"] == hashlib.sha256(gguf.read_bytes()).hexdigest()
    with cloud.admin() as c:
        run = c.get(f"/v1/runs/{reg['run_id']}").json()
        assert run["kind"] == "federated" and run["params"]["secagg"] is True
        assert run["params"]["round_ids"] == [1] and run["params"]["participating_devices"] == [2]
        mv = c.get(f"/v1/registry/models/{reg['model_id']}/versions").json()[0]
        assert mv["run_id"] == reg["run_id"] and mv["version"] == reg["version"]
        assert reg["run_id"] in str(c.get(f"/v1/lineage/model_version/{reg['model_version_id']}").json())
        # not on devices until an operator stages and deploys it; then the manifest carries the merged GGUF
        assert c.post(f"/v1/model-versions/{mv['id']}/stage", json={"stage": "staging"}).status_code == 200
        dep = c.post("/v1/deployments", json={"profile": "laptop-x86", "model_version_id": mv["id"]})
        assert dep.status_code == 201, dep.text
    with cloud.client(device_key) as c:
        manifest = c.get(f"/v1/devices/{device_id}/manifest").json()["manifest"]
    assert manifest["model"]["model_version_id"] == reg["model_version_id"]
    assert manifest["model"]["artifact"]["sha256"] == reg["sha256"]


def test_secagg_lora_refuses_what_it_cannot_do() -> None:
    from frugalstack.shared.errors import ConfigError

    for bad in ({"strategy": "robust"}, {"quantize": "int8"}, {"quantize": "none", "attacks": {0: -1.0}}):
        with pytest.raises(ConfigError):
            LoraFLConfig(**{"secagg": True, "quantize": "none", **bad}).validate()  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        LoraFLConfig(strategy="krum").validate()
