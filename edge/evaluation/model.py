"""The model under evaluation behind one small interface, plus the hash that identifies its artifact.

Anything ``Runtime`` can load (a catalogue id for GGUF / ONNX / OpenVINO / torch, or a path to a ``.gguf``)
is evaluable; the evaluators only see ``generate``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
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

    def __init__(self, model: str, *, backend: str | None = None, profile: str | None = None, seed: int = 13):
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

    @property
    def model_id(self) -> str:
        return self.runtime.model_id

    def generate(self, messages: list[dict[str, str]], *, max_tokens: int,
                 json_schema: dict[str, Any] | None = None) -> Output:
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
