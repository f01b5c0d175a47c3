"""Decode tok/s and TTFT per backend on the same prompt, and each backend's overhead vs its runtime.

For every backend the same greedy completion is run through ``backend.generate`` (what the runtime and
server use) and through a minimal loop that calls the runtime directly (forward + argmax, no sampling,
logprobs, stop handling or detokenising). Medians and min-max over ``--runs`` runs; the ratio column is
backend time per token over direct time per token.

    python benchmarks/bench_backends.py --runs 5 --tokens 64 [--backends llama_cpp,torch,onnx,onnx-int8,openvino-int8]

Artifacts come from the embedded SmolLM2 GGUF, converted once and cached under $FRUGAL_HOME/artifacts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PROMPT = "The parcel arrived on a wet Tuesday morning, and inside the box"


def _settings(threads: int) -> Any:
    from frugalstack.edge.profiles import RuntimeSettings

    return RuntimeSettings(threads=threads, context_size=1024, memory_budget_mb=8192)


def load(name: str, gguf: Path, threads: int) -> tuple[Any, Path]:
    from frugalstack.edge.backends import create_backend
    from frugalstack.edge.catalog import get_spec
    from frugalstack.optimizers.checkpoint import ensure_transformers_checkpoint
    from frugalstack.optimizers.onnx_export import ensure_onnx
    from frugalstack.optimizers.openvino_export import ensure_openvino

    family, _, quant = name.partition("-")
    path = {
        "llama_cpp": lambda: gguf,
        "torch": lambda: ensure_transformers_checkpoint(gguf),
        "onnx": lambda: ensure_onnx(gguf, quant or "fp32"),
        "openvino": lambda: ensure_openvino(gguf, quant or "fp16"),
    }[family]()
    backend = create_backend(family)
    backend.load(path, get_spec("smollm2-135m-instruct-q4_1"), _settings(threads))
    return backend, path


def via_backend(backend: Any, n: int) -> tuple[float, float, int]:
    """(TTFT s, seconds per decoded token, tokens) through ``backend.generate``."""
    from frugalstack.edge.backends.base import GenerationRequest, TokenEvent

    t0 = time.perf_counter()
    first, count = 0.0, 0
    for ev in backend.generate(GenerationRequest(prompt=PROMPT, max_tokens=n)):
        if isinstance(ev, TokenEvent) and ev.token_id is not None:
            count += 1
            if count == 1:
                first = time.perf_counter()
    end = time.perf_counter()
    return first - t0, (end - first) / max(1, count - 1), count


def direct_loop(name: str, backend: Any, ids: list[int]) -> Callable[[int], tuple[float, float, int]]:
    """A minimal greedy loop on the runtime itself (same weights, same prompt ids)."""
    family = name.partition("-")[0]
    if family == "llama_cpp":
        llm = backend.llama

        def run_llama(n: int) -> tuple[float, float, int]:
            llm.reset()
            t0 = time.perf_counter()
            first, count = 0.0, 0
            for _ in llm.generate(ids, top_k=1, temp=0.0, repeat_penalty=1.0):
                count += 1
                if count == 1:
                    first = time.perf_counter()
                if count >= n:
                    break
            end = time.perf_counter()
            return first - t0, (end - first) / max(1, count - 1), count

        return run_llama
    if family == "torch":
        import torch

        model = backend.model

        def run_torch(n: int) -> tuple[float, float, int]:
            with torch.inference_mode():
                t0 = time.perf_counter()
                out = model(input_ids=torch.tensor([ids]), use_cache=True)
                tok = int(out.logits[0, -1].argmax())
                first = time.perf_counter()
                past = out.past_key_values
                for _ in range(n - 1):
                    out = model(input_ids=torch.tensor([[tok]]), past_key_values=past, use_cache=True)
                    past, tok = out.past_key_values, int(out.logits[0, -1].argmax())
                end = time.perf_counter()
            return first - t0, (end - first) / max(1, n - 1), n

        return run_torch
    # onnx / openvino: explicit KV graph; feeds built inline from the config, results fed straight back
    cfg = json.loads((backend.model_dir / "config.json").read_text())
    layers, heads = cfg["num_hidden_layers"], cfg["num_attention_heads"]
    kv, dim = cfg.get("num_key_value_heads") or heads, cfg.get("head_dim") or cfg["hidden_size"] // heads
    if family == "onnx":
        sess = backend.session
        names = ["logits"] + [f"present.{i}.{k}" for i in range(layers) for k in ("key", "value")]

        def infer(feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
            return list(sess.run(names, feeds))
    else:
        request = backend.compiled_model.create_infer_request()
        outs = [backend.compiled_model.output(n) for n in
                ["logits"] + [f"present.{i}.{k}" for i in range(layers) for k in ("key", "value")]]

        def infer(feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
            res = request.infer(feeds)
            return [np.array(res[o]) for o in outs]

    def run_graph(n: int) -> tuple[float, float, int]:
        past = [np.zeros((1, kv, 0, dim), np.float32)] * (2 * layers)
        step, pos = list(ids), 0
        t0 = time.perf_counter()
        first = 0.0
        for i in range(n):
            feeds = {"input_ids": np.array([step], np.int64),
                     "attention_mask": np.ones((1, pos + len(step)), np.int64),
                     "position_ids": np.arange(pos, pos + len(step), dtype=np.int64)[None]}
            for j in range(layers):
                feeds[f"past_key_values.{j}.key"], feeds[f"past_key_values.{j}.value"] = past[2 * j], past[2 * j + 1]
            logits, *past = infer(feeds)
            pos += len(step)
            step = [int(logits[0, -1].argmax())]
            if i == 0:
                first = time.perf_counter()
        end = time.perf_counter()
        return first - t0, (end - first) / max(1, n - 1), n

    return run_graph


def prompt_ids(name: str, backend: Any) -> list[int]:
    from frugalstack.edge.backends.base import GenerationRequest

    return list(backend._prompt_tokens(GenerationRequest(prompt=PROMPT)) if name == "llama_cpp"
                else backend._prompt_ids(GenerationRequest(prompt=PROMPT)))


def summarize(samples: list[tuple[float, float, int]]) -> dict[str, float]:
    ttft = [s[0] * 1000 for s in samples]
    tps = [1.0 / s[1] for s in samples if s[1] > 0]
    return {"ttft_ms": statistics.median(ttft), "ttft_min": min(ttft), "ttft_max": max(ttft),
            "tok_s": statistics.median(tps), "tok_s_min": min(tps), "tok_s_max": max(tps),
            "tokens": samples[-1][2]}


def main() -> None:
    from frugalstack.edge.catalog import DEFAULT_CHAT_MODEL, get_spec, resolve_path

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="llama_cpp,torch,onnx,onnx-int8,openvino-int8")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    gguf = resolve_path(get_spec(DEFAULT_CHAT_MODEL))
    results: dict[str, Any] = {}
    for name in args.backends.split(","):
        backend, path = load(name, gguf, args.threads)
        direct = direct_loop(name, backend, prompt_ids(name, backend))
        via_backend(backend, 4)  # warm-up both paths
        direct(4)
        b_samples, d_samples = [], []
        for _ in range(args.runs):  # interleaved, so load on the machine hits both alike
            b_samples.append(via_backend(backend, args.tokens))
            d_samples.append(direct(args.tokens))
        b, d = summarize(b_samples), summarize(d_samples)
        results[name] = {"artifact": str(path), "backend": b, "direct": d,
                         "decode_overhead": d["tok_s"] / b["tok_s"] - 1.0, "ttft_ratio": b["ttft_ms"] / d["ttft_ms"]}
        backend.close()
        print(f"{name:14s} backend {b['tok_s']:7.1f} tok/s [{b['tok_s_min']:.1f}-{b['tok_s_max']:.1f}] "
              f"TTFT {b['ttft_ms']:6.1f} ms | direct {d['tok_s']:7.1f} tok/s TTFT {d['ttft_ms']:6.1f} ms | "
              f"decode overhead {100 * results[name]['decode_overhead']:+5.1f}% "
              f"TTFT x{results[name]['ttft_ratio']:.2f}", flush=True)
    base = results.get("llama_cpp", {}).get("backend", {}).get("tok_s")
    if base:
        print("\ndecode speed relative to llama_cpp (backend path):")
        for name, r in results.items():
            print(f"  {name:14s} x{r['backend']['tok_s'] / base:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
