"""``frugal optimize`` end to end on the tiny checkpoint: artifacts, manifest, reports, skips, gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from frugalstack.optimizers.checkpoint import tree_bytes, tree_sha256


@pytest.fixture(scope="module")
def optimized(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, str]:
    out = tmp_path_factory.mktemp("optimized")
    frugal = Path(sys.executable).with_name("frugal")
    proc = subprocess.run(
        [str(frugal), "optimize", str(tiny_checkpoint), "--formats", "onnx-int8,gguf-q8_0,tflite-int8",
         "--out", str(out), "--threads", "1", "--eval-tokens", "128"],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, json.loads((out / "report.json").read_text()), proc.stdout


def test_artifacts_and_manifest(optimized: tuple[Path, dict, str]) -> None:
    out, _, _ = optimized
    manifest = json.loads((out / "manifest.json").read_text())
    arts = {a["format"]: a for a in manifest["artifacts"]}
    assert list(arts) == ["torch-fp32", "onnx-int8", "gguf-q8_0", "tflite-int8"]
    assert len(manifest["checkpoint_sha256"]) == 64 and len(manifest["source_sha256"]) == 64
    assert manifest["tools"]["onnxruntime"] and manifest["tools"]["torch"]
    for name in ("torch-fp32", "onnx-int8"):
        art = arts[name]
        assert art["status"] == "accepted", art
        path = out / art["path"]
        assert art["sha256"] == tree_sha256(path) and art["bytes"] == tree_bytes(path) > 0
        m = art["metrics"]
        assert m["perplexity"] > 1 and m["peak_rss_mb"] > 50 and m["decode_tok_s"] > 0 and m["ttft_ms"] > 0
    assert arts["onnx-int8"]["bytes"] < 0.6 * arts["torch-fp32"]["bytes"]  # int8 weights vs fp32
    assert arts["onnx-int8"]["metrics"]["greedy_agreement"] >= 0.9
    assert arts["torch-fp32"]["metrics"]["greedy_agreement"] == 1.0
    assert "quantization" in arts["onnx-int8"] and arts["onnx-int8"]["quantization"] == "int8"


def test_skipped_formats_say_why(optimized: tuple[Path, dict, str]) -> None:
    _, report, stdout = optimized
    rows = {r["format"]: r for r in report["artifacts"]}
    assert rows["tflite-int8"]["status"] == "skipped" and "litert-convert" in rows["tflite-int8"]["reason"]
    assert rows["gguf-q8_0"]["status"] == "skipped" and "GGUF source" in rows["gguf-q8_0"]["reason"]
    assert "litert-convert" in stdout and "onnx-int8" in stdout


def test_reports_written(optimized: tuple[Path, dict, str]) -> None:
    out, report, _ = optimized
    md = (out / "report.md").read_text()
    assert "| onnx-int8 | accepted |" in md and "Quality gate" in md
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report["quality_gate"]["max_perplexity_increase"] == 0.05


def test_quality_gate_marks_rejected() -> None:
    from frugalstack.optimizers.pipeline import apply_quality_gate

    rows = [{"format": "a", "metrics": {"perplexity": 10.0}}, {"format": "b", "metrics": {"perplexity": 10.4}},
            {"format": "c", "metrics": {"perplexity": 10.6}}, {"format": "d", "status": "skipped"}]
    apply_quality_gate(rows, 10.0, 0.05)
    assert [r["status"] for r in rows] == ["accepted", "accepted", "rejected", "skipped"]
    assert "6.0% over fp32" in rows[2]["reason"]


def test_unknown_format_is_a_clear_error(tiny_checkpoint: Path, tmp_path: Path) -> None:
    frugal = Path(sys.executable).with_name("frugal")
    proc = subprocess.run([str(frugal), "optimize", str(tiny_checkpoint), "--formats", "onnx-int3",
                           "--out", str(tmp_path)], capture_output=True, text=True, env=os.environ)
    assert proc.returncode == 2 and "unknown formats: onnx-int3" in proc.stderr


def test_runtime_with_a_profile_loads_what_the_planner_picks(optimized: tuple[Path, dict, str]) -> None:
    from frugalstack.edge.profiles import get_profile
    from frugalstack.edge.runtime import Runtime
    from frugalstack.optimizers.plan import load_manifest, plan_for_profile
    from frugalstack.shared.errors import ConfigError

    out, _, _ = optimized
    expected = plan_for_profile(get_profile("laptop-x86"), load_manifest(out))["choice"]
    assert expected["format"] in ("torch-fp32", "onnx-int8")
    with Runtime(profile="laptop-x86", artifacts=out, telemetry=False) as rt:
        assert rt.plan is not None and rt.plan["format"] == expected["format"]
        assert rt.backend_name == expected["backend"] and rt.context_size <= expected["context_size"]
        reply = rt.complete("The parcel arrived", max_tokens=3, guard=False)
        assert reply.usage.output_tokens == 3 and reply.backend == expected["backend"]
    with pytest.raises(ConfigError, match="fits profile iphone-8gb") as err:  # no onnxruntime/torch on iPhone
        Runtime(profile="iphone-8gb", artifacts=out, telemetry=False)
    assert "runtime onnxruntime is not available" in str(err.value)
