"""``frugal optimize``: every format from one checkpoint, built, measured side by side, gated on quality.

One run makes the fp32 transformers reference, builds each requested format into ``OUT/<format>/``,
measures each in its own process, marks artifacts whose perplexity rises more than the bound over fp32
as ``rejected``, and writes ``manifest.json``, ``report.json``, ``report.md`` and ``report.png``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from frugalstack.optimizers.checkpoint import ensure_transformers_checkpoint, tree_bytes, tree_sha256
from frugalstack.shared.errors import ConfigError, FrugalError, MissingDependencyError


@dataclass(frozen=True)
class Format:
    name: str
    family: str  # torch | gguf | onnx | openvino | tflite
    quantization: str
    via: str = ""  # conversion route where there are two (openvino: "" = from ONNX, "torch" = torch.export)


FORMATS: dict[str, Format] = {
    f.name: f
    for f in [
        Format("torch-fp32", "torch", "fp32"),
        *(Format(f"gguf-{q}", "gguf", q) for q in ("q4_1", "f16", "q8_0", "q4_k_m", "q4_0", "q5_k_m")),
        Format("onnx-fp32", "onnx", "fp32"),
        Format("onnx-int8", "onnx", "int8"),
        *(Format(f"openvino-{q}", "openvino", q) for q in ("fp32", "fp16", "int8", "int4")),
        *(Format(f"openvino-torch-{q}", "openvino", q, "torch") for q in ("fp32", "fp16", "int8", "int4")),
        Format("tflite-fp32", "tflite", "fp32"),
        Format("tflite-int8", "tflite", "int8"),
    ]
}
DEFAULT_FORMATS = ["gguf-f16", "gguf-q8_0", "gguf-q4_k_m", "onnx-fp32", "onnx-int8", "openvino-fp16",
                   "openvino-int8", "openvino-int4", "tflite-int8"]
TOOLS = ["frugalstack", "torch", "transformers", "optimum", "optimum-onnx", "onnx", "onnxruntime", "openvino",
         "nncf", "llama_cpp_python", "gguf", "ai-edge-litert", "litert-torch"]


class FormatSkipped(Exception):
    """The format cannot be built here (missing tool, unsupported source); reported with the reason."""


def tool_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in TOOLS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def parse_formats(text: str | list[str] | None) -> list[str]:
    names = text if isinstance(text, list) else [t.strip() for t in (text or "").split(",") if t.strip()]
    names = names or DEFAULT_FORMATS
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise ConfigError(f"unknown formats: {', '.join(unknown)}", hint="known: " + ", ".join(FORMATS))
    return list(dict.fromkeys(["torch-fp32", *names]))


def resolve_source(model: str) -> Path:
    """A catalogue id, a ``.gguf`` file or a transformers folder."""
    path = Path(model).expanduser()
    if path.exists():
        return path
    from frugalstack.edge.catalog import get_spec, resolve_path

    return resolve_path(get_spec(model))


def _link_tree(src: Path, dst: Path) -> None:
    def link(s: str, d: str) -> None:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    shutil.copytree(src, dst, copy_function=link)


def build(fmt: Format, source: Path, checkpoint: Path, out: Path, threads: int) -> Path:
    """Build one artifact into ``out/<format>`` (reused when already complete)."""
    target = out / fmt.name
    if fmt.family == "torch":
        if not (target / "config.json").is_file():
            _link_tree(checkpoint, target)
        return target
    if fmt.family == "gguf":
        from frugalstack.optimizers.gguf_export import quantize_gguf

        if source.suffix != ".gguf":
            raise FormatSkipped("GGUF formats need a GGUF source; writing GGUF from a transformers folder "
                                "is not implemented")
        file = target / f"model-{fmt.quantization}.gguf"
        return file.parent if file.is_file() else quantize_gguf(source, file, fmt.quantization, threads).parent
    if fmt.family == "onnx":  # conversions are cached in the data dir; OUT gets hard links
        from frugalstack.optimizers.onnx_export import ensure_onnx

        if not (target / "model.onnx").is_file():
            _link_tree(ensure_onnx(checkpoint, fmt.quantization), target)
        return target
    if fmt.family == "openvino":
        from frugalstack.optimizers.openvino_export import IR_NAME, ensure_openvino

        if not (target / IR_NAME).is_file():
            _link_tree(ensure_openvino(checkpoint, fmt.quantization, via=fmt.via or "onnx"), target)
        return target
    if fmt.family == "tflite":
        from frugalstack.optimizers.tflite_export import build_tflite

        if not (target / "model.tflite").is_file():
            try:
                build_tflite(checkpoint, target, fmt.quantization)
            except MissingDependencyError as exc:
                raise FormatSkipped(str(exc)) from None
        return target
    raise ConfigError(f"no builder for format family {fmt.family!r}")


def measure(fmt: Format, path: Path, work: Path, threads: int, ref: Path | None) -> dict[str, Any]:
    """Evaluate in a child process, so peak RSS belongs to this artifact alone."""
    result = work / f"{fmt.name}.metrics.json"
    cmd = [sys.executable, "-m", "frugalstack.optimizers.evaluate", fmt.family, str(path),
           "--tokens", str(work / "tokens.json"), "--threads", str(threads), "--out", str(result)]
    if ref is not None:
        cmd += ["--ref", str(ref)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if not result.is_file():
        return {"error": f"evaluator exited with {proc.returncode}: {proc.stderr[-800:]}"}
    data: dict[str, Any] = json.loads(result.read_text())
    return data


def apply_quality_gate(rows: list[dict[str, Any]], ref_ppl: float | None, bound: float) -> None:
    """Mark each measured artifact ``accepted`` or ``rejected`` (perplexity over fp32 x (1 + bound))."""
    for row in rows:
        if "metrics" not in row:
            continue
        ppl = row["metrics"]["perplexity"]
        if ref_ppl is None:
            row.update(status="failed", reason="no fp32 reference perplexity")
            continue
        row["metrics"]["ppl_increase"] = round(ppl / ref_ppl - 1.0, 4)
        ok = ppl <= ref_ppl * (1.0 + bound)
        row["status"] = "accepted" if ok else "rejected"
        if not ok:
            row["reason"] = f"perplexity {ppl:.3f} is {100 * (ppl / ref_ppl - 1):.1f}% over fp32 ({ref_ppl:.3f})"


def run_optimize(model: str, formats: str | list[str] | None, out: Path, *, max_ppl_increase: float = 0.05,
                 threads: int | None = None, max_eval_tokens: int = 512,
                 on_step: Callable[[str, str], None] | None = None) -> dict[str, Any]:
    """Build and evaluate every format; return the report (also written to ``out``)."""
    from frugalstack.optimizers.evaluate import heldout_text

    names = parse_formats(formats)
    threads = threads or max(1, min(4, len(os.sched_getaffinity(0))))
    out.mkdir(parents=True, exist_ok=True)
    work = out / ".work"
    work.mkdir(exist_ok=True)
    step = on_step or (lambda name, what: None)
    started = time.time()

    source = resolve_source(model)
    step("torch-fp32", "dequantising the source to the fp32 reference")
    checkpoint = ensure_transformers_checkpoint(source)
    from frugalstack.edge.backends._tokenizer import LightTokenizer

    ids = LightTokenizer(checkpoint).encode(heldout_text(), add_special_tokens=False)[:max_eval_tokens]
    (work / "tokens.json").write_text(json.dumps(ids))

    rows: list[dict[str, Any]] = []
    ref_file: Path | None = None
    ref_ppl: float | None = None
    for name in names:
        fmt = FORMATS[name]
        row: dict[str, Any] = {"format": name, "family": fmt.family, "quantization": fmt.quantization}
        try:
            step(name, "building")
            path = build(fmt, source, checkpoint, out, threads)
            row.update(path=str(path.relative_to(out)), bytes=tree_bytes(path), sha256=tree_sha256(path))
            step(name, "evaluating")
            metrics = measure(fmt, path, work, threads, ref_file)
            if "error" in metrics:
                row.update(status="failed", reason=metrics["error"])
            else:
                argmax = metrics.pop("argmax")
                row["metrics"] = metrics
                if name == "torch-fp32":
                    ref_file = work / "ref_argmax.json"
                    ref_file.write_text(json.dumps(argmax))
                    ref_ppl = metrics["perplexity"]
                    metrics["greedy_agreement"] = 1.0
        except FormatSkipped as exc:
            row.update(status="skipped", reason=str(exc))
        except FrugalError as exc:
            row.update(status="failed", reason=str(exc))
        rows.append(row)
        step(name, "done")

    bound = max_ppl_increase
    apply_quality_gate(rows, ref_ppl, bound)

    report = {
        "model": model,
        "source": {"path": str(source), "sha256": tree_sha256(source)},
        "checkpoint": {"path": str(checkpoint), "sha256": tree_sha256(checkpoint)},
        "quality_gate": {"max_perplexity_increase": bound, "reference": "torch-fp32", "reference_perplexity": ref_ppl},
        "eval": {"text": "optimizers/data/heldout.txt", "tokens": len(ids), "threads": threads,
                 "speed_prompt_tokens": "see evaluate.SPEED_PROMPT", "generated_tokens": 32},
        "host": {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "tools": tool_versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_s": round(time.time() - started, 1),
        "artifacts": rows,
    }
    from frugalstack.optimizers.report import write_reports

    write_reports(report, out)
    return report
