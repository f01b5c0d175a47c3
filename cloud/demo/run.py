"""``frugal demo --out DIR``: the whole edge <-> cloud <-> federated loop on the embedded defaults.

1. the control plane on 127.0.0.1 (SQLite in DIR/cloud): keys, EU AI Act record, dataset version, models;
2. a fleet of simulated devices (threads), each enrolling and pulling its signed manifest and model;
3. each ingests its catalog slice and answers its workload through guardrails, local RAG and the router,
   escalating to the cloud gateway; feedback is simulated from the ground truth; telemetry is uploaded;
4. a federated round of the router head, registered and delivered through the devices' next manifest;
5. distillation (a tiny run when one is available, else the last registered run);
6. report.md / report.html / PNG plots / summary.json in DIR and the dashboard URL.

Re-running over the same DIR reuses the cloud's database, keys and devices. Ctrl-C stops the fleet after
its current request and the server, then returns; nothing is left running (no subprocess is started).
"""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

PROFILES = ["laptop-x86", "raspberry-pi5-8gb", "budget-android-4gb"]


def _workload(devices: int, per_device: int) -> list[list[Any]]:
    """Test-split sample queries, evenly strided (keeps the intent mix), dealt round-robin to the devices."""
    from frugalstack.edge.router.dataset import load

    queries, _, _ = load("sample")
    test = sorted((q for q in queries if q.split == "test"), key=lambda q: q.id)
    n = min(len(test), devices * per_device)
    step = len(test) / n
    picked = [test[int(i * step)] for i in range(n)]
    return [picked[i::devices] for i in range(devices)]


_MODELS: dict[str, Any] = {}


def _shared_models(locked: Any) -> tuple[Any, Any]:
    """The guard pipeline and embedder, loaded once per process (a second run in it reuses them)."""
    if not _MODELS:
        from frugalstack.edge.guard import GuardPipeline
        from frugalstack.edge.knowledge.embedders import get_embedder

        _MODELS["guard"] = locked(GuardPipeline().warm())
        _MODELS["embedder"] = get_embedder(threads=1)
    return _MODELS["guard"], _MODELS["embedder"]


def _run_count(out: Path) -> int:
    path = out / "runs.txt"
    n = int(path.read_text().strip() or 0) + 1 if path.is_file() else 1
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{n}\n")
    tmp.replace(path)
    return n


