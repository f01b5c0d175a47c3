"""``frugal cloud demo``: one device reporting real telemetry to a local cloud, and the dashboard URL.

Everything is real: the cloud runs under uvicorn, the device enrols with a one-time token, answers on
the embedded SmolLM2 through the edge Runtime, folds its trace records into aggregates and uploads them;
the signed manifest is fetched and verified like an over-the-air check.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from pathlib import Path

import httpx

from frugalstack.edge.cli.output import console

QUESTIONS = [
    "Is the blue hiking backpack waterproof?",
    "How long does standard shipping take?",
    "Can I return shoes that I have worn once?",
    "Does the laptop sleeve fit a 16 inch laptop?",
    "What sizes does the rain jacket come in?",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_demo(data_dir: Path, *, port: int = 8080, questions: int = 3, serve: bool = True,
             max_tokens: int = 48, threads: int | None = None) -> dict[str, str]:
    import uvicorn

    from frugalstack.cloud.app import create_app
    from frugalstack.cloud.settings import CloudSettings
    from frugalstack.edge.ota.client import OtaClient
    from frugalstack.edge.ota.sync import upload
    from frugalstack.edge.runtime import Runtime
    from frugalstack.edge.telemetry import TelemetryStore

    settings = CloudSettings(data_dir=data_dir, port=port or _free_port())
    app = create_app(settings)
    base = f"http://127.0.0.1:{settings.port}"
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the cloud could not start on port {settings.port}")
        time.sleep(0.05)
    admin = {"Authorization": f"Bearer {app.state.cloud.admin_secret}"}
    with httpx.Client(base_url=base, headers=admin, timeout=30) as c:
        token = c.post("/v1/enrolment-tokens", json={"profile": "laptop-x86"}).json()["token"]
        enrolled = c.post("/v1/devices/enrol", json={"token": token, "name": "demo-laptop"}).json()
        auditor = c.post("/v1/keys", json={"name": "dashboard", "role": "auditor"}).json()["key"]
    device_id, device_key = enrolled["device"]["id"], enrolled["api_key"]
    console.print(f"cloud on {base} ({app.state.cloud.db.dialect}); device {device_id} enrolled")

    store = TelemetryStore(Path(tempfile.mkdtemp(prefix="frugal-demo-device-")) / "telemetry.db")
    profile = None
    if threads:
        from frugalstack.edge.profiles import get_profile

        host = get_profile("auto")
        profile = host.model_copy(update={"runtime": host.runtime.model_copy(update={"threads": threads})})
    with Runtime(profile=profile, telemetry=store) as rt:
        for q in QUESTIONS[: max(1, questions)]:
            reply = rt.chat(q, max_tokens=max_tokens)
            console.print(f"[bold]{q}[/bold]\n  {reply.text.strip()[:160]}  ({reply.latency_ms:.0f} ms)")
        records = store.recent(1000)  # the Runtime closes its store on exit
    for r in records:  # the demo answers everything on the device
        r.attributes["frugal.route.decision"] = "edge"
    result = upload(base, device_key, device_id, records)
    again = upload(base, device_key, device_id, records)
    console.print(f"telemetry: {len(records)} requests in {result.aggregates} aggregate(s) uploaded; "
                  f"retry counted once: {again.duplicate}")
    with OtaClient(base, device_key, device_id, Path(tempfile.mkdtemp(prefix="frugal-demo-ota-"))) as ota:
        manifest = ota.fetch_manifest()
    console.print(f"signed manifest verified (router version {manifest.router_version}, "
                  f"expires {time.strftime('%Y-%m-%d %H:%M', time.gmtime(manifest.expires_at))} UTC)")
    url = f"{base}/dashboard#key={auditor}"
    print(f"dashboard: {url}", flush=True)  # plain print: a wrapped URL cannot be clicked
    try:
        if serve:
            console.print("serving; Ctrl-C to stop")
            while thread.is_alive():
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return {"url": base, "dashboard": url, "device_id": device_id}
