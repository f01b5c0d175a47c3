"""The model under evaluation behind one small interface, plus the hash that identifies its artifact.

Anything ``Runtime`` can load (a catalogue id for GGUF / ONNX / OpenVINO / torch, or a path to a ``.gguf``)
is evaluable; the evaluators only see ``generate``.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from frugalstack.shared.errors import FrugalError, ModelLoadError, UnsupportedFeature


@dataclass
class Output:
    text: str
    output_tokens: int
    latency_ms: float


class Generator(Protocol):
    """What an evaluator needs from a model."""

    name: str

    def generate(self, messages: list[dict[str, str]], *, max_tokens: int,
                 json_schema: dict[str, Any] | None = None) -> Output: ...


class RuntimeGenerator:
    """Greedy, seeded generation on the edge ``Runtime`` (deterministic, so a rerun gives the same record)."""

    def __init__(self, model: str, *, backend: str | None = None, profile: str | None = None, seed: int = 13,
                 prefix_cache: bool = True):
        from frugalstack.edge.runtime import Runtime

        self.name = model
        self.seed = seed
        try:
            self.runtime = Runtime(model, backend=backend, profile=profile, telemetry=False, guard=False)
        except FrugalError:
            raise
        except Exception as exc:  # a backend that fails in its own way still becomes one clear error
            raise ModelLoadError(f"could not load {model}: {type(exc).__name__}: {exc}") from exc
        self.json_ok = True
        self.fast: Any = None  # llama.cpp models: generation that reuses the shared prompt prefix's KV cache
        llm = getattr(self.runtime.backend, "llama", None)
        if prefix_cache and llm is not None and llm.metadata.get("tokenizer.chat_template"):
            from frugalstack.edge.evaluation.prefix import PrefixCachedLlama

            self.fast = PrefixCachedLlama(llm, seed)

    @property
    def path(self) -> dict[str, Any]:
        """Which generation path answered, for the record."""
        if self.fast is None:
            return {"path": "runtime chat (KV cache reset per request)"}
        return {"path": self.fast.path, "prompt_tokens": self.fast.prompt_tokens,
                "reused_prefix_tokens": self.fast.reused_tokens}

    @property
    def model_id(self) -> str:
        return self.runtime.model_id

    def generate(self, messages: list[dict[str, str]], *, max_tokens: int,
                 json_schema: dict[str, Any] | None = None) -> Output:
        if self.fast is not None:
            return self.fast.generate(messages, max_tokens=max_tokens,
                                      json_schema=json_schema)
        params: dict[str, Any] = {"max_tokens": max_tokens, "temperature": 0.0, "seed": self.seed}
        if json_schema is not None and self.json_ok:
            try:
                r = self.runtime.chat(messages, json_schema=json_schema, **params)
                return Output(r.text, r.usage.output_tokens, r.latency_ms)
            except UnsupportedFeature:
                self.json_ok = False  # this backend cannot constrain: fall back to the prompt alone
        r = self.runtime.chat(messages, **params)
        return Output(r.text, r.usage.output_tokens, r.latency_ms)

    def close(self) -> None:
        self.runtime.close()


@dataclass
class GenStats:
    """Counters of one run's generations (per section deltas go into the record: where the time went)."""

    requests: int = 0
    cache_hits: int = 0
    output_tokens: int = 0
    generate_s: float = 0.0

    def snapshot(self) -> dict[str, float]:
        return {"requests": self.requests, "cache_hits": self.cache_hits, "output_tokens": self.output_tokens,
                "generate_s": round(self.generate_s, 2)}


@dataclass
class MemoGenerator:
    """Answers an identical request (same messages, budget and schema) from memory instead of generating again.

    Exact, not an approximation: decoding is greedy with a fixed seed, so the second answer would be the same
    text (e.g. a casing perturbation that leaves an already lower-case message unchanged, or a paraphrase that
    repeats another test message). Every request still counts once per example in the metrics.
    """

    inner: Generator
    stats: GenStats = field(default_factory=GenStats)
    _memo: dict[str, Output] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.inner.name

    def generate(self, messages: list[dict[str, str]], *, max_tokens: int,
                 json_schema: dict[str, Any] | None = None) -> Output:
        key = json.dumps([messages, max_tokens, json_schema], sort_keys=True)
        self.stats.requests += 1
        hit = self._memo.get(key)
        if hit is not None:
            self.stats.cache_hits += 1
            return hit
        t = time.perf_counter()
        out = self.inner.generate(messages, max_tokens=max_tokens, json_schema=json_schema)
        self.stats.generate_s += time.perf_counter() - t
        self.stats.output_tokens += out.output_tokens
        self._memo[key] = out
        return out


GGUF_FILE_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 15: "Q4_K_M", 17: "Q5_K_M", 18: "Q6_K",
                   32: "BF16"}


def artifact_hash(model: str) -> dict[str, Any]:
    """sha256 of the weights file (or of every file of a model directory) behind a model id or path."""
    from frugalstack.edge.catalog import get_spec, resolve_path

    spec = get_spec(model)
    path = resolve_path(spec)
    h = hashlib.sha256()
    files = sorted(p for p in Path(path).rglob("*") if p.is_file()) if Path(path).is_dir() else [Path(path)]
    size = 0
    for f in files:
        h.update(f.relative_to(path).as_posix().encode() if f != path else b"")
        with f.open("rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
                size += len(block)
    quant = spec.quantization
    if quant is None and spec.format == "gguf":  # an ad-hoc .gguf path: read the file type from its header
        from frugalstack.edge.gguf import read_gguf

        ftype = read_gguf(path).metadata.get("general.file_type")
        quant = GGUF_FILE_TYPES.get(ftype, f"file_type {ftype}") if ftype is not None else None
    return {"id": spec.id, "format": spec.format, "quantization": quant, "path": str(path),
            "sha256": h.hexdigest(), "size_bytes": size}


def profile_with_threads(profile: str | None, threads: int) -> str:
    """A copy of the profile with another thread count, as a YAML file (the bench cell reads profiles by path)."""
    import tempfile

    import yaml

    from frugalstack.edge.profiles import get_profile

    p = get_profile(profile)
    p = p.model_copy(update={"id": f"{p.id}-t{threads}"[:64],
                             "runtime": p.runtime.model_copy(update={"threads": threads})})
    path = Path(tempfile.mkdtemp(prefix="frugal-eval-")) / f"{p.id}.yaml"
    path.write_text(yaml.safe_dump(p.model_dump(mode="json"), sort_keys=False), encoding="utf-8")
    return str(path)
