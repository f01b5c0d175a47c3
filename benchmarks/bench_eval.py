"""The default evaluation suite on the embedded SmolLM2 Q4_1 GGUF and its f16 reference (re-quantized by
llama.cpp), side by side: where quantization costs quality, and at what cost per request.

    python benchmarks/bench_eval.py [--suite default] [--threads 1] [--sequential] [--out eval-out]
    python benchmarks/bench_eval.py --ab      # the prefix cache alone: CPU per request, runtime path vs cached

Each model runs as ``frugal eval run`` (its own process, ``--threads 1``); by default the two run at the same
time, one per core, since a 135M model on one llama.cpp thread cannot use a second core. Then ``frugal eval
compare`` prints B - A with paired bootstrap CIs (A = the f16 reference, B = Q4_1). Printed per model: wall
time, CPU time of the whole process tree (``wait4``: the evaluating process plus its bench cell), and the
record's per-part profile; plus the load average sampled during the run. On a shared host the CPU time is the
better guide to what the suite costs on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

MODEL = "smollm2-135m-instruct-q4_1"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _cli(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "frugalstack.edge.cli.main", *args]


def _start(args: list[str], log: Path) -> tuple[subprocess.Popen[bytes], float]:
    with log.open("wb") as fh:
        return subprocess.Popen(_cli(args), stdout=fh, stderr=subprocess.STDOUT, env=ENV), time.perf_counter()


def _wait(proc: subprocess.Popen[bytes], t0: float) -> dict[str, float]:
    """Wall time and the CPU time of the child's whole tree (its waited-for children included)."""
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{proc.args!r} failed with exit code {proc.returncode}")
    return {"wall_s": time.perf_counter() - t0, "cpu_s": ru.ru_utime + ru.ru_stime, "max_rss_mb": ru.ru_maxrss / 1024}


class LoadSampler(threading.Thread):
    """The 1-minute load average every ``every`` seconds: how contended the host was while we measured."""

    def __init__(self, every: float = 15.0):
        super().__init__(daemon=True)
        self.every, self.samples, self._stop = every, [os.getloadavg()[0]], threading.Event()

    def run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def stop(self) -> dict[str, float]:
        self._stop.set()
        s = self.samples
        return {"start": s[0], "median": statistics.median(s), "min": min(s), "max": max(s), "n": len(s)}


def _profile_table(recs: dict[str, dict[str, Any]]) -> str:
    parts = list(dict.fromkeys(p for r in recs.values() for p in r.get("profile", {})))
    lines = ["| part | " + " | ".join(f"{n} wall s | {n} CPU s | {n} gens (cached) | {n} out tokens"
                                          for n in recs) + " |",
             "|---|" + "---|---|---|---|" * len(recs)]
    for p in parts:
        cells = []
        for r in recs.values():
            x = r.get("profile", {}).get(p)
            cells.append(" | ".join(["-"] * 4) if x is None else
                         f"{x['wall_s']:.0f} | {x['cpu_s']:.0f} | {x['requests']:.0f} ({x['cache_hits']:.0f}) | "
                         f"{x['output_tokens']:.0f}")
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    extra = []
    for name, r in recs.items():
        eff = r.get("sections", {}).get("efficiency", {})
        t = r["timings_s"]
        extra.append(f"{name}: load {t.get('load', '?')} s, efficiency cell {t.get('efficiency', '?')} s wall / "
                     f"{eff.get('cell_cpu_s', '?')} s CPU (own process)")
    return "\n".join(lines + extra)


