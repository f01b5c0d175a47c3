"""Helpers for the edge fault tests: a real uvicorn on 127.0.0.1 and child processes killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread on a free loopback port; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def one_thread_profile(tmp_path: Path) -> Path:
    """The host profile with one llama.cpp thread: its spinning threads crawl when the shared CPUs are busy."""
    import yaml

    from frugalstack.edge.profiles import detect_profile

    data = detect_profile().model_dump(mode="json")
    data["runtime"]["threads"] = 1
    profile = tmp_path / "one-thread.yaml"
    profile.write_text(yaml.safe_dump(data))
    return profile


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
