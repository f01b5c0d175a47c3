"""`frugal fl simulate --task lora` refuses bad robust/SecAgg/register combinations before loading a model."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

FRUGAL = [sys.executable, "-m", "frugalstack.edge.cli.main", "fl", "simulate", "--task", "lora"]


@pytest.mark.parametrize(("extra", "says"), [
    (["--strategy", "robust", "--aggregator", "mean-ish"], "unknown aggregator"),
    (["--strategy", "robust", "--secagg"], "SecAgg+ runs with fedavg"),
    (["--strategy", "fedavg", "--register", "http://127.0.0.1:9"], "needs --export-gguf"),
])
def test_bad_lora_options_fail_fast_with_a_clear_error(extra: list[str], says: str) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("FRUGAL_CLOUD_API_KEY", None)
    proc = subprocess.run([*FRUGAL, *extra], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert says in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
