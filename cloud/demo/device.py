"""One simulated device of the demo fleet: enrol, pull the signed manifest and model, ingest its catalog slice,
answer its workload through guardrails, local RAG and the router, record feedback, upload telemetry.

Each device has its own profile, data directory, knowledge store, telemetry DB and feedback DB. The devices
share one guardrail pipeline (the Presidio/spaCy and MiniLM models take seconds and ~300 MB to load; one copy
behind a lock stands in for each device's own) and the process's CPU: they are threads, not phones.
"""

from __future__ import annotations

import gzip
import json
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from frugalstack.cloud.demo.server import ok
from frugalstack.edge.router.dataset import EvalQuery

# llama.cpp silences its loader by pointing file descriptors 1 and 2 at /dev/null and back; two loads at once
# can restore each other's /dev/null and leave the process mute. Devices load their model one at a time.
LOAD_LOCK = threading.Lock()
SYSTEM_CLOUD = "You are a shop assistant. Answer the customer's question in one short sentence."


class LockedGuard:
    """A guardrail pipeline shared by device threads: one check at a time (spaCy is not thread-safe)."""

    def __init__(self, pipeline: Any):
        self._p = pipeline
        self._lock = threading.Lock()
        self.policy = pipeline.policy

    def check_input(self, *a: Any, **k: Any) -> Any:
        with self._lock:
            return self._p.check_input(*a, **k)

    def check_output(self, *a: Any, **k: Any) -> Any:
        with self._lock:
            return self._p.check_output(*a, **k)


@dataclass
class Answer:
    """One request of the workload, scored against the sample data's ground truth."""

    device: str
    query_id: str
    intent: str | None
    question: str
    answer: str
    answered_by: str
    reason: str
    score: float
    guard_in: str
    guard_out: str
    latency_ms: float  # wall time of the routed request (device, and cloud when escalated)
    edge_cpu_s: float  # this device thread's CPU time for it (llama.cpp runs on the calling thread)
    user: str
    consent: bool
    thumbs: str
    trace_id: str | None
    cloud_only_answer: str = ""  # the same question sent straight to the gateway (the cloud-only arm)
    cloud_only_score: float = 0.0
    cloud_only_ms: float = 0.0
    cloud_only_in: int = 0
    cloud_only_out: int = 0
    edge_only_score: float = 0.0  # the device's own answer, also when the cloud's replaced it
    cloud_in: int = 0  # tokens of the hybrid escalation, when there was one
    cloud_out: int = 0


@dataclass
class DeviceResult:
    name: str
    profile: str
    device_id: str
    answers: list[Answer] = field(default_factory=list)
    ota: str = ""
    router_version: str = ""
    ingested: int = 0
    telemetry: dict[str, Any] = field(default_factory=dict)
    feedback: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def enrol(base: str, admin: str, root: Path, name: str, profile: str) -> tuple[str, str]:
    """Device id and key, enrolled once and kept in ``root/device.json`` for later runs."""
    path = root / "device.json"
    if path.is_file():
        saved = json.loads(path.read_text())
        r = httpx.get(f"{base}/v1/devices/{saved['id']}/manifest", headers={"Authorization": f"Bearer {saved['key']}"})
        if r.status_code == 200:
            return str(saved["id"]), str(saved["key"])
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as c:
        token = ok(c.post("/v1/enrolment-tokens", json={"profile": profile}), "issue an enrolment token")["token"]
        enrolled = ok(c.post("/v1/devices/enrol", json={"token": token, "name": name}), "enrol the device")
    root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"id": enrolled["device"]["id"], "key": enrolled["api_key"]}))
    tmp.chmod(0o600)
    tmp.replace(path)
    return str(enrolled["device"]["id"]), str(enrolled["api_key"])


def catalog_slice(root: Path, queries: list[EvalQuery], extra: int, seed: int) -> Path:
    """This device's catalog: the products its queries are about plus ``extra`` others, and every policy doc."""
    import random

    from frugalstack.edge.sampledata import DOCS_DIR, PRODUCTS_FILE

    with gzip.open(PRODUCTS_FILE, "rt", encoding="utf-8") as fh:
        lines = [line for line in fh if line.strip()]
    wanted = {p for q in queries for p in q.product_ids}
    picked = [line for line in lines if json.loads(line)["id"] in wanted]
    rest = [line for line in lines if json.loads(line)["id"] not in wanted]
    picked += random.Random(seed).sample(rest, min(extra, len(rest)))
    src = root / "catalog"
    (src / "docs").mkdir(parents=True, exist_ok=True)
    (src / "products.jsonl").write_text("".join(picked), encoding="utf-8")
    for doc in DOCS_DIR.glob("*.md"):
        shutil.copyfile(doc, src / "docs" / doc.name)
    return src


def _profile(profile_id: str) -> Any:
    from frugalstack.edge.profiles import get_profile

    p = get_profile(profile_id)  # one thread each: the fleet shares this host's cores
    return p.model_copy(update={"runtime": p.runtime.model_copy(update={"threads": 1})})


