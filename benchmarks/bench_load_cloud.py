"""Sustained load on the cloud control plane: N simulated devices upload telemetry and poll manifests.

Each simulated device has its own enrolled key. A bounded asyncio loop (``--concurrency`` requests in
flight) cycles through the devices until ``--duration`` seconds have passed: every cycle POSTs a batch
with a fresh batch id and a random request count, then GETs the device's signed manifest. A transport
error or 5xx is retried with the same batch id (idempotent); ``--dup-rate`` of the batches are sent a
second time on purpose. At the end the script compares the request count of every acknowledged batch
with the sum the cloud aggregated: lost or double-counted batches show up as a difference.

The server runs as ``frugal cloud serve`` in its own process (one uvicorn worker), SQLite then PostgreSQL.

    .venv/bin/python benchmarks/bench_load_cloud.py [--devices 1000] [--duration 120] [--concurrency 32]
        [--backends sqlite postgresql] [--out benchmarks/results/load_cloud]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cloud import ADMIN, start_server  # the same server start-up as the throughput benchmark

MODEL = "bench-load-model"


def pct(vals: list[float], q: float) -> float:
    s = sorted(vals)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


async def enrol(base: str, n: int, conc: int) -> list[tuple[str, str]]:
    sem = asyncio.Semaphore(conc)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60) as c:

        async def one(i: int) -> tuple[str, str]:
            async with sem:
                token = (await c.post("/v1/enrolment-tokens", json={"profile": "laptop-x86"})).json()["token"]
                r = await c.post("/v1/devices/enrol", json={"token": token, "name": f"load-{i}"})
                r.raise_for_status()
                return str(r.json()["device"]["id"]), str(r.json()["api_key"])

        return list(await asyncio.gather(*(one(i) for i in range(n))))


class Tally:
    def __init__(self) -> None:
        self.lat: dict[str, list[float]] = {"telemetry": [], "manifest": []}
        self.status: dict[str, int] = {}
        self.transport_errors = 0
        self.acked: dict[str, int] = {}  # batch id -> requests in it, once acknowledged (accepted or duplicate)
        self.duplicates_acked = 0
        self.lost: list[str] = []

    def count(self, code: int) -> None:
        self.status[str(code)] = self.status.get(str(code), 0) + 1


async def post_batch(c: httpx.AsyncClient, key: str, body: dict[str, Any], t: Tally, retries: int = 5) -> bool:
    for attempt in range(retries):
        start = time.perf_counter()
        try:
            r = await c.post("/v1/telemetry/batches", json=body, headers={"Authorization": f"Bearer {key}"})
        except httpx.HTTPError:
            t.transport_errors += 1
            await asyncio.sleep(0.1 * 2**attempt)
            continue
        t.lat["telemetry"].append((time.perf_counter() - start) * 1000)
        t.count(r.status_code)
        if r.status_code == 200:
            if r.json()["duplicate"]:
                t.duplicates_acked += 1
            return True
        if r.status_code < 500 and r.status_code != 429:
            break
        await asyncio.sleep(0.1 * 2**attempt)
    t.lost.append(body["batch_id"])
    return False


async def device_cycle(c: httpx.AsyncClient, dev: tuple[str, str], t: Tally, dup_rate: float) -> None:
    device_id, key = dev
    n = random.randint(1, 50)
    body = {"batch_id": uuid.uuid4().hex, "aggregates": [{
        "day": date.today().isoformat(), "gen_ai.request.model": MODEL, "requests": n, "errors": 0,
        "gen_ai.usage.input_tokens": 40 * n, "gen_ai.usage.output_tokens": 90 * n,
        "frugal.route.decision": {"edge": n}}]}
    if await post_batch(c, key, body, t):
        t.acked[body["batch_id"]] = n
        if random.random() < dup_rate:  # a device that lost the answer and sends the same batch again
            await post_batch(c, key, body, t)
    start = time.perf_counter()
    try:
        r = await c.get(f"/v1/devices/{device_id}/manifest", headers={"Authorization": f"Bearer {key}"})
    except httpx.HTTPError:
        t.transport_errors += 1
        return
    t.lat["manifest"].append((time.perf_counter() - start) * 1000)
    t.count(r.status_code)


async def run_load(base: str, devices: list[tuple[str, str]], duration: float, conc: int, dup_rate: float) -> Tally:
    t = Tally()
    deadline = time.monotonic() + duration
    nxt = iter(range(10**12))
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as c:

        async def worker() -> None:
            while time.monotonic() < deadline:
                await device_cycle(c, devices[next(nxt) % len(devices)], t, dup_rate)

        await asyncio.gather(*(worker() for _ in range(conc)))
    return t


def aggregated(base: str) -> int:
    r = httpx.get(base + "/v1/telemetry/aggregates", params={"limit": 5000},
                  headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60)
    r.raise_for_status()
    return sum(int(row["requests"]) for row in r.json() if row["model"] == MODEL)


def one_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    import psycopg

    with tempfile.TemporaryDirectory() as tmp:
        schema, url = f"bench_{secrets.token_hex(4)}", None
        plain = args.pg.replace("+psycopg", "")
        if backend == "postgresql":
            with psycopg.connect(plain, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            url = f"{args.pg}?options=-csearch_path%3D{schema}"
        proc, base = start_server(url, Path(tmp))
        try:
            t0 = time.perf_counter()
            devices = asyncio.run(enrol(base, args.devices, args.concurrency))
            enrol_s = time.perf_counter() - t0
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            tally = asyncio.run(run_load(base, devices, args.duration, args.concurrency, args.dup_rate))
            wall = time.perf_counter() - t0
            if proc.poll() is not None:
                tail = proc.stderr.read().decode()[-3000:] if proc.stderr else ""
                raise RuntimeError(f"the server died (rc {proc.returncode}): {tail}")
            got = aggregated(base)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            if backend == "postgresql":
                with psycopg.connect(plain, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    sent = sum(tally.acked.values())
    n5xx = sum(v for k, v in tally.status.items() if k.startswith("5"))
    return {
        "backend": backend, "devices": args.devices, "enrol_s": round(enrol_s, 1), "wall_s": round(wall, 1),
        "load_avg_1m_at_start": load, "batches_acked": len(tally.acked), "duplicates_sent_and_acked":
        tally.duplicates_acked, "requests_in_acked_batches": sent, "requests_aggregated": got,
        "lost_batches": len(tally.lost), "difference": got - sent, "http_5xx": n5xx, "status": tally.status,
        "transport_errors": tally.transport_errors,
        "telemetry_rps": round(len(tally.lat["telemetry"]) / wall, 1),
        "manifest_rps": round(len(tally.lat["manifest"]) / wall, 1),
        **{f"{k}_p{int(q * 100)}_ms": round(pct(v, q), 1) for k, v in tally.lat.items() for q in (0.5, 0.95, 0.99)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=120.0, help="seconds of load per backend")
    ap.add_argument("--concurrency", type=int, default=32, help="requests in flight at most")
    ap.add_argument("--dup-rate", type=float, default=0.01, help="share of batches re-sent on purpose")
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "load_cloud")
    args = ap.parse_args()
    results = []
    for backend in args.backends:
        res = one_backend(backend, args)
        print(json.dumps(res), flush=True)
        results.append(res)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_load_cloud.json").write_text(json.dumps(
        {"cpus": os.cpu_count(), "args": {k: str(v) for k, v in vars(args).items()}, "results": results}, indent=2))
    ok = all(r["http_5xx"] == 0 and r["lost_batches"] == 0 and r["difference"] == 0 for r in results)
    print("PASS: zero 5xx, zero lost batches, count in = count aggregated" if ok else "FAIL", flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
