"""The durable telemetry outbox against a real cloud (uvicorn + SQLite on 127.0.0.1).

Cloud down, then 429 with Retry-After, then up: every batch is delivered once. A device process killed with
SIGKILL while the cloud has stored a batch but not yet answered: after a restart (``frugal edge telemetry
sync``) nothing is lost and nothing is counted twice. Over the cap, the oldest batches are dropped and counted.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from frugalstack.edge.ota.sync import TelemetrySync, sync_telemetry
from frugalstack.edge.outbox import Outbox, backoff_s, retry_after_s
from frugalstack.edge.telemetry import TelemetryStore
from frugalstack.shared.errors import AuthenticationError
from frugalstack.shared.schemas import TraceRecord

SECRET = "SECRET-PROMPT-TEXT-4242"


def counted(cloud: Any, model: str, expect: int | None = None, wait_s: float = 5.0) -> int:
    """Requests the cloud aggregated for ``model`` (each test has its own model name); waits for ``expect``."""
    end = time.monotonic() + wait_s
    while True:
        with cloud.admin() as c:
            rows = c.get("/v1/telemetry/aggregates", params={"limit": 5000}).json()
        assert SECRET not in json.dumps(rows)
        total = sum(r["requests"] for r in rows if r["model"] == model)
        if expect is None or total == expect or time.monotonic() > end:
            return total
        time.sleep(0.1)


def _read_request(sock: socket.socket) -> None:
    """Read one HTTP request (headers + Content-Length body): closing with unread bytes would reset."""
    data = b""
    while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length and (chunk := sock.recv(65536)):
        body += chunk


class Proxy:
    """TCP proxy to the cloud. ``forward``; ``429`` (answers itself with Retry-After); with ``hold_after`` n,
    the answers after the n-th are swallowed: the cloud did the work, the device never hears back."""

    def __init__(self, target_port: int, retry_after: int = 2):
        self.target_port, self.retry_after = target_port, retry_after
        self.mode, self.hold_after = "forward", 10**9
        self.refused = self.answers = 0
        self.held = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        if self.mode == "429":
            with contextlib.suppress(OSError):
                _read_request(client)
                self.refused += 1
                client.sendall(f"HTTP/1.1 429 Too Many Requests\r\nRetry-After: {self.retry_after}\r\n"
                               "Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
            client.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=30)
        threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
        self._pump(upstream, client, True)

    def _pump(self, src: socket.socket, dst: socket.socket, answers: bool) -> None:
        hold = False
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if answers and data.startswith(b"HTTP/1."):  # a new response begins
                    with self._lock:
                        self.answers += 1
                        hold = self.answers > self.hold_after
                if hold:
                    self.held.set()
                    continue
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def proxies() -> Iterator[list[Proxy]]:
    made: list[Proxy] = []
    yield made
    for p in made:
        p.close()


def _traces(db: Path, model: str, n: int) -> None:
    """n trace rows as the runtime writes them, with raw text kept (record_text=True) to prove it never leaves."""
    store = TelemetryStore(db, record_text=True)
    now = time.time()
    for _ in range(n):
        store.record(TraceRecord(trace_id=uuid.uuid4().hex, timestamp=now, model=model, backend="llama_cpp",
                                 device_profile="laptop-x86", input_tokens=12, output_tokens=7, duration_ms=150.0,
                                 prompt=SECRET, completion=SECRET, attributes={"frugal.route.decision": "edge"}))
    store.close()


def _batches(db: Path, device_id: str, model: str, sizes: list[int], **caps: Any) -> Outbox:
    outbox = Outbox(db, **caps)
    for n in sizes:
        _traces(db, model, n)
        assert outbox.enqueue_traces(device_id) is not None
    return outbox


def _bodies(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [body for (body,) in conn.execute("SELECT body FROM outbox")]
    finally:
        conn.close()


def test_cloud_down_then_429_then_up_delivers_every_batch_once(cloud: Any, proxies: list[Proxy],
                                                                tmp_path: Path) -> None:
    db, model = tmp_path / "telemetry.db", f"outbox-down-{uuid.uuid4().hex[:6]}"
    with cloud.serve():
        device_id, key = cloud.device()
    outbox = _batches(db, device_id, model, [4, 5, 6])
    bodies = _bodies(db)  # another connection sees them: committed before any upload
    assert len(bodies) == 3 and all(SECRET not in b and "gen_ai.usage.input_tokens" in b for b in bodies)

    # 1. the cloud is down (its port refuses): the pass ends near its deadline, everything stays
    t0 = time.monotonic()
    down = outbox.flush(cloud.url, key, deadline_s=1.0, attempt_timeout_s=0.5)
    assert time.monotonic() - t0 < 3.0
    assert (down.delivered, down.pending) == (0, 3) and down.failures >= 1, down
    assert down.stopped in ("retry_later", "deadline")
    state = outbox.state()
    assert "ConnectError" in str(state["last_error"]) and state["consecutive_failures"] >= 1
    assert state["pending_records"] == 15 and state["oldest_age_s"] is not None

    with cloud.serve():  # the cloud restarts, same database
        time.sleep(outbox.state()["retry_in_s"])  # the backoff from the outage runs out first
        proxy = Proxy(cloud.port, retry_after=3)
        proxies.append(proxy)

        # 2. the cloud is overloaded: 429 + Retry-After 3 s; the outbox keeps away that long
        proxy.mode = "429"
        busy = outbox.flush(proxy.url, key, deadline_s=2.0)
        assert busy.failures == 1 and busy.stopped == "retry_later" and proxy.refused == 1, busy
        assert 1.0 < outbox.state()["retry_in_s"] <= 3.0
        assert outbox.flush(proxy.url, key, deadline_s=0.5).stopped == "retry_later" and proxy.refused == 1

        # 3. the cloud takes batches again: the pass waits out Retry-After, then each batch goes once
        proxy.mode = "forward"
        wait = outbox.state()["retry_in_s"]
        t1 = time.monotonic()
        up = outbox.flush(proxy.url, key, deadline_s=20.0)
        assert time.monotonic() - t1 >= wait - 0.2
        assert (up.delivered, up.duplicates, up.pending) == (3, 0, 0), up
        assert counted(cloud, model, 15) == 15
        again = outbox.flush(proxy.url, key, deadline_s=5.0)
        assert (again.delivered, again.duplicates, again.failures) == (0, 0, 0)
        assert counted(cloud, model) == 15
        state = outbox.state()
        assert (state["pending_batches"], state["oldest_age_s"], state["delivered"]) == (0, None, 3)
        assert state["retry_in_s"] == 0.0 and state["consecutive_failures"] == 0
    outbox.close()


CHILD = """
import sys
from frugalstack.edge.outbox import Outbox
db, url, key = sys.argv[1:4]
with Outbox(db) as ob:
    r = ob.flush(url, key, deadline_s=120, attempt_timeout_s=60,
                 on_sending=lambda b: print("SENDING", b, flush=True),
                 on_acked=lambda b, dup: print("ACK", b, flush=True))
