"""The disk fills up while the feedback store writes and while a model downloads: a clear error, no damage.

The small disk is a 1 MiB tmpfs mounted for the test when the process may mount (root here); elsewhere
the writer runs under RLIMIT_FSIZE = 1 MiB (a per-file quota: writes past it fail with EFBIG).
Either way the writer is a child process, so the limit never touches the test runner.
"""

from __future__ import annotations

import hashlib
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

LIMIT = 1 << 20


@dataclass
class SmallDisk:
    root: Path
    kind: str  # "tmpfs" or "rlimit"

    def preexec(self) -> Callable[[], None] | None:
        if self.kind == "tmpfs":
            return None

        def limit() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG instead of killing
            resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))

        return limit

    def grow(self) -> None:
        """Make room again (the user freed space)."""
        if self.kind == "tmpfs":
            subprocess.run(["mount", "-o", "remount,size=16m", str(self.root)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    root = tmp_path / "disk"
    root.mkdir()
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={LIMIT}", "tmpfs", str(root)],
                                 capture_output=True).returncode == 0
    except OSError:  # no mount(8) at all
        mounted = False
    yield SmallDisk(root, "tmpfs" if mounted else "rlimit")
    if mounted:
        subprocess.run(["umount", "-l", str(root)], check=False)


def run_child(code: str, args: list[str], disk: SmallDisk) -> tuple[list[str], str]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                         preexec_fn=disk.preexec())
    lines = out.stdout.splitlines()
    acks = [ln[4:] for ln in lines if ln.startswith("ACK ")]
    errs = [ln[4:] for ln in lines if ln.startswith("ERR ")]
    assert errs, f"the writer never hit the limit: rc={out.returncode} {out.stderr[-2000:]}"
    return acks, errs[0]


FEEDBACK_CHILD = """
import sys
from frugalstack.edge.feedback.store import FeedbackStore
store = FeedbackStore(sys.argv[1], default_consent=True)
i = 0
try:
    while True:
        store.record(f"trace-{i}", user_id="u1", thumbs="up", correction="the answer was wrong " * 40)
        print("ACK", f"trace-{i}", flush=True)
        i += 1
except Exception as exc:
    print("ERR", type(exc).__name__, exc, flush=True)
"""


def test_feedback_store_on_a_full_disk(small_disk: SmallDisk, integrity_ok: Callable[..., None]) -> None:
    from frugalstack.edge.feedback.store import FeedbackStore
    from frugalstack.edge.sqlite import connect

    db = small_disk.root / "feedback.db"
    acks, err = run_child(FEEDBACK_CHILD, [str(db)], small_disk)
    assert len(acks) > 10
    assert "full" in err or "disk I/O error" in err, err  # SQLITE_FULL on ENOSPC, SQLITE_IOERR on EFBIG
    integrity_ok(db)
    conn = connect(db)
    stored = {r[0] for r in conn.execute("SELECT trace_id FROM explicit")}
    conn.close()
    assert set(acks) <= stored
    small_disk.grow()
    with FeedbackStore(db, default_consent=True) as store:  # writable again once there is room
        store.record("after", user_id="u1", thumbs="down")
        assert store.list(limit=1, trace_id="after")


DOWNLOAD_CHILD = """
import sys
from pathlib import Path
from frugalstack.edge.ota.client import OtaClient
from frugalstack.shared.manifest import ManifestArtifact
art = ManifestArtifact(id="a1", url="/blob", filename="model.gguf", format="gguf", sha256="0" * 64,
                       size_bytes=int(sys.argv[3]), signature="unused")
with OtaClient(sys.argv[1], "device-key", "dev-1", Path(sys.argv[2]), public_key="unused") as client:
    try:
        client.download(art)
        print("ACK downloaded", flush=True)
    except Exception as exc:
        print("ERR", type(exc).__name__, getattr(exc, "code", ""), exc, flush=True)
"""

BLOB = bytes(range(256)) * (3 * LIMIT // 256)


class Blob(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", str(len(BLOB)))
        self.end_headers()
        self.wfile.write(BLOB)


def test_artifact_download_on_a_full_disk(small_disk: SmallDisk) -> None:
    from frugalstack.edge.ota.store import ModelStore

    store = ModelStore(small_disk.root / "models")
    current = b"GGUF" + bytes(200_000)
    part = store.root / "downloads" / "v1.part"
    part.write_bytes(current)
    store.install("v1", part, "model.gguf")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Blob)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        acks, err = run_child(DOWNLOAD_CHILD, [f"http://127.0.0.1:{srv.server_address[1]}", str(store.root),
                                               str(len(BLOB))], small_disk)
    finally:
        srv.shutdown()
        srv.server_close()
    assert not acks
    assert err.startswith("StorageFullError storage_full no room to download model.gguf"), err
    assert list((store.root / "downloads").iterdir()) == []  # the partial file gave its space back
    assert store.current_version == "v1"
    f = store.current_file()
    assert f is not None and hashlib.sha256(f.read_bytes()).digest() == hashlib.sha256(current).digest()
