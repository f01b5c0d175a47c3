"""A TCP fault proxy on 127.0.0.1 (pass traffic, refuse it, cut every open connection, or swallow answers), and
the telemetry body and database-down checks the PostgreSQL restart tests share."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest


class FaultProxy:
    """Forwards 127.0.0.1:``port`` to ``target``; ``mode``: pass | refuse | drop_response."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.mode = "pass"
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == "refuse":  # like a restarting server: the connection ends at once
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            swallow = self.mode == "drop_response"
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, swallow), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, swallow: bool) -> None:
        try:
            while data := src.recv(65536):
                if swallow:  # the server did the work; its answer never reaches the client
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def cut_all(self) -> None:
        """Drop every open connection, as a server restart does."""
        with self._lock:
            socks, self._open = self._open, []
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self._stop = True
        self._listener.close()
        self.cut_all()


@pytest.fixture
def fault_proxy() -> Iterator[Callable[[int], FaultProxy]]:
    made: list[FaultProxy] = []

    def make(target_port: int) -> FaultProxy:
        made.append(FaultProxy(target_port))
        return made[-1]

    yield make
    for p in made:
        p.close()


def _telemetry_batch(model: str, n: int, batch_id: str | None = None) -> dict[str, Any]:
    return {"batch_id": batch_id or uuid.uuid4().hex, "aggregates": [
        {"day": date.today().isoformat(), "gen_ai.request.model": model, "requests": n}]}


@pytest.fixture
def telemetry_batch() -> Callable[..., dict[str, Any]]:
    """A device's telemetry batch body: ``telemetry_batch(model, requests[, batch_id])``."""
    return _telemetry_batch


def _assert_database_down(dev: Any, device_id: str, model: str) -> None:
    for path in ("/healthz", f"/v1/devices/{device_id}/manifest"):
        start = time.monotonic()
        r = dev.get(path)
        assert r.status_code == 503, (path, r.status_code, r.text)
        assert r.headers["retry-after"] == "1" and r.json()["error"]["code"] == "service_unavailable"
        assert time.monotonic() - start < 10  # fails fast: no hang on a dead connection
    assert dev.post("/v1/telemetry/batches", json=_telemetry_batch(model, 100)).status_code == 503  # not half-stored


@pytest.fixture
def assert_database_down() -> Callable[[Any, str, str], None]:
    """With the database gone: health, a manifest and a telemetry batch answer 503 + Retry-After within 10 s."""
    return _assert_database_down
