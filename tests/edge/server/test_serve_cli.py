"""``frugal edge serve`` as a real process: binds loopback, answers /health, stops on SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

free_port = sys.modules["frugal_tests_live_server"].free_port  # tests/edge/live_server.py, via tests/edge/conftest.py


def test_frugal_edge_serve_process(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "FRUGAL_HOME": str(tmp_path), "FRUGAL_TELEMETRY": "0", "HF_HUB_OFFLINE": "1"}
    frugal = Path(sys.executable).with_name("frugal")
    proc = subprocess.Popen([str(frugal), "edge", "serve", "--port", str(port), "--max-body-kb", "8"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not come up"
                time.sleep(0.2)
        assert health.json()["status"] == "ok"
        big = httpx.post(f"http://127.0.0.1:{port}/v1/embeddings", json={"model": "x", "input": "a" * 9000})
        assert big.status_code == 413
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
