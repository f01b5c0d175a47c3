"""Cloud control plane throughput on loopback: telemetry ingestion and the signed manifest, SQLite vs PostgreSQL.

The server runs as ``frugal cloud serve`` in its own process (uvicorn, one worker); the load generator is
a bounded httpx loop with keep-alive connections from C client threads. Each round sends a fixed number
of requests; the script reports the median and spread of requests/s over rounds, and per-request
latency percentiles. Every telemetry request carries a fresh batch id (one aggregate: a device's day),
so each one is a real write (idempotency check, aggregate upsert, audit chain append).

    .venv/bin/python benchmarks/bench_cloud.py [--rounds 5] [--requests 200] [--concurrency 1 4]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--pg-rate-stores auto memory]
        [--out benchmarks/results/cloud]

On PostgreSQL the default (``auto``) rate limiter keeps its buckets in the database (one upsert per
request, shared by workers); ``--pg-rate-stores auto memory`` also runs the in-process limiter for the cost.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import spread_pct, summary

ADMIN = "bench-admin-" + "z" * 32


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str | None, data_dir: Path, rate_store: str = "auto") -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    env = {**os.environ, "FRUGAL_CLOUD_ADMIN_SECRET": ADMIN, "FRUGAL_CLOUD_RATE_LIMIT_PER_MINUTE": "100000000",
           "FRUGAL_CLOUD_RATE_LIMIT_BURST": "1000000", "FRUGAL_CLOUD_RATE_LIMIT_STORE": rate_store}
    if url:
        env["FRUGAL_DATABASE_URL"] = url
    frugal = Path(sys.executable).parent / "frugal"
    proc = subprocess.Popen([str(frugal), "cloud", "serve", "--port", str(port), "--data-dir", str(data_dir)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
    raise RuntimeError("server did not start")


def setup(base: str) -> tuple[str, str]:
    """A device of profile laptop-x86 with a deployed model version, so the manifest is realistic."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30) as c:
        token = c.post("/v1/enrolment-tokens", json={"profile": "laptop-x86"}).json()["token"]
        dev = c.post("/v1/devices/enrol", json={"token": token, "name": "bench"}).json()
        model = c.post("/v1/registry/models", json={"name": "bench-model"}).json()
        mv = c.post(f"/v1/registry/models/{model['id']}/versions", json={"version": "1"}).json()
        art = c.post(f"/v1/model-versions/{mv['id']}/artifacts",
                     json={"filename": "m.gguf", "format": "gguf", "profiles": ["laptop-x86"]}).json()
        c.put(f"/v1/artifacts/{art['id']}/content", content=os.urandom(1 << 16))
        c.post(f"/v1/model-versions/{mv['id']}/stage", json={"stage": "staging"})
        c.post("/v1/deployments", json={"profile": "laptop-x86", "model_version_id": mv["id"],
                                        "prompt_versions": {"support": "3"}})
        c.post("/v1/experiments", json={"name": "bench-exp", "kind": "prompt",
                                        "variants": [{"name": "a"}, {"name": "b"}]})
        return dev["device"]["id"], dev["api_key"]


def telemetry_body() -> dict[str, Any]:
    return {"batch_id": uuid.uuid4().hex, "aggregates": [{
        "day": date.today().isoformat(), "gen_ai.request.model": "smollm2-135m-instruct-q4_1", "requests": 120,
        "errors": 1, "gen_ai.usage.input_tokens": 5000, "gen_ai.usage.output_tokens": 11000,
        "gen_ai.client.operation.duration": [10, 30, 40, 25, 10, 5, 0, 0, 0],
        "frugal.input_length": [5, 20, 50, 30, 10, 5, 0, 0, 0], "frugal.route.decision": {"edge": 100, "cloud": 20},
        "frugal.guard.verdict": {"allow": 118, "block": 2}, "frugal.intent": {"product": 70, "shipping": 50},
        "feedback_positive": 30, "feedback_negative": 6, "energy_wh": 1.2}]}


