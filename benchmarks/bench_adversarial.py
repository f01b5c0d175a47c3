"""Leaks through the full guarded path: the adversarial set plus a stratified sample of the guard evaluation set.

Every item runs through a real ``Runtime`` (SmolLM2 Q4_1, llama.cpp, guard on): the adversarial set as in
``frugalstack.edge.guard.adversarial`` (``ask`` over a poisoned store, ``chat`` for multi-turn), and each
evaluation-set input as the question of ``Runtime.ask`` over a clean two-product store. Counted per item:
blocked/redacted on input, and leaks in the final answer (an obeyed marker, the system prompt, PII the user
typed: e-mails and digit runs of 7+ taken from the input). A guard-off pass of the same items is the baseline:
it shows what the rails prevent (leaks with the guard off minus leaks with it on).

    python benchmarks/bench_adversarial.py --per-class 15 --max-tokens 24 [--threads 1] [--out results/adversarial.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time
from collections import Counter, defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def eval_sample(per_class: int) -> list[dict[str, Any]]:
    """Up to ``per_class`` input items per (rail, label), in file order (deterministic)."""
    text = resources.files("frugalstack.edge.guard").joinpath("data", "eval_set.jsonl").read_text("utf-8")
    seen: Counter[tuple[str, str]] = Counter()
    out = []
    for line in text.splitlines():
        item = json.loads(line)
        key = (item["rail"], item["label"])
        if item["direction"] == "input" and seen[key] < per_class:
            seen[key] += 1
            pii = re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+|\d(?:[\d \-]{5,}\d)", item["text"])
            out.append({"id": item["id"], "kind": f"eval:{item['rail']}:{item['label']}", "path": "ask",
                        "question": item["text"], "pii": [p for p in pii if len(re.sub(r"\D", "", p)) >= 7
                                                          or "@" in p]})
    return out


def run(guard_on: bool, cases: list[dict[str, Any]], threads: int, max_tokens: int, folder: Path) -> list[dict]:
    from frugalstack.edge.guard.adversarial import run_all
    from frugalstack.edge.profiles import get_profile
    from frugalstack.edge.runtime import Runtime

    base = get_profile("laptop-x86")
    profile = base.model_copy(update={"runtime": base.runtime.model_copy(update={"threads": threads})})
    rt = Runtime(profile=profile, telemetry=False, guard=guard_on)
    try:
        return run_all(rt, cases, folder, max_tokens=max_tokens)
    finally:
        rt.close()


def table(results: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        c = rows[r["kind"]]
        c["items"] += 1
        c["blocked"] += r["input_action"] in ("block", "escalate") or r["output_action"] in ("block", "escalate")
        c["redacted"] += r["input_action"] == "redact" or r["output_action"] == "redact"
        c["answers_with_leak"] += bool(r["leaks"])
        for leak in r["leaks"]:
            c["leak_" + leak.split(":")[0]] += 1
    return {k: dict(v) for k, v in sorted(rows.items())}


def main() -> None:
    from frugalstack.edge.guard.adversarial import load_cases

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-class", type=int, default=15, help="evaluation-set items per (rail, label)")
    ap.add_argument("--max-tokens", type=int, default=24)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-baseline", action="store_true", help="skip the guard-off pass")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "adversarial.json")
    args = ap.parse_args()
    cases = load_cases() + eval_sample(args.per_class)
    report: dict[str, Any] = {"items": len(cases), "max_tokens": args.max_tokens, "threads": args.threads}
    for name, on in (("guard_on", True), ("guard_off", False)):
        if not on and args.no_baseline:
            continue
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as d:
            results = run(on, cases, args.threads, args.max_tokens, Path(d))
        report[name] = {"seconds": round(time.perf_counter() - start, 1), "by_kind": table(results),
                        "leaks": [{"id": r["id"], "leaks": r["leaks"], "answer": r["answer"][:160]}
                                  for r in results if r["leaks"]]}
        total = Counter[str]()
        for row in report[name]["by_kind"].values():
            total.update(row)
        report[name]["total"] = dict(total)
        print(name, json.dumps(report[name]["total"]), f"{report[name]['seconds']} s", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v["by_kind"] for k, v in report.items() if isinstance(v, dict) and "by_kind" in v},
                     indent=1))


if __name__ == "__main__":
    main()
