"""SIGKILL an edge process in the middle of writes: the stores stay intact and every acknowledged write survives.

Each child prints ``ACK <id>`` only after the call that wrote ``<id>`` returned (the transaction committed);
the parent kills it with SIGKILL (no clean-up, no atexit) and then reopens what it left behind.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

FEEDBACK_CHILD = """
import sys
from frugalstack.edge.feedback.store import FeedbackStore
store = FeedbackStore(sys.argv[1], default_consent=True)
i = 0
while True:
    rid = store.record(f"trace-{i}", user_id="u1", thumbs="up" if i % 2 else "down", correction="fix " * 40)
    store.signal(f"trace-{i}", "clicked", user_id="u1", product_id=f"p{i}")
    print("ACK", f"trace-{i}", flush=True)
    i += 1
"""

KNOWLEDGE_CHILD = """
import sys
import numpy as np
from frugalstack.edge.knowledge.store import Item, KnowledgeStore
store = KnowledgeStore(sys.argv[1])
rng = np.random.default_rng(0)
b = 0
while True:
    items = [Item(id=f"p{b}-{k}", kind="product", title=f"Shoe {b}-{k}", text="a running shoe " * 20,
                  record={"id": f"p{b}-{k}"}, category="shoes", price=float(k), attributes={"size": k % 5})
             for k in range(40)]
    store.upsert(items, vectors=rng.standard_normal((40, 384)).astype("float32"))
    print("ACK", b, flush=True)
    b += 1
"""

OTA_CHILD = """
import shutil, sys
from pathlib import Path
from frugalstack.edge.ota.store import ModelStore
store = ModelStore(Path(sys.argv[1]))
src = Path(sys.argv[2])
i = int(sys.argv[3])
while True:
    part = store.root / "downloads" / f"v{i}.part"
    shutil.copyfile(src, part)  # what the download leaves before verification
    store.install(f"v{i}", part, src.name)
    store.prune()
    print("ACK", f"v{i}", flush=True)
    i += 1
"""


def test_kill_during_feedback_writes(tmp_path: Path, kill_after_acks: Any, integrity_ok: Any) -> None:
    from frugalstack.edge.feedback.store import FeedbackStore

    db = tmp_path / "feedback.db"
    acks = kill_after_acks(FEEDBACK_CHILD, [str(db)], 150, delay_s=random.uniform(0, 0.05))
    integrity_ok(db)
    with FeedbackStore(db, default_consent=True) as store:
        stored = {row["trace_id"] for row in store.list(limit=100_000)}
        assert set(acks) <= stored, sorted(set(acks) - stored)[:5]
        store.record("after-restart", user_id="u1", thumbs="up")  # writable again
        assert store.list(limit=1, trace_id="after-restart")


def test_kill_during_ingestion(tmp_path: Path, kill_after_acks: Any, integrity_ok: Any) -> None:
    from frugalstack.edge.knowledge.store import KnowledgeStore

    db = tmp_path / "knowledge.db"
    acks = kill_after_acks(KNOWLEDGE_CHILD, [str(db)], 8, delay_s=random.uniform(0, 0.05))
    integrity_ok(db, need_extensions=True)
    with KnowledgeStore(db) as store:
        for b in acks:
            assert store.get(f"p{b}-0") is not None and store.get(f"p{b}-39") is not None
        n_items = store.count()
        assert n_items % 40 == 0 and n_items >= 40 * len(acks)  # whole batches only: one transaction each
        vec_rows = store.conn.execute("SELECT COUNT(*) FROM items_vec").fetchone()[0]
        fts_rows = store.conn.execute("SELECT COUNT(*) FROM items_fts").fetchone()[0]
        assert vec_rows == fts_rows == n_items


@pytest.mark.slow
def test_kill_during_ota_swap(tmp_path: Path, kill_after_acks: Any, smollm2_path: Path,
                              one_thread_profile: Path) -> None:
    from frugalstack.edge.ota.store import ModelStore
    from frugalstack.edge.runtime import Runtime

    # tmpfs: the same crash semantics (SIGKILL, not power loss) without fsyncing 93 MB on a shared disk
    shm = Path("/dev/shm")
    root = Path(tempfile.mkdtemp(dir=shm if shm.is_dir() else tmp_path)) / "models"
    want = hashlib.sha256(smollm2_path.read_bytes()).hexdigest()
    acks = kill_after_acks(OTA_CHILD, [str(root), str(smollm2_path), "1"], 2, delay_s=random.uniform(0, 0.6))
    store = ModelStore(root)
    current = store.current_version
    last = int(acks[-1][1:])
    assert current in (f"v{last}", f"v{last + 1}"), (current, acks)  # the acknowledged one or the next, whole
    path = store.current_file()
    assert path is not None and hashlib.sha256(path.read_bytes()).hexdigest() == want
    rt = Runtime(str(path), profile=str(one_thread_profile), telemetry=False, guard=False)
    try:
        assert rt.complete("Hello", max_tokens=2).text is not None
    finally:
        rt.close()
    # the interrupted install is retried cleanly
    part = root / "downloads" / "again.part"
    part.write_bytes(smollm2_path.read_bytes())
    store.install("v99", part, smollm2_path.name)
    assert store.current_version == "v99" and store.previous_version == current
    shutil.rmtree(root.parent, ignore_errors=True)
