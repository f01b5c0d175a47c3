"""The dashboard in headless Chromium: the page loads the overview with a key and draws every chart."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--window-size=1400,1400", "--virtual-time-budget=8000"]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium: apt-get install -y chromium")
def test_dashboard_renders_charts(start_cloud: Any, tmp_path: Path) -> None:
    cloud = start_cloud()
    _, key = cloud.device()
    with cloud.client(key) as c:
        for d in range(5):
            agg = {"day": (date.today() - timedelta(days=d)).isoformat(), "gen_ai.request.model": "smollm2",
                   "requests": 100 + 10 * d, "errors": d, "gen_ai.client.operation.duration": [5, 20, 40, 20, 10, 5,
                                                                                              0, 0, 0],
                   "frugal.route.decision": {"edge": 80, "cloud": 20 + d}, "frugal.guard.verdict": {"allow": 95,
                                                                                                   "block": 5},
                   "feedback_positive": 30, "feedback_negative": 5 + d, "energy_wh": 2.0 + d, "cost_usd": 0.01 * d}
            assert c.post("/v1/telemetry/batches", json={"batch_id": uuid.uuid4().hex, "aggregates": [agg]}).json()[
                "accepted"]
    url = f"{cloud.url}/dashboard#key={cloud.key('auditor')}"
    dom = subprocess.run([CHROMIUM, *FLAGS, "--dump-dom", url], capture_output=True, text=True, timeout=60).stdout
    assert 'data-rendered="yes"' in dom, dom[-2000:]
    charts = re.search(r'data-charts="(\d+)"', dom)
    assert charts is not None and int(charts.group(1)) == 7  # every chart drew at least one point
    assert "last 30 days: 600 requests" in dom
    shot = tmp_path / "dashboard.png"
    subprocess.run([CHROMIUM, *FLAGS, f"--screenshot={shot}", url], capture_output=True, timeout=60)
    assert shot.is_file() and shot.stat().st_size > 20_000  # a rendered page, not a blank one
