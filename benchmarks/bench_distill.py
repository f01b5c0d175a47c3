"""Distillation end to end: per-task student vs teacher vs base scores, student size and speed ratio vs the
teacher, and the wall time of each stage, for one config (default: the shipped demo config).

    .venv/bin/python benchmarks/bench_distill.py [CONFIG.yaml] [--workdir DIR] [--repeat N] [--out FILE]

Reruns reuse the teacher cache (that is the point of it), so repeats after the first time training and
evaluation only; the first run's teacher time is reported separately. Medians and spreads over repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _stats import spread_pct, summary


def main() -> None:
    from frugalstack.cloud.distill import CONFIGS_DIR, run_pipeline
    from frugalstack.cloud.distill.config import load_config

    ap = argparse.ArgumentParser()
    ap.add_argument("config", nargs="?", default=str(CONFIGS_DIR / "demo.yaml"))
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/bench-distill"))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    os.environ.setdefault("FRUGAL_PROGRESS", "0")
    cfg = load_config(args.config)
    load_start = os.getloadavg()[0]
    walls: list[float] = []
    results = []
    for i in range(args.repeat):
        if i:  # keep the teacher cache, drop the student so it is trained again
            for sub in ("checkpoints", "student", "base-student", "export"):
                shutil.rmtree(args.workdir / sub, ignore_errors=True)
        t0 = time.perf_counter()
        results.append(run_pipeline(cfg, workdir=args.workdir))
        walls.append(time.perf_counter() - t0)
    last = results[-1]
    wall = summary(walls)
    report = {"config": str(args.config), "wall_s": wall, "wall_spread_pct": spread_pct(wall),
              "first_run_timings_s": results[0].get("timings_s"), "summary": last.get("summary"),
              "teacher_stats": last.get("teacher", {}).get("stats"),
              "eval": {k: {kk: vv for kk, vv in v.items() if kk != "tasks"} | {"tasks": v["tasks"]}
                       for k, v in last.get("eval", {}).items()},
              "load_note": f"load average {load_start:.1f} at start, {os.getloadavg()[0]:.1f} at end, "
                           f"on {os.cpu_count()} CPUs"}
    text = json.dumps(report, indent=1, default=str)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
