"""``frugal profile plan``: the best artifact that passes the gate, runs on the device and fits its memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from frugalstack.edge.profiles import get_profile
from frugalstack.optimizers.plan import load_manifest, plan_for_profile
from frugalstack.shared.errors import ConfigError


def art(fmt: str, family: str, mb: float, tok_s: float, ppl: float, status: str = "accepted") -> dict:
    return {"format": fmt, "family": family, "quantization": fmt.split("-")[-1], "path": fmt, "sha256": "0" * 64,
            "bytes": int(mb * 2**20), "status": status,
            "metrics": {"perplexity": ppl, "ppl_increase": ppl / 10 - 1, "greedy_agreement": 0.95,
                        "peak_rss_mb": mb + 120, "decode_tok_s": tok_s}}


MANIFEST = {"artifacts": [
    art("torch-fp32", "torch", 540, 25, 10.0),
    art("gguf-q4_k_m", "gguf", 100, 95, 10.3),
    art("gguf-q8_0", "gguf", 145, 80, 10.0),
    art("onnx-int8", "onnx", 160, 60, 10.4),
    art("openvino-int4", "openvino", 120, 99, 12.0, status="rejected"),
    art("openvino-int8", "openvino", 170, 70, 10.1),
    art("gguf-f16", "gguf", 700, 200, 10.0),
]}


def test_picks_fastest_accepted_fitting_artifact() -> None:
    result = plan_for_profile(get_profile("laptop-x86"), MANIFEST)
    choice = result["choice"]
    assert choice["format"] == "gguf-f16" and choice["backend"] == "llama_cpp"
    assert choice["threads"] == 4 and choice["context_size"] <= 4096
    why = {r["format"]: " ".join(r["why"]) for r in result["rejected"]}
    assert "status rejected" in why["openvino-int4"]


def test_memory_budget_and_runtimes_constrain_the_choice() -> None:
    prof = get_profile("budget-android-4gb")
    result = plan_for_profile(prof, MANIFEST)
    choice = result["choice"]
    assert choice is not None and choice["memory_mb"] <= prof.runtime.memory_budget_mb
    why = {r["format"]: " ".join(r["why"]) for r in result["rejected"]}
    assert "over the" in why["gguf-f16"] and "budget" in why["gguf-f16"]
    assert all("openvino" not in c["format"] for c in [choice])
    assert choice["format"] == "gguf-q4_k_m"
    assert any("relative speed" in w for w in choice["why"])


def test_npu_profile_gets_openvino_on_npu() -> None:
    prof = get_profile("intel-core-ultra-npu")
    only_ov = {"artifacts": [a for a in MANIFEST["artifacts"] if a["family"] == "openvino"]}
    choice = plan_for_profile(prof, only_ov)["choice"]
    assert choice["format"] == "openvino-int8"
    assert choice["device"] == ("NPU" if prof.runtime.device in ("NPU", "AUTO") else prof.runtime.device)


def test_nothing_fits() -> None:
    only_torch = {"artifacts": [art("torch-fp32", "torch", 540, 25, 10)]}
    result = plan_for_profile(get_profile("budget-android-4gb"), only_torch)
    assert result["choice"] is None and result["rejected"][0]["format"] == "torch-fp32"


def test_bad_manifest(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="frugal optimize"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(ConfigError, match="no artifacts"):
        load_manifest(tmp_path)


def test_cli_plan_json(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps(MANIFEST))
    frugal = Path(sys.executable).with_name("frugal")
    proc = subprocess.run([str(frugal), "profile", "plan", "raspberry-pi5-8gb", "--manifest", str(tmp_path), "--json"],
                          capture_output=True, text=True, env=os.environ, check=True)
    data = json.loads(proc.stdout)
    assert data["profile"] == "raspberry-pi5-8gb" and data["choice"]["why"]
    human = subprocess.run([str(frugal), "profile", "plan", "laptop-x86", "--manifest", str(tmp_path)],
                           capture_output=True, text=True, env=os.environ, check=True)
    assert "gguf-f16" in human.stdout and "openvino-int4" in human.stdout
