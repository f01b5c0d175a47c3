"""The default evaluation suite on the embedded SmolLM2 Q4_1 GGUF and its f16 reference (re-quantized by
llama.cpp), side by side: where quantization costs quality, and at what cost per request.

    python benchmarks/bench_eval.py [--suite default] [--threads 1] [--out eval-out]

Each model runs as ``frugal eval run`` (its own process), then ``frugal eval compare`` prints B - A with paired
bootstrap CIs (A = the f16 reference, B = Q4_1). Wall time and CPU time of each run are printed: on a shared
host the CPU time is the better guide to what the suite costs on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

MODEL = "smollm2-135m-instruct-q4_1"


def _run(args: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "frugalstack.edge.cli.main", *args], check=True,
                   env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="default")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("eval-out"))
    a = ap.parse_args()
    ref, q4 = a.out / "ref-f16.json", a.out / "q4_1.json"
    common = ["eval", "run", a.suite, "--model", MODEL, "--threads", str(a.threads)]
    walls = {"f16": _run([*common, "--derive", "f16", "-o", str(ref)]), "q4_1": _run([*common, "-o", str(q4)])}
    for name, path in (("f16", ref), ("q4_1", q4)):
        rec = json.loads(path.read_text())
        print(f"{name}: wall {walls[name]:.0f} s, record duration {rec['duration_s']:.0f} s, cpu {rec.get('cpu_s')} s, "
              f"gate {'PASS' if rec['gate']['passed'] else 'FAIL ' + '; '.join(rec['gate']['failures'])}")
    _run(["eval", "compare", str(ref), str(q4)])


if __name__ == "__main__":
    main()