def run_round(base: str, key: str, device_id: str, kind: str, n: int, conc: int) -> tuple[float, list[float]]:
    """Send n requests from conc threads; (requests/s, per-request latencies in ms)."""
    lat: list[float] = []
    lock = threading.Lock()
    per = [n // conc + (1 if i < n % conc else 0) for i in range(conc)]
    errors: list[str] = []

    def worker(count: int) -> None:
        mine = []
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
            for _ in range(count):
                t = time.perf_counter()
                if kind == "telemetry":
                    r = c.post("/v1/telemetry/batches", json=telemetry_body())
                    ok = r.status_code == 200 and r.json()["accepted"]
                else:
                    r = c.get(f"/v1/devices/{device_id}/manifest")
                    ok = r.status_code == 200
                mine.append((time.perf_counter() - t) * 1000)
                if not ok:
                    errors.append(f"{r.status_code} {r.text[:100]}")
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=worker, args=(k,)) for k in per]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return n / elapsed, lat


def pct(vals: list[float], q: float) -> float:
    s = sorted(vals)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=200, help="requests per round")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--pg-rate-stores", nargs="+", default=["auto"], choices=["auto", "memory", "database"])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "cloud")
    args = ap.parse_args()

    import psycopg

    results: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    runs = [("sqlite", "auto"), *(("postgresql", store) for store in args.pg_rate_stores)]
    for backend, store in runs:
        with tempfile.TemporaryDirectory() as tmp:
            schema = f"bench_{secrets.token_hex(4)}"
            url = None
            if backend == "postgresql":
                plain = args.pg.replace("+psycopg", "")
                with psycopg.connect(plain, autocommit=True) as conn:
                    conn.execute(f'CREATE SCHEMA "{schema}"')
                url = f"{args.pg}?options=-csearch_path%3D{schema}"
            proc, base = start_server(url, Path(tmp), store)
            try:
                device_id, key = setup(base)
                for kind in ("telemetry", "manifest"):
                    for conc in args.concurrency:
                        run_round(base, key, device_id, kind, max(20, args.requests // 5), conc)  # warm-up
                        rates, lats = [], []
                        for _ in range(args.rounds):
                            rate, lat = run_round(base, key, device_id, kind, args.requests, conc)
                            rates.append(rate)
                            lats.extend(lat)
                        label = backend if store == "auto" else f"{backend} (limiter: {store})"
                        results.append({"backend": label, "rate_store": store, "endpoint": kind, "concurrency": conc,
                                        "rps": summary(rates), "lat_p50_ms": pct(lats, 0.5),
                                        "lat_p95_ms": pct(lats, 0.95), "rounds": rates})
            finally:
                proc.terminate()
                proc.wait(timeout=20)
                if backend == "postgresql":
                    with psycopg.connect(args.pg.replace("+psycopg", ""), autocommit=True) as conn:
                        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    load_after = os.getloadavg()
    table = Table(title=f"frugal cloud on loopback: {args.rounds} rounds x {args.requests} requests "
                        f"(server: 1 uvicorn worker; {os.cpu_count()} CPUs shared with the client; "
                        f"1-min load average {load_before[0]:.1f} before, {load_after[0]:.1f} after)")
    for col in ("endpoint", "clients", "backend", "req/s median", "IQR %", "min-max", "p50 ms", "p95 ms",
                "vs SQLite"):
        table.add_column(col)
    base_rps = {(r["endpoint"], r["concurrency"]): r["rps"]["median"] for r in results if r["backend"] == "sqlite"}
    for r in sorted(results, key=lambda x: (x["endpoint"], x["concurrency"], x["backend"] != "sqlite")):
        s = r["rps"]
        table.add_row(r["endpoint"], str(r["concurrency"]), r["backend"], f"{s['median']:.0f}",
                      f"{spread_pct(s):.0f}", f"{s['min']:.0f}-{s['max']:.0f}", f"{r['lat_p50_ms']:.1f}",
                      f"{r['lat_p95_ms']:.1f}", f"{s['median'] / base_rps[(r['endpoint'], r['concurrency'])]:.2f}x")
    Console(width=150).print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "bench_cloud.json"
    out.write_text(json.dumps({"machine": platform.platform(), "python": platform.python_version(),
                               "cpus": os.cpu_count(), "load_avg_before": load_before,
                               "load_avg_after": load_after, "args": {k: str(v) for k, v in vars(args).items()},
                               "results": results}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
