"""The local server (``frugal edge serve``) under 8-32 concurrent streaming clients on loopback.

The server runs in its own process on the embedded SmolLM2 with admission control (``--max-concurrent``,
``--max-queue``); each client loops for ``--duration`` seconds sending streamed chat requests with the
official ``openai`` client's wire format (raw httpx, so every 429/503 is seen rather than retried away).
A refused client waits the ``Retry-After`` seconds, as the openai client does, then tries again.

Reported per concurrency: requests completed, 429/503 counts, p50/p95/p99 of time to first token and of
total latency for completed requests, completed requests/s and output tokens/s, and the server's peak
RSS (bounded queue: memory must not grow with the number of clients).

    .venv/bin/python benchmarks/bench_load_edge.py [--clients 8 16 32] [--duration 30] [--max-tokens 32]
        [--max-queue 16] [--threads 1] [--out benchmarks/results/load_edge]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

MODEL = "smollm2-135m-instruct-q4_1"
QUESTIONS = ["Do you ship to Canada?", "What is your return policy?", "Is the red jacket waterproof?",
             "How long does delivery take?", "Can I change my order?", "Do you have size 42 in stock?"]


def pct(vals: list[float], q: float) -> float:
    s = sorted(vals)
    return round(s[min(len(s) - 1, int(q * len(s)))], 1) if s else float("nan")


def start_server(args: argparse.Namespace, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    import yaml

    from frugalstack.edge.profiles import detect_profile

    data = detect_profile().model_dump(mode="json")
    data["runtime"]["threads"] = args.threads
    profile = tmp / "bench.yaml"
    profile.write_text(yaml.safe_dump(data))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cmd = [sys.executable, "-m", "frugalstack.edge.cli.main", "edge", "serve", "--port", str(port), "--profile",
           str(profile), "--max-concurrent", str(args.max_concurrent), "--max-queue", str(args.max_queue),
           "--queue-timeout", str(args.queue_timeout)]
    env = {**os.environ, "FRUGAL_TELEMETRY": "false", "FRUGAL_HOME": str(tmp)}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not start")


async def client(c: httpx.AsyncClient, i: int, deadline: float, max_tokens: int, out: dict[str, Any]) -> None:
    n = 0
    while time.monotonic() < deadline:
        body = {"model": MODEL, "stream": True, "max_tokens": max_tokens, "temperature": 0.7, "seed": i * 1000 + n,
                "messages": [{"role": "user", "content": QUESTIONS[(i + n) % len(QUESTIONS)]}]}
        n += 1
        start = time.perf_counter()
        first, pieces = None, 0
        try:
            async with c.stream("POST", "/v1/chat/completions", json=body) as r:
                if r.status_code != 200:
                    out["status"][r.status_code] = out["status"].get(r.status_code, 0) + 1
                    await r.aread()
                    await asyncio.sleep(float(r.headers.get("retry-after", "1")))
                    continue
                async for line in r.aiter_lines():
                    if line.startswith("data: ") and '"content"' in line:
                        pieces += 1
                        if first is None:
                            first = time.perf_counter() - start
        except httpx.HTTPError as exc:
            out["errors"].append(type(exc).__name__)
            continue
        out["status"][200] = out["status"].get(200, 0) + 1
        out["ttft_ms"].append((first or 0.0) * 1000)
        out["total_ms"].append((time.perf_counter() - start) * 1000)
        out["pieces"] += pieces


def run_level(base: str, clients: int, duration: float, max_tokens: int, pid: int) -> dict[str, Any]:
    import psutil

    out: dict[str, Any] = {"status": {}, "ttft_ms": [], "total_ms": [], "pieces": 0, "errors": []}
    proc = psutil.Process(pid)
    peak = [proc.memory_info().rss]
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.2):
            peak.append(proc.memory_info().rss)

    threading.Thread(target=watch, daemon=True).start()

    async def main() -> None:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=base, timeout=600, limits=limits) as c:
            deadline = time.monotonic() + duration
            await asyncio.gather(*(client(c, i, deadline, max_tokens, out) for i in range(clients)))

    start = time.perf_counter()
    asyncio.run(main())
    wall = time.perf_counter() - start
    stop.set()
    adm = httpx.get(base + "/health", timeout=10).json()["admission"]
    done = out["status"].get(200, 0)
    return {"clients": clients, "wall_s": round(wall, 1), "completed": done, "http_429": out["status"].get(429, 0),
            "http_503": out["status"].get(503, 0), "other_status": {k: v for k, v in out["status"].items()
                                                                    if k not in (200, 429, 503)},
            "transport_errors": len(out["errors"]),
            "ttft_p50_ms": pct(out["ttft_ms"], 0.5), "ttft_p95_ms": pct(out["ttft_ms"], 0.95),
            "ttft_p99_ms": pct(out["ttft_ms"], 0.99), "latency_p50_ms": pct(out["total_ms"], 0.5),
            "latency_p95_ms": pct(out["total_ms"], 0.95), "latency_p99_ms": pct(out["total_ms"], 0.99),
            "requests_per_s": round(done / wall, 2), "output_pieces_per_s": round(out["pieces"] / wall, 1),
            "server_peak_rss_mb": round(max(peak) / 2**20, 1), "admission_after": adm,
            "load_avg_1m": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, nargs="+", default=[8, 16, 32])
    ap.add_argument("--duration", type=float, default=30.0, help="seconds per concurrency level")
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--max-concurrent", type=int, default=1)
    ap.add_argument("--max-queue", type=int, default=16)
    ap.add_argument("--queue-timeout", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads of the server")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "load_edge")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_server(args, Path(tmp))
        try:  # warm-up: loads the guard models and the weights before anything is timed
            httpx.post(base + "/v1/chat/completions", timeout=600, json={
                "model": MODEL, "max_tokens": 4, "messages": [{"role": "user", "content": "Hi"}]}).raise_for_status()
            for clients in args.clients:
                res = run_level(base, clients, args.duration, args.max_tokens, proc.pid)
                print(json.dumps(res), flush=True)
                results.append(res)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_load_edge.json").write_text(json.dumps(
        {"cpus": os.cpu_count(), "args": {k: str(v) for k, v in vars(args).items()}, "results": results}, indent=2))
    bad = [r for r in results if r["other_status"] or r["transport_errors"]]
    print("PASS: only 200/429/503, no transport errors" if not bad else f"FAIL: {bad}", flush=True)


if __name__ == "__main__":
    main()