print("DONE", r.delivered, r.duplicates, r.pending, flush=True)
"""


def test_kill_9_mid_upload_loses_nothing_and_counts_once(cloud: Any, proxies: list[Proxy], tmp_path: Path,
                                                          integrity_ok: Any) -> None:
    db, model = tmp_path / "telemetry.db", f"outbox-kill-{uuid.uuid4().hex[:6]}"
    sizes = [2, 3, 4, 5, 6, 7]
    with cloud.serve():
        device_id, key = cloud.device()
        _batches(db, device_id, model, sizes).close()
        proxy = Proxy(cloud.port)
        proxies.append(proxy)
        proxy.hold_after = 3  # the 4th batch is stored by the cloud, its answer never arrives

        child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), proxy.url, key], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            assert proxy.held.wait(60), "the child never got to the 4th batch"
            os.kill(child.pid, signal.SIGKILL)
            out, err = child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
        assert child.returncode == -signal.SIGKILL, err
        acked = [ln.split()[1] for ln in out.splitlines() if ln.startswith("ACK ")]
        assert len(acked) == 3 and "DONE" not in out
        # the cloud has the 4th batch; the device does not know
        assert counted(cloud, model, sum(sizes[:4])) == sum(sizes[:4])

        integrity_ok(db)
        with Outbox(db) as outbox:
            state = outbox.state()
        assert (state["pending_batches"], state["pending_records"]) == (3, sum(sizes[3:]))  # nothing lost

        # restart: the CLI pass re-sends the 4th (the cloud says duplicate) and the last two
        env = {**os.environ, "FRUGAL_DEVICE_KEY": key, "FRUGAL_DEVICE_ID": device_id}
        done = subprocess.run([sys.executable, "-m", "frugalstack.edge.cli.main", "edge", "telemetry", "sync",
                               "--cloud", cloud.url, "--db", str(db), "--keep-shipped-days", "0", "--json"],
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        result = json.loads(done.stdout)
        assert (result["delivered"], result["duplicates"], result["pending"]) == (2, 1, 0)
        assert counted(cloud, model, sum(sizes)) == sum(sizes)  # every record exactly once

        status = subprocess.run([sys.executable, "-m", "frugalstack.edge.cli.main", "edge", "telemetry", "status",
                                 "--db", str(db), "--json"], capture_output=True, text=True, timeout=120)
        assert status.returncode == 0, status.stderr[-2000:]
        shown = json.loads(status.stdout)
        assert (shown["pending_batches"], shown["delivered"], shown["duplicates"]) == (0, 5, 1)
        assert shown["unbatched_traces"] == 0
        assert TelemetryStore(db).count() == 0  # --keep-shipped-days 0: acknowledged trace rows are gone


def test_cap_drops_oldest_and_counts_them(cloud: Any, tmp_path: Path) -> None:
    db, model = tmp_path / "telemetry.db", f"outbox-cap-{uuid.uuid4().hex[:6]}"
    with cloud.serve():
        device_id, key = cloud.device()
        outbox = _batches(db, device_id, model, [2, 3, 4, 5, 6], max_batches=3)
        state = outbox.state()
        assert (state["pending_batches"], state["dropped_batches"], state["dropped_records"]) == (3, 2, 5)
        assert state["unbatched_traces"] == 0  # dropped rows are not re-batched later (no double count)
        result = outbox.flush(cloud.url, key, deadline_s=20)
        assert (result.delivered, result.pending) == (3, 0)
        assert counted(cloud, model, 15) == 15  # the newest three; the two oldest were dropped, counted

        # a refused key stops the pass and keeps the batch (the key is wrong, not the data)
        _traces(db, model, 2)
        with pytest.raises(AuthenticationError):
            sync_telemetry(db, cloud.url, "not-a-key", device_id, deadline_s=10)
        assert outbox.state()["pending_batches"] == 1 and "401" in str(outbox.state()["last_error"])

        # the background loop a long-running edge process uses ships it once the key is right
        _traces(db, model, 3)
        worker = TelemetrySync(db, cloud.url, key, device_id, interval_s=0.2, deadline_s=5).start()
        try:
            end = time.monotonic() + 30
            while (outbox.state()["pending_batches"] or outbox.state()["unbatched_traces"]) and time.monotonic() < end:
                time.sleep(0.1)
        finally:
            worker.stop()
        final = outbox.state()
        assert (final["pending_batches"], final["unbatched_traces"]) == (0, 0), (final, worker.last)
        assert counted(cloud, model) == 20  # once each, even if an answer timed out and the batch went twice
        outbox.close()

    # a byte cap too: room for about two one-record batches
    small = _batches(tmp_path / "bytes.db", "dev-bytes-cap", model, [1, 1, 1, 1], max_bytes=2500)
    state = small.state()
    assert 1 <= state["pending_batches"] < 4 and state["pending_bytes"] <= 2500
    assert state["dropped_batches"] == 4 - state["pending_batches"] == state["dropped_records"]
    small.close()


def test_retry_after_and_backoff_are_bounded() -> None:
    assert retry_after_s("3") == 3.0 and retry_after_s("-5") == 0.0 and retry_after_s("99999") == 3600.0
    assert retry_after_s(None) is None and retry_after_s("soon") is None
    now = 1_795_860_000.0
    assert 9.0 <= (retry_after_s(formatdate(now + 10, usegmt=True), now=now) or 0) <= 10.0
    delays = [backoff_s(n) for n in range(1, 12)]
    assert 0.5 <= delays[0] <= 1.0 and all(d <= 300.0 for d in delays) and delays[-1] >= 150.0


def test_a_200_that_is_not_the_clouds_acknowledgement_keeps_the_batch(tmp_path: Path) -> None:
    """A captive portal or a wrong URL answering 200 must not delete anything: only an ack of that batch id does."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    answers = [b"<html>sign in to the hotel wifi</html>", b'{"batch_id": "someone-else-0001", "accepted": true, '
               b'"duplicate": false, "aggregates": 1}']

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = answers[min(self.server.seen, len(answers) - 1)]  # type: ignore[attr-defined]
            self.server.seen += 1  # type: ignore[attr-defined]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.seen = 0  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        outbox = _batches(tmp_path / "telemetry.db", "dev-portal", "portal-model", [3])
        url = f"http://127.0.0.1:{server.server_address[1]}"
        for _ in answers:  # not JSON; then JSON acknowledging another batch id
            result = outbox.flush(url, "key", deadline_s=0.5)
            assert (result.delivered, result.pending, result.failures) == (0, 1, 1), result
            assert "without an acknowledgement" in str(outbox.state()["last_error"])
            outbox._set({"retry_at": 0})  # skip the backoff for the next answer
        assert server.seen == 2 and outbox.state()["pending_records"] == 3
        outbox.close()
    finally:
        server.shutdown()
