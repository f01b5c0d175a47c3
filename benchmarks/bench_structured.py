"""Cost of JSON-schema-constrained decoding on the step backends (torch, ONNX Runtime, OpenVINO, LiteRT).

For each backend the same chat request runs with and without a product schema (nested object, enum,
string, number, integer, boolean, array), interleaved so machine load hits both alike. Reported:

* decode ms/token through ``backend.generate``, constrained vs unconstrained: median, IQR, min-max, ratio;
* the mask alone (llguidance mask + numpy copy + advance), replayed on the constrained runs' tokens without
  the model: µs per token, median and IQR, and its share of an unconstrained token's time (the end-to-end
  ratio is within noise when the machine is loaded; this share is not);
* one-off costs: the tokenizer byte table (once per tokenizer) and compiling the schema (once per schema);
* validity: how many constrained answers parse and validate (``jsonschema``) and their finish reasons.

    python benchmarks/bench_structured.py --backends torch,onnx --runs 8 --tokens 64 [--json out.json]

The real SmolLM2-135M-Instruct (embedded GGUF), converted once and cached under $FRUGAL_HOME/artifacts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from _stats import spread_pct, summary

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 40},
        "category": {"enum": ["shoes", "bags", "jackets", "watches"]},
        "price": {"type": "number", "minimum": 0},
        "stock": {"type": "integer", "minimum": 0},
        "waterproof": {"type": "boolean"},
        "colors": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 3},
        "size": {"type": "object", "properties": {"eu": {"type": "integer"}, "us": {"type": "number"}},
                 "required": ["eu"], "additionalProperties": False},
    },
    "required": ["name", "category", "price", "stock", "waterproof", "colors", "size"],
    "additionalProperties": False,
}
ITEMS = ["a red running shoe", "a black leather bag", "a blue rain jacket", "a white sports watch"]


def load(name: str, threads: int) -> Any:
    from frugalstack.edge.backends import create_backend
    from frugalstack.edge.catalog import DEFAULT_CHAT_MODEL, get_spec, resolve_path
    from frugalstack.edge.profiles import RuntimeSettings
    from frugalstack.optimizers.checkpoint import ensure_transformers_checkpoint
    from frugalstack.optimizers.onnx_export import ensure_onnx
    from frugalstack.optimizers.openvino_export import ensure_openvino

    gguf = resolve_path(get_spec(DEFAULT_CHAT_MODEL))
    family, _, quant = name.partition("-")
    path = {"torch": lambda: ensure_transformers_checkpoint(gguf), "onnx": lambda: ensure_onnx(gguf, quant or "fp32"),
            "openvino": lambda: ensure_openvino(gguf, quant or "fp32")}[family]()
    backend = create_backend(family)
    backend.load(path, get_spec(DEFAULT_CHAT_MODEL), RuntimeSettings(threads=threads, context_size=1024,
                                                                     memory_budget_mb=8192))
    return backend


def timed(backend: Any, request: Any) -> tuple[float, int, list[int], str, str]:
    """(seconds per decoded token after the first, tokens, ids, text, finish reason)."""
    from frugalstack.edge.backends.base import FinishEvent, TokenEvent

    first, ids, text, reason = 0.0, [], "", ""
    for ev in backend.generate(request):
        if isinstance(ev, TokenEvent):
            text += ev.text
            if ev.token_id is not None:
                ids.append(ev.token_id)
                if len(ids) == 1:
                    first = time.perf_counter()
        elif isinstance(ev, FinishEvent):
            reason = ev.reason
    end = time.perf_counter()
    return (end - first) / max(1, len(ids) - 1), len(ids), ids, text, reason


def mask_cost(backend: Any, ids: list[int]) -> list[float]:
    """Seconds per token of mask + advance alone, replaying ``ids`` on a fresh constraint (no model)."""
    import numpy as np

    from frugalstack.edge.backends._jsonschema import JsonConstraint

    assert backend._table is not None
    c = JsonConstraint(backend._table, SCHEMA)
    logits = np.random.default_rng(0).standard_normal(backend._table.vocab_size).astype(np.float32)
    out = []
    for tok in ids:
        t = time.perf_counter()
        c.mask(logits)
        c.advance(tok)
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    import jsonschema

    from frugalstack.edge.backends._jsonschema import TokenTable
    from frugalstack.edge.backends.base import GenerationRequest
    from frugalstack.shared.schemas import ChatMessage

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--backends", default="torch,onnx")
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}", flush=True)
    results: dict[str, Any] = {"load_avg_start": os.getloadavg()}
    for name in args.backends.split(","):
        backend = load(name, args.threads)
        t = time.perf_counter()
        table = TokenTable(backend.tokenizer.to_json(), backend._eos)
        table_s = time.perf_counter() - t
        t = time.perf_counter()
        table.matcher(SCHEMA)
        compile_ms = 1000 * (time.perf_counter() - t)
        con_s, free_s, masks, valid, reasons = [], [], [], 0, []
        for i in range(args.runs + 1):  # the first round warms up both paths and is dropped
            msgs = [ChatMessage(role="system", content="Reply with JSON only."),
                    ChatMessage(role="user", content=f"Describe {ITEMS[i % len(ITEMS)]} as a product record.")]
            seed, temp = i, (0.0 if i % 2 else 0.7)
            c = timed(backend, GenerationRequest(messages=msgs, max_tokens=args.tokens, json_schema=SCHEMA,
                                                 temperature=temp, seed=seed))
            f = timed(backend, GenerationRequest(messages=msgs, max_tokens=args.tokens, temperature=temp, seed=seed))
            if i == 0:
                print(f"  sample constrained answer: {c[3]}", flush=True)
                continue
            con_s.append(c[0])
            free_s.append(f[0])
            masks.extend(mask_cost(backend, c[2]))
            reasons.append(c[4])
            try:
                jsonschema.validate(json.loads(c[3]), SCHEMA)
                valid += 1
            except (ValueError, jsonschema.ValidationError):
                pass
        con, free = summary([1000 * s for s in con_s]), summary([1000 * s for s in free_s])
        mask = summary([1e6 * s for s in masks])
        results[name] = {"constrained_ms_per_token": con, "free_ms_per_token": free,
                         "ratio": con["median"] / free["median"], "mask_us_per_token": mask,
                         "mask_share_of_token": mask["median"] / 1000 / free["median"],
                         "table_build_s": table_s, "schema_compile_ms": compile_ms,
                         "valid": valid, "runs": args.runs, "finish": {r: reasons.count(r) for r in set(reasons)}}
        print(f"{name:10s} constrained {con['median']:6.2f} ms/tok (IQR {con['p25']:.2f}-{con['p75']:.2f}, "
              f"{spread_pct(con):.0f}%) | free {free['median']:6.2f} ms/tok (IQR {free['p25']:.2f}-{free['p75']:.2f}) "
              f"| ratio x{results[name]['ratio']:.3f} | mask alone {mask['median']:.0f} us/tok "
              f"(IQR {mask['p25']:.0f}-{mask['p75']:.0f}, n={mask['n']}, "
              f"{100 * results[name]['mask_share_of_token']:.3f}% of a token) | table {table_s:.2f} s, schema "
              f"{compile_ms:.1f} ms | valid {valid}/{args.runs} finish {results[name]['finish']}", flush=True)
        backend.close()
    results["load_avg_end"] = os.getloadavg()
    print(f"load average at end: {os.getloadavg()}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
