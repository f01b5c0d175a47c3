"""Start the issue-3 OpenAI-compatible server (``frugal edge serve``) on 127.0.0.1 as the offline "cloud".

Used by ``frugal route eval`` when no ``--cloud-url`` is given: there is no bigger instruct model offline
here, so the stand-in cloud serves the same SmolLM2 and is given the larger context (see collect.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from types import TracebackType

import httpx

from frugalstack.shared.errors import ServiceUnavailableError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalCloud:
    """Context manager: a ``frugal edge serve`` subprocess; ``base_url`` ends in ``/v1``."""

    def __init__(self, model: str | None = None, port: int | None = None, start_timeout_s: float = 180.0,
                 profile: str | None = None):
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        cmd = [sys.executable, "-m", "frugalstack.edge.cli.main", "edge", "serve", "--port", str(self.port)]
        if model:
            cmd += ["--model", model]
        if profile:
            cmd += ["--profile", profile]
        env = {**os.environ, "FRUGAL_TELEMETRY": "false"}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + start_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode()[-800:] if self.proc.stderr else ""
                raise ServiceUnavailableError(f"frugal edge serve exited: {err}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.close()
        raise ServiceUnavailableError("frugal edge serve did not become healthy in time")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def __enter__(self) -> LocalCloud:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
