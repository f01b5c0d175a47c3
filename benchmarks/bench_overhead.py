"""frugalstack's overhead over calling llama-cpp-python directly (issue: foundation).

Same GGUF, prompt, chat template, threads, context and greedy settings; the two paths run interleaved
in one process (A B A B ...) so machine noise hits both alike. Reports medians, IQR and ratios.

    .venv/bin/python benchmarks/bench_overhead.py [--runs 15] [--max-tokens 128] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import spread_pct, summary

from frugalstack.edge.runtime import Runtime

PROMPT = "Write a short product description for a waterproof hiking backpack with a laptop sleeve."
SYSTEM = "You are a helpful shop assistant."


def direct_run(llm, max_tokens: int) -> tuple[float, float, int, str]:  # type: ignore[no-untyped-def]
    """llama-cpp-python's own streaming chat completion: TTFT, decode tok/s, tokens, text."""
    llm.reset()  # frugalstack resets the KV cache per request too: no prefix reuse on either side
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}]
    start = time.perf_counter()
    first = None
    n = 0
    parts = []
    for chunk in llm.create_chat_completion(messages, max_tokens=max_tokens, temperature=0.0, stream=True):
        delta = chunk["choices"][0]["delta"].get("content")
        if delta:
            if first is None:
                first = time.perf_counter()
            n += 1
            parts.append(delta)
    end = time.perf_counter()
    assert first is not None
    return (first - start) * 1000, (n - 1) / (end - first), n, "".join(parts)


def frugal_run(rt: Runtime, max_tokens: int, logprobs: bool) -> tuple[float, float, int, str]:
    r = rt.chat(PROMPT, system=SYSTEM, max_tokens=max_tokens, logprobs=logprobs)
    assert r.ttft_ms is not None and r.tokens_per_s is not None
    return r.ttft_ms, r.tokens_per_s, r.usage.output_tokens, r.text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--profile", default="auto")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/overhead"))
    args = ap.parse_args()

    import llama_cpp

    rt = Runtime(profile=args.profile, telemetry=True)
    backend_llm = rt.backend.llama  # type: ignore[attr-defined]
    llm = llama_cpp.Llama(
        model_path=backend_llm.model_path, n_ctx=backend_llm.n_ctx(), n_threads=backend_llm.n_threads,
        n_threads_batch=backend_llm.n_threads, n_batch=backend_llm.n_batch, verbose=False,
    )
    cells = {"llama-cpp-python direct": [], "frugalstack": [], "frugalstack + logprobs": []}
    for _ in range(2):  # warm-up both paths
        direct_run(llm, 16)
        frugal_run(rt, 16, False)
    texts = {}
    for i in range(args.runs):
        order = list(cells) if i % 2 == 0 else list(reversed(cells))
        for name in order:
            if name == "llama-cpp-python direct":
                res = direct_run(llm, args.max_tokens)
            else:
                res = frugal_run(rt, args.max_tokens, logprobs=name.endswith("logprobs"))
            cells[name].append(res)
            texts[name] = res[3]
    same_text = len(set(texts.values())) == 1

    results = {}
    for name, runs in cells.items():
        results[name] = {"ttft_ms": summary([r[0] for r in runs]), "decode_tok_s": summary([r[1] for r in runs]),
                         "output_tokens": summary([r[2] for r in runs])}
    base = results["llama-cpp-python direct"]
    table = Table(title=f"frugalstack vs llama-cpp-python, {args.runs} interleaved runs, {args.max_tokens} max tokens")
    for col in ("path", "TTFT ms (median, IQR%)", "decode tok/s (median, IQR%)", "TTFT ratio", "decode ratio",
                "overhead"):
        table.add_column(col, justify="right")
    for name, res in results.items():
        t, d = res["ttft_ms"], res["decode_tok_s"]
        t_ratio = t["median"] / base["ttft_ms"]["median"]
        d_ratio = d["median"] / base["decode_tok_s"]["median"]
        res["ttft_ratio_vs_direct"], res["decode_ratio_vs_direct"] = t_ratio, d_ratio
        table.add_row(name, f"{t['median']:.1f} ({spread_pct(t):.0f}%)", f"{d['median']:.1f} ({spread_pct(d):.0f}%)",
                      f"{t_ratio:.3f}", f"{d_ratio:.3f}", f"{(1 - d_ratio) * 100:+.1f}% decode")
    Console().print(table)
    Console().print(f"identical greedy text on every path: {same_text}")
    meta = {"cpu": platform.processor() or platform.machine(), "threads": backend_llm.n_threads,
            "n_ctx": backend_llm.n_ctx(), "llama_cpp_python": llama_cpp.__version__, "runs": args.runs,
            "max_tokens": args.max_tokens, "same_text": same_text, "profile": rt.profile.id}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    rt.close()


if __name__ == "__main__":
    main()
