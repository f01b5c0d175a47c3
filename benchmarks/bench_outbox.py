"""What durability costs: the telemetry outbox against the one-shot upload, on a real cloud over loopback.

Per round: ``--batches`` batches of ``--records`` trace rows each. The outbox path writes the traces,
folds them into a batch and commits it (``enqueue_traces``), then ``flush`` sends all of them; the direct
path POSTs the same kind of batch with ``edge.ota.sync.upload`` (no local state). Each round checks that
the cloud counted every record exactly once. Reported: medians and IQR over ``--rounds``.

The cloud runs as ``frugal cloud serve`` (one uvicorn worker, SQLite) in its own process.

    .venv/bin/python benchmarks/bench_outbox.py [--rounds 5] [--batches 40] [--records 50]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import spread_pct, summary
from bench_cloud import ADMIN, start_server


def _records(model: str, n: int) -> list[Any]:
    from frugalstack.shared.schemas import TraceRecord

    now = time.time()
    return [TraceRecord(trace_id=uuid.uuid4().hex, timestamp=now, model=model, backend="llama_cpp",
                        device_profile="laptop-x86", input_tokens=40, output_tokens=30, duration_ms=900.0,
                        ttft_ms=120.0, attributes={"frugal.route.decision": "edge"}) for _ in range(n)]


def _counted(base: str, model: str) -> int:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60) as c:
        rows = c.get("/v1/telemetry/aggregates", params={"limit": 5000}).json()
    return sum(r["requests"] for r in rows if r["model"] == model)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--records", type=int, default=50)
    args = ap.parse_args()

    from frugalstack.edge.ota.sync import upload
    from frugalstack.edge.outbox import Outbox
    from frugalstack.edge.telemetry import TelemetryStore

    tmp = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    proc, base = start_server(None, tmp / "cloud")
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30) as c:
            token = c.post("/v1/enrolment-tokens", json={"profile": "laptop-x86"}).json()["token"]
            dev = c.post("/v1/devices/enrol", json={"token": token, "name": "bench-outbox"}).json()
        device_id, key = dev["device"]["id"], dev["api_key"]
        enqueue_ms: list[float] = []
        outbox_ms: list[float] = []
        direct_ms: list[float] = []
        exact = True
        for r in range(args.rounds):
            model = f"bench-outbox-{r}"
            db = tmp / f"round{r}.db"
            store = TelemetryStore(db)
            with Outbox(db) as outbox:
                for _ in range(args.batches):
                    for rec in _records(model, args.records):
                        store.record(rec)
                    t0 = time.perf_counter()
                    outbox.enqueue_traces(device_id)
                    enqueue_ms.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                result = outbox.flush(base, key, deadline_s=600)
                outbox_ms.append((time.perf_counter() - t0) * 1000 / args.batches)
            store.close()
            exact &= result.delivered == args.batches and _counted(base, model) == args.batches * args.records
            direct_model = f"bench-direct-{r}"
            batches = [_records(direct_model, args.records) for _ in range(args.batches)]
            t0 = time.perf_counter()
            for records in batches:
                upload(base, key, device_id, records)
            direct_ms.append((time.perf_counter() - t0) * 1000 / args.batches)
            exact &= _counted(base, direct_model) == args.batches * args.records
        out = {"rounds": args.rounds, "batches": args.batches, "records_per_batch": args.records,
               "load_avg_1m": os.getloadavg()[0], "counted_exactly_once": exact}
        for name, vals in (("enqueue_ms_per_batch", enqueue_ms), ("outbox_flush_ms_per_batch", outbox_ms),
                           ("direct_upload_ms_per_batch", direct_ms)):
            s = summary(vals)
            out[name] = {k: round(v, 2) for k, v in s.items()} | {"iqr_pct": round(spread_pct(s), 1)}
        print(json.dumps(out, indent=2))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
