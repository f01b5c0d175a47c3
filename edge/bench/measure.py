"""Run one benchmark cell (model x profile x workload) in its own process.

A fresh process per cell makes peak RSS mean something (it is that cell's peak, model included) and keeps
one model's allocator state from skewing the next. Energy comes from codecarbon inside the child, and an
independent estimate from the child's CPU time; both are labelled with their method.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import resource
import time
from dataclasses import asdict, dataclass, field
from typing import Any

CELL_TIMEOUT_S = 900.0


@dataclass
class CellSpec:
    model: str
    model_label: str
    backend: str | None
    profile: str
    workload: str
    prompts: list[str]
    system: str | None
    max_tokens: int
    ignore_eos: bool
    chat: bool
    repetitions: int
    warmup: int
    seed: int
    country_iso_code: str | None
    route_policy: str | None = None
    route_threshold: float | None = None


@dataclass
class RequestResult:
    input_tokens: int
    output_tokens: int
    ttft_ms: float
    latency_ms: float
    decode_tok_s: float | None
    prefill_tok_s: float | None
    prompt_index: int = 0
    repetition: int = 0
    text: str = ""


@dataclass
class CellResult:
    spec: dict[str, Any]
    ok: bool
    error: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    threads: int = 0
    peak_rss_mb: float = 0.0
    model_rss_mb: float = 0.0
    load_s: float = 0.0
    energy: dict[str, Any] = field(default_factory=dict)
    routing: dict[str, Any] = field(default_factory=dict)


def _energy_tracker(country: str | None) -> Any:
    try:
        from codecarbon import OfflineEmissionsTracker
    except ImportError:
        return None
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    return OfflineEmissionsTracker(
        country_iso_code=country or "USA", log_level="error", save_to_file=False, measure_power_secs=1,
        tracking_mode="process", allow_multiple_runs=True,
    )


def _energy_method(tracker: Any) -> str:
    modes = {type(h).__name__: getattr(h, "_mode", None) for h in getattr(tracker, "_hardware", [])}
    cpu = modes.get("CPU")
    if cpu == "intel_rapl":
        return "measured: RAPL energy counters (codecarbon)"
    if cpu == "cpu_load":
        return "estimate: codecarbon CPU-load model (no energy counters readable), RAM by fixed power"
    return f"estimate: codecarbon ({cpu or 'unknown'} mode)"


def _run(spec: CellSpec, progress: Any) -> CellResult:
    import psutil

    from frugalstack.edge.runtime import Runtime

    result = CellResult(spec=asdict(spec), ok=False)
    rss0 = psutil.Process().memory_info().rss
    t0 = time.perf_counter()
    rt = Runtime(spec.model, profile=spec.profile, backend=spec.backend, telemetry=False, guard=False)
    result.load_s = time.perf_counter() - t0
    result.model_rss_mb = (psutil.Process().memory_info().rss - rss0) / 2**20
    result.threads = rt.profile.runtime.threads if rt.profile.detected else min(
        rt.profile.runtime.threads, len(os.sched_getaffinity(0))
    )
    params = {"max_tokens": spec.max_tokens, "ignore_eos": spec.ignore_eos, "seed": spec.seed}
    for prompt in spec.prompts[: max(1, spec.warmup)] if spec.warmup else []:
        rt.chat(prompt, system=spec.system, **params)
    tracker = _energy_tracker(spec.country_iso_code)
    if tracker is not None:
        tracker.start()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for rep in range(spec.repetitions):
        history: list[dict[str, str]] = []  # a chat session grows its context turn by turn
        for i, prompt in enumerate(spec.prompts):
            if spec.chat:
                history.append({"role": "user", "content": prompt})
                r = rt.chat(list(history), system=spec.system, **params)
                history.append({"role": "assistant", "content": r.text})
            else:
                r = rt.chat(prompt, system=spec.system, **params)
            ttft = r.ttft_ms or r.latency_ms
            result.requests.append(asdict(RequestResult(
                input_tokens=r.usage.input_tokens, output_tokens=r.usage.output_tokens, ttft_ms=ttft,
                latency_ms=r.latency_ms, decode_tok_s=r.tokens_per_s,
                prefill_tok_s=r.usage.input_tokens / (ttft / 1000) if ttft else None,
                prompt_index=i, repetition=rep, text=r.text,
            )))
            progress.put(1)
    result.wall_s = time.perf_counter() - wall0
    result.cpu_s = time.process_time() - cpu0
    if tracker is not None:
        tracker.stop()
        data = tracker.final_emissions_data
        result.energy = {
            "kwh": float(data.energy_consumed), "cpu_kwh": float(data.cpu_energy), "ram_kwh": float(data.ram_energy),
            "cpu_power_w": float(data.cpu_power), "ram_power_w": float(data.ram_power),
            "method": _energy_method(tracker), "codecarbon_g_co2e": float(data.emissions) * 1000,
        }
    else:
        result.energy = {"method": "unavailable: codecarbon not installed (pip install 'frugalstack[bench]')"}
    if spec.route_policy and not spec.ignore_eos:  # after the timed loop: costs no measured time or energy
        result.routing = _route_pass(rt, spec, params)
    rt.close()
    result.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result.ok = True
    return result


def _route_pass(rt: Any, spec: CellSpec, params: dict[str, Any]) -> dict[str, Any]:
    """The router's decision on each prompt, from the device's draft (greedy answer with logprobs)."""
    from frugalstack.edge.router.calibrate import make_router
    from frugalstack.edge.router.types import Draft, RouteContext
    from frugalstack.shared.errors import FrugalError

    out: dict[str, Any] = {"policy": spec.route_policy, "decisions": []}
    try:
        router = make_router(spec.route_policy or "", threshold=spec.route_threshold)
    except FrugalError as exc:
        return {**out, "error": str(exc)}
    out["needs_draft"] = bool(router.needs_draft)
    for i, prompt in enumerate(spec.prompts):  # each user turn on its own (chat turns without their history)
        r = rt.chat(prompt, system=spec.system, **{**params, "logprobs": True, "top_logprobs": 3})
        lps = r.logprobs or []
        draft = Draft(text=r.text, logprobs=[lp.logprob for lp in lps],
                      top_logprobs=[dict(lp.top_logprobs) for lp in lps],
                      output_tokens=r.usage.output_tokens)
        d = router.decide(RouteContext(query=prompt, draft=draft))
        out["decisions"].append({"prompt_index": i, "target": d.target, "score": round(float(d.score), 4),
                                 "reason": d.reason, "policy": d.policy})
    targets = [d["target"] for d in out["decisions"]]
    out["cloud_share"] = targets.count("cloud") / len(targets) if targets else None
    return out


def _child(spec: CellSpec, out: Any, progress: Any) -> None:
    try:
        res = _run(spec, progress)
    except Exception as exc:  # reported to the parent as a failed cell, not a crash of the suite
        res = CellResult(spec=asdict(spec), ok=False, error=f"{type(exc).__name__}: {exc}")
    out.put(asdict(res))


def run_cell(spec: CellSpec, on_request: Any = None, timeout_s: float = CELL_TIMEOUT_S) -> CellResult:
    """Run a cell in a spawned process; ``on_request`` is called once per finished request."""
    ctx = mp.get_context("spawn")
    out, progress = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=_child, args=(spec, out, progress), daemon=True)
    proc.start()
    deadline = time.monotonic() + timeout_s
    data: dict[str, Any] | None = None
    while data is None:
        try:
            progress.get(timeout=0.2)
            if on_request:
                on_request()
            continue
        except queue.Empty:
            pass
        try:
            data = out.get_nowait()
        except queue.Empty:
            if not proc.is_alive():
                data = {"spec": asdict(spec), "ok": False, "error": f"cell process died (exit {proc.exitcode})"}
            elif time.monotonic() > deadline:
                proc.kill()
                data = {"spec": asdict(spec), "ok": False, "error": f"cell timed out after {timeout_s:.0f} s"}
    proc.join(10)
    while True:  # drain ticks that raced the result
        try:
            progress.get_nowait()
            if on_request:
                on_request()
        except queue.Empty:
            break
    return CellResult(**data)