def run_demo(out: Path, *, devices: int = 3, queries: int = 6, max_tokens: int = 48, port: int = 0,
             keep_serving: bool = False, federated: bool = True, distill: bool = False, catalog_extra: int = 150,
             console: Console | None = None) -> dict[str, Any]:
    """Run every step; returns the summary, the report paths and the dashboard URL."""
    from frugalstack.cloud.demo import figures, learning, report
    from frugalstack.cloud.demo.device import LockedGuard, run_device
    from frugalstack.cloud.demo.seed import seed
    from frugalstack.cloud.demo.server import CloudServer

    console = console or Console()
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    run_no = _run_count(out)
    profiles = [PROFILES[i % len(PROFILES)] for i in range(devices)]
    stop = threading.Event()
    console.rule(f"[bold]frugalstack demo[/bold] -> {out} (run {run_no})")
    with console.status("1/6 starting the cloud control plane on 127.0.0.1 ..."):
        server = CloudServer(out / "cloud", port=port).start()
    try:
        with console.status("1/6 keys, EU AI Act record, dataset version, models, deployments ..."):
            seeded = seed(server.base, server.admin, out, sorted(set(profiles)))
        console.print(f"[green]1/6[/green] cloud on {server.base} ({server.dialect}); dataset version, "
                      f"SmolLM2 + MiniLM registered with model cards; EU AI Act record: {seeded.files['eu_ai_act']}")
        with console.status("2/6 loading the guardrails and the MiniLM embedder (shared by the fleet) ..."):
            guard, embedder = _shared_models(LockedGuard)
        work = _workload(devices, queries)
        results = []
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                      transient=False) as progress:
            tasks = {f"device-{i + 1}": progress.add_task(f"device-{i + 1} ({profiles[i]}): enrolling", total=None)
                     for i in range(devices)}

            def step(name: str, what: str) -> None:
                progress.update(tasks[name], description=f"{name} ({profiles[int(name.split('-')[1]) - 1]}): {what}")

            with ThreadPoolExecutor(max_workers=devices, thread_name_prefix="frugal-demo-device") as pool:
                futures = [pool.submit(run_device, name, profiles[i], server.base, server.admin,
                                       out / "devices" / name, work[i], guard=guard, embedder=embedder,
                                       consent=lambda u: not u.endswith("user2"), max_tokens=max_tokens,
                                       extra_products=catalog_extra, step=step, stop=stop)
                           for i, name in enumerate(tasks)]
                try:
                    for f in futures:
                        results.append(f.result())
                except BaseException:
                    stop.set()  # devices finish their current request, then stop
                    raise
            for name in tasks:
                step(name, "done")
        summary = figures.summarise(results)
        console.print(f"[green]2-3/6[/green] {summary['requests']} requests on {devices} devices: "
                      f"{summary['edge_share']:.0%} on the device, {summary['cloud_share']:.0%} escalated")
        fl: dict[str, Any] = {"task": "skipped", "clients": 0, "rounds": 0, "before": {}, "after": {},
                              "centralized": {}, "epsilon": None, "delta": None, "clip": None,
                              "noise_multiplier": None, "registered": {}, "deployed": False}
        router_after = results[0].router_version if results else "1"
        if federated:
            with console.status("4/6 federated round of the router head (Flower, in process) ..."):
                fl = learning.federated_round(server.base, seeded.operator, seed=run_no)
                version = fl["registered"].get("model_version_id")
                # the intent-head fallback is not a router; a head worse on held-out pairs stays a candidate
                fl["deployed"] = bool(version and fl["task"] == "router" and learning.improved(fl))
                if fl["deployed"]:
                    learning.redeploy_router(server.base, seeded.operator, seeded.chat_version_id,
                                             sorted(set(profiles)), version)
                    router_after = _picked_up(server.base, out, results)
            eps = "n/a" if fl["epsilon"] is None else f"{fl['epsilon']:.1f}"
            verdict = "deployed" if fl["deployed"] else "not deployed (no better on held-out pairs)"
            console.print(f"[green]4/6[/green] federated {fl['task']} head: ε = {eps}; {verdict}; devices on "
                          f"router version {router_after}")
        with console.status("5/6 distillation ..."):
            dist = learning.distillation(server.base, seeded.operator, out / "distill", run=distill)
        last = (dist.get("last_run") or {}).get("id")
        said = "ran" if dist["ran"] else (f"not run here; last registered run {last}" if last else
                                          "not run here; none registered yet")
        console.print(f"[green]5/6[/green] distillation: {said}; start one with {dist['howto']}")
        dashboard = f"{server.base}/dashboard#key={seeded.auditor}"
        samples = [d.answers[0] for d in results if d.answers]
        samples += [a for d in results for a in d.answers if a.answered_by == "cloud" and a not in samples][:2]
        ctx = {"dashboard": dashboard, "serving": keep_serving, "cloud": server.base, "dialect": server.dialect,
               "gateway_model": server.settings.gateway_model, "wall_s": time.perf_counter() - started,
               "federated": fl, "distill": dist, "router_after": router_after, "samples": samples,
               "files": seeded.files}
        files = report.write(out, summary, results, ctx)
        _print_summary(console, summary, fl, files)
        print(f"dashboard: {dashboard}", flush=True)  # plain print: a wrapped URL cannot be clicked
        if not keep_serving:
            console.print("[dim]the cloud stops now; `frugal demo --keep-serving` keeps it and the dashboard up[/dim]")
        if keep_serving:
            console.print("serving the cloud and its dashboard; Ctrl-C to stop")
            with contextlib.suppress(KeyboardInterrupt):
                server.wait()
        return {"summary": summary, "federated": fl, "distill": dist, "dashboard": dashboard,
                "files": {k: str(v) for k, v in files.items()}, "devices": results, "url": server.base}
    finally:
        stop.set()
        server.stop()


def _picked_up(base: str, out: Path, results: list[Any]) -> str:
    """Each device fetches and verifies its next manifest; returns the router version they report."""
    import json

    from frugalstack.edge.ota.client import OtaClient

    seen = set()
    for d in results:
        cred = json.loads((out / "devices" / d.name / "device.json").read_text())
        with OtaClient(base, cred["key"], cred["id"], out / "devices" / d.name / "models") as ota:
            d.router_version = ota.fetch_manifest().router_version or ""
        seen.add(d.router_version)
    return ", ".join(sorted(seen))


def _print_summary(console: Console, s: dict[str, Any], fl: dict[str, Any], files: dict[str, Path]) -> None:
    t = Table(title="6/6 edge-only vs hybrid vs cloud-only (per 1,000 requests)")
    for col in ("", "edge-only", "hybrid", "cloud-only"):
        t.add_column(col, justify="right")
    arms = ("edge_only", "hybrid", "cloud_only")
    t.add_row("quality (fact score)", *(f"{s['quality'][a]:.2f}" for a in arms))
    t.add_row(f"cost ({s['cost_per_1k']['currency']})", *(f"{s['cost_per_1k'][a]:.4f}" for a in arms))
    t.add_row("energy Wh (estimate)", *(f"{s['energy_wh_per_1k_estimate'][a]:.2f}" for a in arms))
    console.print(t)
    console.print(f"guard: input {s['guard']['input']}, output {s['guard']['output']}; feedback "
                  f"{s['feedback']['thumbs_up']} up / {s['feedback']['thumbs_down']} down "
                  f"({s['feedback']['with_consent']} with consent)")
    if fl.get("after"):
        from frugalstack.cloud.demo.report import _fmt_metrics

        eps = "n/a" if fl["epsilon"] is None else f"{fl['epsilon']:.1f}"
        console.print(f"federated {fl['task']} head (held-out): before {_fmt_metrics(fl['before'])} -> after "
                      f"{_fmt_metrics(fl['after'])}; ε {eps} per device")
    console.print(f"report: {files['md']} and {files['html']}")