def ab_prefix_cache(model: str, n: int = 30, block: int = 10) -> dict[str, Any]:
    """CPU seconds per intent request through the runtime path vs the prefix-cached path, interleaved blocks."""
    from frugalstack.edge.evaluation import tasks
    from frugalstack.edge.evaluation.model import RuntimeGenerator, profile_with_threads
    from frugalstack.edge.evaluation.suite import load_suite

    suite, _ = load_suite("default")
    items = tasks.load_intents(suite.data_dir())[:n]
    gens = {pc: RuntimeGenerator(model, profile=profile_with_threads(None, 1), prefix_cache=pc)
            for pc in (False, True)}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    texts: dict[bool, list[str]] = {False: [], True: []}
    try:
        for b in range(n // block):
            for pc in (False, True) if b % 2 == 0 else (True, False):  # alternate the order: drift hits both
                c = time.process_time()
                for it in items[b * block:(b + 1) * block]:
                    msgs = [{"role": "system", "content": tasks.INTENT_SYSTEM}, {"role": "user", "content": it["text"]}]
                    texts[pc].append(gens[pc].generate(msgs, max_tokens=12, json_schema=tasks.INTENT_SCHEMA).text)
                cpu[pc].append(round(time.process_time() - c, 3))
    finally:
        for g in gens.values():
            g.close()
    done = len(texts[True])
    same = sum(a == b for a, b in zip(texts[False], texts[True], strict=True))
    return {"model": model, "runtime_cpu_s_per_request": round(sum(cpu[False]) / done, 4),
            "prefix_cpu_s_per_request": round(sum(cpu[True]) / done, 4), "runtime_blocks": cpu[False],
            "prefix_blocks": cpu[True], "identical": same,
            "n": done, "load_average": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--suite", default="default")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sequential", action="store_true", help="one model after the other (default: both at once)")
    ap.add_argument("--out", type=Path, default=Path("eval-out"))
    ap.add_argument("--ab", action="store_true", help="only the prefix-cache A/B (CPU per intent request)")
    a = ap.parse_args()
    from frugalstack.edge.cli.eval import _derived

    if a.ab:
        for model in (MODEL, _derived(MODEL, "f16")):
            print(json.dumps(ab_prefix_cache(model)), flush=True)
        return
    a.out.mkdir(parents=True, exist_ok=True)
    paths = {"f16": a.out / "ref-f16.json", "q4_1": a.out / "q4_1.json"}
    common = ["eval", "run", a.suite, "--model", MODEL, "--threads", str(a.threads)]
    argv = {"f16": [*common, "--derive", "f16", "-o", str(paths["f16"])], "q4_1": [*common, "-o", str(paths["q4_1"])]}
    _derived(MODEL, "f16")  # make (or find cached) the f16 GGUF first: a one-off, not part of the suite's time
    load = LoadSampler()
    load.start()
    t0 = time.perf_counter()
    runs: dict[str, dict[str, float]] = {}
    if a.sequential:
        for name, args in argv.items():
            runs[name] = _wait(*_start(args, a.out / f"{name}.log"))
    else:
        started = {name: _start(args, a.out / f"{name}.log") for name, args in argv.items()}
        for name, (proc, t) in started.items():
            runs[name] = _wait(proc, t)
    total = time.perf_counter() - t0
    la = load.stop()
    recs = {name: json.loads(p.read_text()) for name, p in paths.items()}
    print(f"suite {a.suite}, threads {a.threads}, {'sequential' if a.sequential else 'both models at once'}: "
          f"total wall {total:.0f} s; load average (1 min) start {la['start']:.1f}, median {la['median']:.1f}, "
          f"range {la['min']:.1f}-{la['max']:.1f} over {la['n']} samples; cores {os.cpu_count()}")
    for name, r in recs.items():
        g = r["gate"]
        print(f"{name}: wall {runs[name]['wall_s']:.0f} s, CPU {runs[name]['cpu_s']:.0f} s (process tree; "
              f"evaluating process {r.get('cpu_s')} s), generations {r.get('generation')}, "
              f"gate {'PASS' if g['passed'] else 'FAIL ' + '; '.join(g['failures'])}")
    print(_profile_table(recs))
    (a.out / "timing.json").write_text(json.dumps({"total_wall_s": total, "load": la, "runs": runs,
                                                   "parallel": not a.sequential}, indent=1))
    subprocess.run(_cli(["eval", "compare", str(paths["f16"]), str(paths["q4_1"])]), check=True, env=ENV)


if __name__ == "__main__":
    main()
