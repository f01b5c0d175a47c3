"""A real PostgreSQL restart (``pg_ctl restart -m fast``) under a running cloud app.

The shared server on 127.0.0.1:5432 serves every other test, so this test starts its own throwaway
cluster (``initdb`` into a temporary directory, run as the ``postgres`` OS user, trust auth on loopback, a
free port), points the app at it, and really stops and starts the server: while it is down requests get
a fast 503; once it is back the same app process serves again and nothing acknowledged was lost.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / name).exists():
            return str(d / name)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A private PostgreSQL cluster owned by the ``postgres`` OS user (initdb refuses to run as root)."""

    def __init__(self, root: Path):
        self.data, self.port = root / "data", _free_port()
        self.pg_ctl, initdb = _pg_bin("pg_ctl"), _pg_bin("initdb")
        assert self.pg_ctl and initdb
        self._as_postgres([initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"])
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, cmd: list[str]) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True, capture_output=True, timeout=120)

    def ctl(self, action: str, mode: str = "fast") -> None:
        opts = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres([self.pg_ctl or "pg_ctl", "-D", str(self.data), "-o", opts, "-l",
                           str(self.data / "server.log"), "-w", "-t", "60", "-m", mode, action])


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if os.geteuid() != 0 or not _pg_bin("initdb") or not _pg_bin("pg_ctl") or not shutil.which("runuser"):
        pytest.skip("needs root, runuser and the PostgreSQL server binaries (initdb, pg_ctl) to run a private cluster")
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("needs the postgres OS user to own a private cluster")
    root = Path(tempfile.mkdtemp(prefix="frugal-pg-"))
    shutil.chown(root, "postgres")
    c = Cluster(root)
    c.ctl("start")
    yield c
    subprocess.run(["runuser", "-u", "postgres", "--", c.pg_ctl or "pg_ctl", "-D", str(c.data), "-m",
                    "immediate", "stop"], capture_output=True, timeout=60)
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.postgres
def test_real_restart_fails_fast_and_recovers_without_restarting_the_app(
        start_cloud: Any, cluster: Cluster, telemetry_batch: Any, assert_database_down: Any) -> None:
    cloud = start_cloud("sqlite", database_url=cluster.url)  # kind only picks the default URL
    device_id, key = cloud.device()
    dev = cloud.client(key)

    assert dev.post("/v1/telemetry/batches", json=telemetry_batch("pg-real-restart", 3)).status_code == 200
    cluster.ctl("stop")  # a real shutdown: every pooled connection dies
    assert_database_down(dev, device_id, "pg-real-restart")
    cluster.ctl("start")
    for _ in range(100):
        if dev.get("/healthz").status_code == 200:
            break
        time.sleep(0.1)
    assert dev.get(f"/v1/devices/{device_id}/manifest").status_code == 200
    assert dev.post("/v1/telemetry/batches", json=telemetry_batch("pg-real-restart", 4)).status_code == 200
    cluster.ctl("restart")  # and a plain restart while idle: the next request just works
    assert dev.get(f"/v1/devices/{device_id}/manifest").status_code == 200
    with cloud.admin() as c:
        rows = c.get("/v1/telemetry/aggregates").json()
    assert sum(r["requests"] for r in rows if r["model"] == "pg-real-restart") == 7
    dev.close()


@pytest.mark.postgres
def test_a_crash_under_write_load_loses_no_acknowledged_batch(start_cloud: Any, cluster: Cluster,
                                                               telemetry_batch: Any) -> None:
    """``pg_ctl stop -m immediate`` is a crash (no checkpoint; WAL recovery on start) while devices write."""
    import threading

    cloud = start_cloud("sqlite", database_url=cluster.url)
    _, key = cloud.device()
    acked: list[int] = []
    stop = threading.Event()

    def writer(seed: int) -> None:
        dev = cloud.client(key)
        n = 0
        while not stop.is_set():
            n += 1
            body = telemetry_batch("pg-crash", 1, f"{seed}-{n}-{uuid.uuid4().hex}")
            try:
                if dev.post("/v1/telemetry/batches", json=body).status_code == 200:
                    acked.append(1)
            except Exception:  # a cut connection is a failed write, not an acknowledged one
                pass
        dev.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    cluster.ctl("stop", mode="immediate")
    time.sleep(0.5)
    cluster.ctl("start")
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(acked) > 5
    with cloud.admin() as c:
        for _ in range(50):
            if c.get("/healthz").status_code == 200:
                break
            time.sleep(0.1)
        rows = c.get("/v1/telemetry/aggregates").json()
    # every acknowledged batch survived the crash; a batch whose answer was lost may also be counted (>=)
    stored = sum(r["requests"] for r in rows if r["model"] == "pg-crash")
    assert stored >= len(acked), (stored, len(acked))
    assert stored <= len(acked) + 3  # at most one unacknowledged in-flight batch per writer
