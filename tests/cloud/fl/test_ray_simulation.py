"""One real run on Flower's simulation engine (Ray), through the CLI, in its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_frugal_fl_simulate_on_ray(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "report.json"
    env = {**os.environ, "FLWR_TELEMETRY_ENABLED": "0", "RAY_USAGE_STATS_ENABLED": "0"}
    cmd = [
        sys.executable,
        "-m",
        "frugalstack.edge.cli.main",
        "fl",
        "simulate",
        "--engine",
        "ray",
        "--clients",
        "4",
        "--rounds",
        "2",
        "--fraction",
        "1.0",
        "--mean-size",
        "40",
        "--no-devices",
        "--quantize",
        "int8",
        "--out",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["engine"] == "ray"
    assert report["participants_per_round"] == [4, 4]
    assert report["federated"]["macro_f1"] > report["before"]["macro_f1"] + 0.1
    comm = report["communication"]
    assert comm["bytes_up_per_client_round_median"] < 0.3 * comm["bytes_down_per_client_round"]  # int8 up, fp32 down
