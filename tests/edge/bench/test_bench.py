"""``frugal bench`` end to end on the real model: cells, methods, reports, compare, bad suites."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from frugalstack.edge.bench.compare import compare
from frugalstack.edge.bench.report import write_reports
from frugalstack.edge.bench.runner import _derive, run_suite
from frugalstack.edge.bench.suite import ModelEntry, load_suite
from frugalstack.edge.gguf import read_gguf
from frugalstack.shared.errors import ConfigError


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    suite, path = load_suite("quick")
    out = tmp_path_factory.mktemp("bench")
    data = suite.model_dump()
    data["models"].append({"label": "missing", "model": "/nonexistent/model.gguf"})
    suite = type(suite).model_validate(data)
    results = run_suite(suite, path, out, out / "cache")
    return results, out


def test_cells_carry_figures_and_their_methods(quick_run: tuple[dict, Path]) -> None:
    results, _ = quick_run
    good, bad = results["cells"]
    assert good["ok"] and not bad["ok"] and "does not exist" in bad["error"]
    s = good["summary"]
    assert s["requests"] == 4 and s["output_tokens"] > 0
    assert s["ttft_ms_p50"] > 0 and s["decode_tok_s_median"] > 0 and s["peak_rss_mb"] > 50
    assert s["energy_method"].startswith(("estimate", "measured"))
    assert s["wh_per_1k_tokens"] > 0 and s["cpu_wh_per_1k_tokens_independent"] > 0
    assert 0.05 < s["codecarbon_vs_independent_cpu"] < 20
    assert s["quality_vs_reference"] == pytest.approx(1.0)  # its own reference: identical greedy answers
    cost = s["cost"]
    routing = good["routing"]  # the router judged each prompt's real draft
    assert routing["policy"] == "rules+confidence" and routing["needs_draft"] is True
    assert [d["prompt_index"] for d in routing["decisions"]] == [0, 1]
    assert all(d["target"] in ("edge", "cloud") and 0 <= d["score"] <= 1 and d["reason"] for d in routing["decisions"])
    assert cost["hybrid_cloud_share"] == routing["cloud_share"]
    assert cost["hybrid_share_method"].startswith("router rules+confidence: ")
    # draft-first policy: every request pays the edge answer, escalated ones the cloud too
    expected = cost["edge_per_1k"] + cost["hybrid_cloud_share"] * cost["cloud_per_1k"]
    assert cost["hybrid_per_1k"] == pytest.approx(expected)
    assert cost["edge_per_1k"] > 0 and cost["cloud_per_1k"] > 0  # which is cheaper is a measurement, not a test
    (proj,) = s["projections"]
    assert proj["profile"] == "raspberry-pi5-8gb" and proj["method"].startswith("projection")
    env = results["environment"]
    assert env["versions"]["llama_cpp_python"] and env["cpu_model"] and env["seed"] == 0


def test_reports_and_plots_are_written(quick_run: tuple[dict, Path]) -> None:
    results, out = quick_run
    paths = write_reports(results, out)
    md = paths["md"].read_text()
    assert "NOT measured" in md and "failed" in md and "codecarbon" in md
    assert "<table>" in paths["html"].read_text()
    for png in ("decode_tok_s.png", "energy_per_1k_tokens.png", "cost_per_1k_requests.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "results.json").read_text())["suite"]["name"] == "quick"


def test_compare_matches_cells(quick_run: tuple[dict, Path]) -> None:
    results, _ = quick_run
    (entry,) = compare(results, results)
    assert entry["decode_tok_s_median"][2] == pytest.approx(1.0)


def test_derive_makes_a_valid_gguf(tmp_path: Path) -> None:
    entry = ModelEntry.model_validate({"label": "q8", "derive": {"source": "smollm2-135m-instruct-q4_1",
                                                                  "quantization": "q8_0"}})
    path = Path(_derive(entry, tmp_path))
    info = read_gguf(path)
    assert info.metadata["general.file_type"] == 7  # MOSTLY_Q8_0
    assert _derive(entry, tmp_path) == str(path)  # cached


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ({"repetitions": 0}, "repetitions"),
        ({"models": [{"label": "x"}]}, "exactly one of model or derive"),
        ({"cost": {"cloud_provider": "nope", "cloud_prices": {}}}, "cloud_provider"),
        ({"workloads": [{"name": "w", "kind": "prompts"}]}, "needs prompts"),
    ],
)
def test_bad_suites_name_the_problem(tmp_path: Path, patch: dict, needle: str) -> None:
    suite, _ = load_suite("quick")
    data = {**suite.model_dump(mode="json"), **patch}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=needle):
        load_suite(path)
    with pytest.raises(ConfigError, match="not found"):
        load_suite("no-such-suite")


def test_cli_compare_and_bad_suite(quick_run: tuple[dict, Path]) -> None:
    _, out = quick_run
    cmd = [sys.executable, "-m", "frugalstack.edge.cli.main", "bench"]
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run([*cmd, "compare", str(out), str(out)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0 and "1.000" in proc.stdout
    proc = subprocess.run([*cmd, "run", "nope.yaml"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_upload_to_a_real_cloud_is_idempotent(quick_run: tuple[dict, Path], tmp_path: Path) -> None:
    import socket
    import threading
    import time

    import httpx
    import uvicorn

    from frugalstack.cloud.app import create_app
    from frugalstack.cloud.settings import CloudSettings
    from frugalstack.edge.bench.upload import upload_results
    from frugalstack.shared.errors import AuthenticationError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    admin = "bench-test-admin-" + "k" * 32
    settings = CloudSettings(data_dir=tmp_path / "cloud", admin_secret=admin, port=port)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        url = f"http://127.0.0.1:{port}"
        results, _ = quick_run
        auth = {"Authorization": f"Bearer {admin}"}
        token = httpx.post(f"{url}/v1/enrolment-tokens", json={"profile": "laptop-x86"}, headers=auth).json()["token"]
        enrolled = httpx.post(f"{url}/v1/devices/enrol", json={"token": token, "name": "bench-host"}).json()
        with pytest.raises(AuthenticationError, match="device"):
            upload_results(results, url, admin)
        first = upload_results(results, url, enrolled["api_key"])
        again = upload_results(results, url, admin, device_id=enrolled["device"]["id"])
        assert first["accepted"] and not again["accepted"]
        rows = httpx.get(f"{url}/v1/telemetry/aggregates", headers={"Authorization": f"Bearer {admin}"}).json()
        bench_rows = [r for r in rows if r["model"] == "smollm2-135m q4_1"]
        assert bench_rows and bench_rows[0]["requests"] == 4 and bench_rows[0]["energy_wh"] > 0
        with pytest.raises(AuthenticationError):
            upload_results(results, url, "wrong-key")
    finally:
        server.should_exit = True
        thread.join(10)


def test_hybrid_share_falls_back_from_own_to_pooled_to_assumed() -> None:
    from frugalstack.edge.bench.costs import hybrid_share

    suite, _ = load_suite("quick")
    decisions = [{"target": "cloud"}, {"target": "edge"}, {"target": "edge"}, {"target": "edge"}]
    prompts = {"spec": {"model_label": "m"}, "routing": {"decisions": decisions, "needs_draft": True}}
    fixed = {"spec": {"model_label": "m"}, "routing": {}}
    other = {"spec": {"model_label": "n"}, "routing": {"error": "calibration is for another version"}}
    own = hybrid_share(prompts, [prompts, fixed, other], suite)
    assert own["share"] == 0.25 and own["draft_first"] and "1 of 4" in own["method"]
    pooled = hybrid_share(fixed, [prompts, fixed, other], suite)
    assert pooled["share"] == 0.25 and "synthetic" in pooled["method"]
    assumed = hybrid_share(other, [other], suite)
    assert assumed["share"] == suite.cost.hybrid_cloud_share and "assumed" in assumed["method"]
    assert "another version" in assumed["method"]


@pytest.mark.parametrize("name", ["default", "quick", "formats"])
def test_shipped_suites_load_with_catalogue_models(name: str) -> None:
    from frugalstack.edge.catalog import get_spec

    suite, _ = load_suite(name)
    assert suite.routing.policy == "rules+confidence"
    for m in suite.models:
        assert get_spec(m.model or m.derive.source).id  # every model resolves in the catalogue
