"""Measure one artifact: perplexity, greedy agreement with fp32, size, peak RSS, TTFT, decode tok/s.

Each artifact is measured in its own process (``python -m frugalstack.optimizers.evaluate``) so peak
RSS is that artifact's alone, not the sum of everything loaded before it.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from frugalstack.edge.backends._decoding import log_softmax

SPEED_PROMPT = "The parcel arrived on a wet Tuesday morning, and inside the box"
SPEED_TOKENS = 32
FAMILY_BACKEND = {"torch": "torch", "gguf": "llama_cpp", "onnx": "onnx", "openvino": "openvino", "tflite": "litert"}


def heldout_text() -> str:
    """The shipped held-out text (written for this project, so it is in no model's training data)."""
    return files("frugalstack.optimizers").joinpath("data/heldout.txt").read_text(encoding="utf-8")


def peak_rss_mb() -> float:
    """This process's peak resident memory. ``VmHWM`` belongs to the current image; ``ru_maxrss`` would
    carry the parent's peak across fork+exec on Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def perplexity(logits: np.ndarray, ids: list[int]) -> float:
    """exp of the mean negative log-likelihood of each next token."""
    nll = [-float(log_softmax(logits[i])[ids[i + 1]]) for i in range(len(ids) - 1)]
    return float(np.exp(np.mean(nll)))


def _gguf_logits(path: Path, ids: list[int], threads: int) -> np.ndarray:
    import llama_cpp

    from frugalstack.edge.backends.llama_cpp import _quiet_stderr

    with _quiet_stderr():
        llm = llama_cpp.Llama(model_path=str(path), n_ctx=len(ids) + 16, n_batch=len(ids) + 16, logits_all=True,
                              n_threads=threads, verbose=False)
    llm.eval(ids)
    scores = np.array(llm.scores[: len(ids)], dtype=np.float32)
    llm.close()
    return scores


def _model_path(family: str, path: Path) -> Path:
    if family == "gguf":
        return next(path.glob("*.gguf")) if path.is_dir() else path
    return path


def evaluate(family: str, path: Path, ids: list[int], threads: int,
             ref_argmax: list[int] | None = None) -> dict[str, Any]:
    """All metrics for one artifact; ``ref_argmax`` is the fp32 reference's greedy token at each position."""
    from frugalstack.edge.backends import create_backend
    from frugalstack.edge.backends.base import GenerationRequest, TokenEvent
    from frugalstack.edge.catalog import get_spec
    from frugalstack.edge.profiles import RuntimeSettings

    settings = RuntimeSettings(threads=threads, context_size=2048, memory_budget_mb=65536)
    spec = get_spec("smollm2-135m-instruct-q4_1")
    model_path = _model_path(family, path)
    start = time.perf_counter()
    backend = create_backend(FAMILY_BACKEND[family])
    backend.load(model_path, spec, settings)
    load_s = time.perf_counter() - start
    ttft, n_out, t_end, t_first = None, 0, 0.0, 0.0
    for _ in range(2):  # the first run warms caches and kernels; the second is measured
        t0 = time.perf_counter()
        t_first, n_out = 0.0, 0
        for ev in backend.generate(GenerationRequest(prompt=SPEED_PROMPT, max_tokens=SPEED_TOKENS)):
            if isinstance(ev, TokenEvent) and ev.token_id is not None:
                n_out += 1
                if n_out == 1:
                    t_first = time.perf_counter()
        t_end = time.perf_counter()
        ttft = (t_first - t0) * 1000
    serving_rss = peak_rss_mb()  # load + generation: what a deployment holds, before the scoring pass
    if family == "gguf":  # scoring needs logits_all, i.e. a second llama.cpp context: free the first
        backend.close()
        logits = _gguf_logits(model_path, ids, threads)
    else:
        logits = backend.score(ids)  # type: ignore[attr-defined]
        backend.close()
    argmax = [int(i) for i in logits[:-1].argmax(axis=1)]
    decode = (n_out - 1) / (t_end - t_first) if n_out > 1 and t_end > t_first else None
    out: dict[str, Any] = {
        "perplexity": perplexity(logits, ids),
        "eval_tokens": len(ids),
        "load_s": round(load_s, 3),
        "ttft_ms": round(ttft, 2) if ttft is not None else None,
        "decode_tok_s": round(decode, 2) if decode else None,
        "generated_tokens": n_out,
        "peak_rss_mb": serving_rss,
        "eval_peak_rss_mb": peak_rss_mb(),
        "threads": threads,
        "argmax": argmax,
    }
    if ref_argmax is not None:
        n = min(len(ref_argmax), len(argmax))
        out["greedy_agreement"] = round(float(np.mean(np.array(argmax[:n]) == np.array(ref_argmax[:n]))), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate one artifact (used by frugal optimize).")
    parser.add_argument("family", choices=sorted(FAMILY_BACKEND))
    parser.add_argument("path", type=Path)
    parser.add_argument("--tokens", type=Path, required=True, help="JSON list of held-out token ids")
    parser.add_argument("--ref", type=Path, help="JSON list of the reference's greedy tokens")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    ids = json.loads(args.tokens.read_text())
    ref = json.loads(args.ref.read_text()) if args.ref else None
    try:
        result = evaluate(args.family, args.path, ids, args.threads, ref)
    except Exception as exc:  # reported as a failed artifact by the parent, not a crash of the whole run
        result = {"error": f"{type(exc).__name__}: {exc}"}
    args.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
