"""``frugal features apply | materialize | get`` as a user runs them, against a real server on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from frugalstack.edge.ota.client import OtaClient

FRUGAL = [sys.executable, "-m", "frugalstack.edge.cli.main", "features"]


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*FRUGAL, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200", **env})


@pytest.mark.slow
def test_apply_materialize_get(start_cloud: Any, tmp_path: Path) -> None:
    cloud = start_cloud("sqlite")
    env = {"FRUGAL_CLOUD_URL": cloud.url, "FRUGAL_CLOUD_API_KEY": cloud.key("operator")}
    applied = run("apply", "--sample-rows", "40", "--json", env=env)
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["ingested"] == 40
    snap = run("materialize", "--profile", "laptop-x86", "--view", "product_stats", "--json", env=env)
    assert snap.returncode == 0, snap.stderr
    assert json.loads(snap.stdout)["row_count"] == 40
    bad = run("materialize", "--profile", "laptop-x86", "--view", "device_history", env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "never materialized" in " ".join(bad.stderr.split())

    device_id, key = cloud.device("laptop-x86")
    with OtaClient(cloud.url, key, device_id, tmp_path / "m", features_db=tmp_path / "f.db") as ota:
        assert ota.update(loader=None, report=False).features == "loaded"
    got = run("get", "--db", str(tmp_path / "f.db"), "-e", "product=p-00001", "-f", "product_stats:price",
              "-f", "product_stats:in_stock", "--json", env={})
    assert got.returncode == 0, got.stderr
    body = json.loads(got.stdout)
    assert body["values"]["product_stats:in_stock"] is False  # p-00001 is out of stock in the sample catalog
    assert 50 < body["values"]["product_stats:price"] < 120  # 99.33 list price, moved by synthetic price events
    assert body["stale"] == [] and body["missing"] == []
    human = run("get", "--db", str(tmp_path / "f.db"), "-e", "product=p-99999", "-f", "product_stats:price", env={})
    assert human.returncode == 0 and "(missing)" in human.stdout
    assert run("get", "--db", str(tmp_path / "f.db"), "-e", "product", "-f", "product_stats:price",
               env={}).returncode == 2