def run_device(name: str, profile: str, base: str, admin: str, root: Path, queries: list[EvalQuery], *,
               guard: Any, embedder: Any, consent: Callable[[str], bool], max_tokens: int = 48,
               extra_products: int = 150, step: Callable[[str, str], None] = lambda d, s: None,
               stop: threading.Event | None = None, threshold: float = 0.3) -> DeviceResult:
    """Everything one device does in the demo; ``step(device, what)`` reports progress."""
    from frugalstack.edge.feedback.store import FeedbackStore
    from frugalstack.edge.knowledge.ingest import ingest
    from frugalstack.edge.knowledge.store import KnowledgeStore
    from frugalstack.edge.ota.client import OtaClient
    from frugalstack.edge.ota.sync import sync_telemetry
    from frugalstack.edge.router.calibrate import make_router
    from frugalstack.edge.router.cloud import CloudClient
    from frugalstack.edge.router.scoring import fact_score
    from frugalstack.edge.runtime import Runtime
    from frugalstack.edge.telemetry import TelemetryStore

    t0 = time.perf_counter()
    device_id, key = enrol(base, admin, root, name, profile)
    res = DeviceResult(name, profile, device_id)
    step(name, "pulling the signed manifest and model")
    with OtaClient(base, key, device_id, root / "models") as ota:
        update = ota.update(loader=None)
        model_file = ota.store.current_file()
    res.ota, res.router_version = update.status, update.manifest.router_version or ""
    if model_file is None:
        from frugalstack.shared.errors import FrugalError

        raise FrugalError(f"{name}: the manifest names no model ({update.status})")
    res.seconds["enrol_ota"] = time.perf_counter() - t0
    step(name, f"ingesting its catalog slice ({len(queries)} queries)")
    t1 = time.perf_counter()
    store = KnowledgeStore(root / "knowledge.db", embedder=embedder)
    res.ingested = ingest(store, catalog_slice(root, queries, extra_products, seed=hash(name) & 0xFFFF)).added
    res.seconds["ingest"] = time.perf_counter() - t1
    telemetry = TelemetryStore(root / "telemetry.db")
    feedback = FeedbackStore(root / "feedback.db")
    started = time.time()
    # uncalibrated demo threshold, low enough that the weak 135M model's doubtful drafts escalate
    # (`frugal route calibrate` sets it from labelled data instead)
    router = make_router("rules+confidence", store=root / "router", threshold=threshold)
    cloud = CloudClient(f"{base}/v1", "default", api_key=key, deadline_s=120.0)
    t2 = time.perf_counter()
    try:
        with LOAD_LOCK:
            rt = Runtime(str(model_file), profile=_profile(profile), telemetry=telemetry, guard=guard,
                         feedback=feedback)
        with rt:
            for i, q in enumerate(queries):
                if stop is not None and stop.is_set():
                    break
                step(name, f"answering {i + 1}/{len(queries)}")
                user = f"{name}-user{i % 3}"
                feedback.set_consent(user, consent(user))
                wall0, cpu0 = time.perf_counter(), time.thread_time()
                out = rt.ask(q.query, db=store, k=3, max_tokens=max_tokens, temperature=0.0,
                             route={"router": router, "cloud": cloud, "intent": q.intent, "max_tokens": max_tokens})
                cpu, wall = time.thread_time() - cpu0, (time.perf_counter() - wall0) * 1000
                route = out.extras.get("route", {})
                reply = out.reply
                score = fact_score(out.answer, q)
                thumbs = "up" if score >= 0.5 else "down"  # simulated from the ground truth
                if reply is not None and reply.trace_id:
                    feedback.record(reply.trace_id, user_id=user, thumbs=thumbs)
                gin, gout = getattr(reply, "input_guard", None), getattr(reply, "output_guard", None)
                # the cloud-only arm: the same question straight to the gateway, as an app without a device model
                base_only = cloud.chat([{"role": "system", "content": SYSTEM_CLOUD},
                                        {"role": "user", "content": q.query}], max_tokens=max_tokens)
                res.answers.append(Answer(
                    name, q.id, q.intent, q.query, out.answer, route.get("answered_by", "edge"),
                    str(route.get("reason", "")), score, gin.action if gin else "off",
                    gout.action if gout else "off", wall, cpu, user, consent(user), thumbs,
                    getattr(reply, "trace_id", None), base_only.text if base_only.ok else "",
                    fact_score(base_only.text, q) if base_only.ok else 0.0, base_only.latency_ms,
                    base_only.input_tokens, base_only.output_tokens,
                    fact_score(str(getattr(reply, "text", "") or ""), q)))
    finally:
        cloud.close()
        store.close()
    res.seconds["answer"] = time.perf_counter() - t2
    step(name, "uploading telemetry aggregates")
    reopened = TelemetryStore(root / "telemetry.db")  # the Runtime closed its store on exit
    records = [r for r in reopened.recent(10_000) if r.timestamp >= started]
    reopened.close()
    _cloud_usage(res, records)
    # through the durable outbox, as a real device does: batched, idempotent, kept until the cloud acknowledges
    up = sync_telemetry(root / "telemetry.db", base, key, device_id, deadline_s=60.0)
    res.telemetry = {"records": len(records), "batches": up.delivered + up.duplicates, "pending": up.pending,
                     "errors": up.errors[:3]}
    res.feedback = feedback.export()
    feedback.close()
    res.seconds["total"] = time.perf_counter() - t0
    return res


def _cloud_usage(res: DeviceResult, records: list[Any]) -> None:
    """Fill each escalated answer's cloud tokens from the route attributes on its trace."""
    by_trace = {r.trace_id: r for r in records}
    for a in res.answers:
        r = by_trace.get(a.trace_id or "")
        if r is None or a.answered_by != "cloud":
            continue
        a.cloud_in = int(r.attributes.get("frugal.route.cloud_input_tokens", 0))
        a.cloud_out = int(r.attributes.get("frugal.route.cloud_output_tokens", 0))
