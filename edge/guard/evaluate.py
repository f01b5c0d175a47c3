"""``frugal guard eval``: precision/recall/F1 per rail (and per PII type) and the false-positive rate on
benign traffic, over the shipped labelled set (``data/eval_set.jsonl``) or any file in the same format.

Detection for a binary rail (injection, toxicity, scope) means the rail produced a finding the policy
does not simply allow; for PII it means a finding of the expected type; for the output rails, a finding
of one of the expected types. A benign case is a false positive when the verdict is anything but allow.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from frugalstack.edge.guard.heads import read_jsonl
from frugalstack.edge.guard.pipeline import GuardPipeline
from frugalstack.edge.guard.types import GuardVerdict
from frugalstack.shared.errors import ConfigError

PII_TYPES = ["CREDIT_CARD", "IBAN", "EMAIL", "PHONE", "ADDRESS", "PERSON", "ORDER_NUMBER", "NATIONAL_ID"]


def load_cases(path: Path | None = None) -> list[dict[str, Any]]:
    if path is None:
        return read_jsonl("eval_set.jsonl")
    try:
        return [json.loads(line) for line in Path(path).read_text("utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read evaluation set {path}: {exc}") from exc


def run_case(guard: GuardPipeline, case: dict[str, Any]) -> GuardVerdict:
    if case.get("direction") == "output":
        return guard.check_output(case["text"], citations=case.get("citations"), json_schema=case.get("json_schema"))
    return guard.check_input(case["text"], retrieved=case.get("retrieved"))


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "tp": tp, "fp": fp, "fn": fn}


def evaluate(guard: GuardPipeline, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Run every case once and score each rail; ``errors`` lists the misses for inspection."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    errors: list[dict[str, Any]] = []
    benign_in = benign_in_fp = benign_out = benign_out_fp = 0
    fp_by_rail: Counter[str] = Counter()
    start = time.perf_counter()
    for case in cases:
        v = run_case(guard, case)
        rail, positive = case["rail"], case["label"] == "positive"
        flagged = {f.rail for f in v.findings if f.action != "allow"}
        pii_found = {f.type for f in v.findings if f.rail == "pii"}
        types_found = {f.type for f in v.findings}
        # binary rails: positives of that rail, negatives = benign inputs
        inj_types = {f.type for f in v.findings if f.rail == "injection"}
        detectors = {
            "injection": "injection" in flagged,
            "injection:classifier_only": "INJECTION_CLASSIFIER" in inj_types,
            "injection:heuristics_only": any(
                f.rail == "injection" and f.type != "INJECTION_CLASSIFIER" and f.action != "allow" for f in v.findings
            ),
            "toxicity": any(f.rail == "toxicity" for f in v.findings),  # swearing is found even where allowed
            "scope": "scope" in flagged,
        }
        for r, hit in detectors.items():
            base = r.split(":")[0]
            if case.get("direction", "input") != "input" or rail not in (base, "benign"):
                continue
            key = ("tp" if hit else "fn") if rail == base else ("fp" if hit else "tn")
            counts[r][key] += 1
            if key in ("fp", "fn") and ":" not in r:
                errors.append({"id": case.get("id"), "rail": r, "kind": key, "text": case["text"][:160]})
        # PII per type: PII cases and benign inputs
        if rail in ("pii", "benign") and case.get("direction", "input") == "input":
            expected = set(case.get("expected", []))
            for t in PII_TYPES:
                key = {(True, True): "tp", (True, False): "fn", (False, True): "fp", (False, False): "tn"}[
                    (t in expected, t in pii_found)
                ]
                counts[f"pii:{t}"][key] += 1
                if key in ("fp", "fn"):
                    errors.append({"id": case.get("id"), "rail": f"pii:{t}", "kind": key, "text": case["text"][:160]})
        # output rails (and output PII/toxicity cases): the expected types must be found
        if case.get("direction") == "output":
            expected = set(case.get("expected", []))
            name = f"output:{rail}"
            if positive:
                ok = bool(expected & types_found)
                counts[name]["tp" if ok else "fn"] += 1
            else:
                bad = v.action != "allow"
                counts[name]["fp" if bad else "tn"] += 1
                benign_out += 1
                benign_out_fp += bad
            if positive != (bool(expected & types_found) if positive else v.action != "allow"):
                errors.append(
                    {
                        "id": case.get("id"),
                        "rail": name,
                        "kind": "fn" if positive else "fp",
                        "text": case["text"][:160],
                        "found": sorted(types_found),
                    }
                )
        if rail == "benign":
            benign_in += 1
            if v.action != "allow":
                benign_in_fp += 1
                fp_by_rail.update(flagged or {"?"})
                errors.append(
                    {
                        "id": case.get("id"),
                        "rail": "benign",
                        "kind": "fp",
                        "text": case["text"][:160],
                        "found": [f"{f.rail}:{f.type}" for f in v.findings if f.action != "allow"],
                    }
                )
    seconds = time.perf_counter() - start
    per_rail = {name: _prf(c["tp"], c["fp"], c["fn"]) for name, c in sorted(counts.items())}
    return {
        "cases": len(cases),
        "policy": guard.policy.name,
        "per_rail": per_rail,
        "benign_input_fp_rate": round(benign_in_fp / benign_in, 4) if benign_in else 0.0,
        "benign_inputs": benign_in,
        "benign_fp_by_rail": dict(fp_by_rail),
        "benign_output_fp_rate": round(benign_out_fp / benign_out, 4) if benign_out else 0.0,
        "benign_outputs": benign_out,
        "classifier_heads": _head_metrics(),
        "ms_per_case": round(1000 * seconds / max(1, len(cases)), 2),
        "errors": errors,
    }


def _head_metrics() -> dict[str, Any]:
    from frugalstack.edge.guard.heads import load_heads

    return {k: {"n_train": h.n_train, **h.metrics} for k, h in load_heads().items()}
