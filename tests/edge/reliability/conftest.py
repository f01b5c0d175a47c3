"""Helpers for the edge fault tests: a real uvicorn on 127.0.0.1 (``tests/edge/live_server.py``, shared with the
server tests), a real cloud, and child processes killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

live = sys.modules["frugal_tests_live_server"]  # loaded by tests/edge/conftest.py
serve_app = live.serve_app
free_port = live.free_port


CLOUD_ADMIN = "edge-reliability-admin-" + "z" * 32


class Cloud:
    """A real cloud (FastAPI app on SQLite) on a fixed loopback port, started and stopped by the test.

    ``with cloud.serve():`` runs a fresh app over the same data directory, so stopping and
    serving again is a cloud restart, and the port is closed (connection refused) in between.
    """

    def __init__(self, data_dir: Path):
        self.data_dir, self.port = data_dir, free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def serve(self) -> Any:
        from frugalstack.cloud.app import create_app
        from frugalstack.cloud.settings import CloudSettings

        settings = CloudSettings(data_dir=self.data_dir, admin_secret=CLOUD_ADMIN, port=self.port)
        return serve_app(create_app(settings), port=self.port)

    def admin(self) -> Any:
        import httpx

        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {CLOUD_ADMIN}"}, timeout=60)

    def device(self) -> tuple[str, str]:
        """Enrol a device (the cloud must be serving); returns (device id, device key)."""
        import uuid

        with self.admin() as c:
            token = c.post("/v1/enrolment-tokens", json={"profile": "laptop-x86"}).json()["token"]
            r = c.post("/v1/devices/enrol", json={"token": token, "name": f"dev-{uuid.uuid4().hex[:6]}"})
            assert r.status_code == 201, r.text
            return str(r.json()["device"]["id"]), str(r.json()["api_key"])


@pytest.fixture
def cloud(tmp_path: Path) -> Cloud:
    """A cloud on SQLite, not yet serving: ``with cloud.serve(): ...``."""
    return Cloud(tmp_path / "cloud")


@pytest.fixture
def one_thread_profile(tmp_path: Path) -> Path:
    """The host profile with one llama.cpp thread: its spinning threads crawl when the shared CPUs are busy."""
    return Path(live.one_thread_profile(tmp_path))


@pytest.fixture
def edge_server(tmp_path: Path, one_thread_profile: Path) -> Callable[..., Any]:
    """``edge_server(**ServerConfig fields)`` -> context manager yielding the URL of a server on SmolLM2."""
    from frugalstack.edge.server.app import create_app
    from frugalstack.edge.server.models import ServerConfig
    from frugalstack.edge.settings import EdgeSettings

    profile = one_thread_profile

    def make(**fields: Any) -> Any:
        config = ServerConfig(port=0, embedding_models=[], profile=str(profile), telemetry=False, **fields)
        return serve_app(create_app(config, EdgeSettings(home=tmp_path, telemetry=False, guard=False)))

    return make


def _run_until_acks(code: str, args: list[str], acks_before_kill: int, timeout: float = 60.0,
                    delay_s: float = 0.0) -> list[str]:
    """Start ``python -c code *args``; SIGKILL it ``delay_s`` after it printed ``acks_before_kill`` ``ACK`` lines.

    Returns every ACK payload it printed before dying (the writes it acknowledged as durable).
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
    )
    acks: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if line.startswith("ACK "):
                acks.append(line[4:].strip())
                if len(acks) >= acks_before_kill:
                    time.sleep(delay_s)  # land the kill inside the next write, not between two
                    os.kill(proc.pid, signal.SIGKILL)
                    break
            if time.monotonic() > deadline:
                break
        else:
            pytest.fail(f"child ended before being killed: {proc.stderr.read() if proc.stderr else ''}")
    finally:
        if proc.poll() is None:
            proc.kill()
        rest = proc.stdout.read()  # lines already in the pipe were acknowledged before the kill too
        acks += [ln[4:].strip() for ln in rest.splitlines() if ln.startswith("ACK ")]
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL, f"child was not killed by SIGKILL (rc {proc.returncode})"
    return acks


def _integrity_ok(path: Path, need_extensions: bool = False) -> None:
    from frugalstack.edge.sqlite import connect

    conn = connect(path, need_extensions=need_extensions)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()


@pytest.fixture
def kill_after_acks() -> Callable[..., list[str]]:
    """``kill_after_acks(code, args, n)``: run a child, SIGKILL it after n ACK lines, return all its ACKs."""
    return _run_until_acks


@pytest.fixture
def integrity_ok() -> Callable[..., None]:
    """``integrity_ok(path)``: assert ``PRAGMA integrity_check`` is ok on a fresh connection."""
    return _integrity_ok
