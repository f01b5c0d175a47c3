"""Pick the artifact a device should run: it must pass the quality gate, use a runtime the device has and
fit its memory budget; among those, the fastest projected decode wins, ties going to lower perplexity.

Speeds in the manifest were measured on the machine that ran ``frugal optimize``; they are projected
to the device with the profile's ``compute.relative_speed`` (relative to the laptop-x86 profile), so the
ranking is between artifacts, and the absolute figure is an estimate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from frugalstack.edge.profiles import DeviceProfile
from frugalstack.shared.errors import ConfigError

FAMILY_RUNTIME = {"gguf": "llama_cpp", "onnx": "onnxruntime", "openvino": "openvino", "tflite": "litert",
                  "torch": "torch"}
FAMILY_BACKEND = {"gguf": "llama_cpp", "onnx": "onnx", "openvino": "openvino", "tflite": "litert", "torch": "torch"}
RUNTIME_OVERHEAD_MB = 150  # interpreter, runtime libraries and tokenizer beside the weights, when RSS is unknown
KV_BYTES_PER_TOKEN = 30 * 2 * 192 * 2 * 2  # SmolLM2-135M: layers x (k,v) x kv dim x fp16; an estimate for others


def load_manifest(path: Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"no optimize manifest at {path}", hint="run `frugal optimize --out DIR` first") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data.get("artifacts"), list):
        raise ConfigError(f"{path} has no artifacts list; is it an optimize manifest?")
    return data


def memory_mb(art: dict[str, Any]) -> float:
    """Resident memory the artifact needs: measured peak RSS when present, else weights plus overhead."""
    rss = art.get("metrics", {}).get("peak_rss_mb")
    return float(rss) if rss else art.get("bytes", 0) / 2**20 + RUNTIME_OVERHEAD_MB


def _device(profile: DeviceProfile, family: str) -> str:
    if family == "openvino":
        if profile.has_accelerator("npu") and profile.runtime.device in ("NPU", "AUTO"):
            return "NPU"
        return profile.runtime.device
    return "CPU"


def plan_for_profile(profile: DeviceProfile, manifest: dict[str, Any]) -> dict[str, Any]:
    """The chosen artifact with the reasons, and every other artifact with why it was not chosen."""
    budget = profile.runtime.memory_budget_mb
    fits: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for art in manifest["artifacts"]:
        family, name = art.get("family", ""), art["format"]
        why: list[str] = []
        status = art.get("status")
        if status != "accepted":
            why.append(f"status {status}" + (f": {art['reason']}" if art.get("reason") else ""))
        runtime = FAMILY_RUNTIME.get(family)
        if runtime not in profile.runtimes:
            why.append(f"runtime {runtime} is not available on {profile.id}")
        need = memory_mb(art)
        if need > budget:
            why.append(f"needs ~{need:.0f} MB, over the {budget} MB budget")
        if why:
            rejected.append({"format": name, "why": why})
            continue
        m = art.get("metrics", {})
        speed = (m.get("decode_tok_s") or 0.0) * profile.compute.relative_speed
        fits.append({"art": art, "need": need, "speed": speed, "ppl": m.get("perplexity") or float("inf")})
    if not fits:
        return {"profile": profile.id, "choice": None, "rejected": rejected}
    fits.sort(key=lambda c: (-round(c["speed"], 1), c["ppl"]))
    best, others = fits[0], fits[1:]
    art = best["art"]
    m = art.get("metrics", {})
    room_mb = budget - best["need"]
    context = max(256, min(profile.runtime.context_size, int(room_mb * 2**20 / KV_BYTES_PER_TOKEN)))
    why = [
        f"passes the quality gate (perplexity {m.get('perplexity', float('nan')):.3f}, "
        f"{100 * (m.get('ppl_increase') or 0.0):+.1f}% vs fp32; greedy agreement "
        f"{100 * (m.get('greedy_agreement') or 0.0):.1f}%)",
        f"runtime {FAMILY_RUNTIME[art['family']]} is in the profile's runtimes",
        f"needs ~{best['need']:.0f} MB of the {budget} MB budget",
        f"fastest fitting artifact: ~{best['speed']:.0f} tok/s projected "
        f"({m.get('decode_tok_s')} measured x relative speed {profile.compute.relative_speed})",
    ]
    if others:
        nxt = others[0]
        why.append(f"next best: {nxt['art']['format']} at ~{nxt['speed']:.0f} tok/s")
    for c in others:
        rejected.append({"format": c["art"]["format"],
                         "why": [f"fits, but slower (~{c['speed']:.0f} tok/s) or worse perplexity"]})
    choice = {
        "format": art["format"],
        "family": art["family"],
        "quantization": art.get("quantization"),
        "path": art.get("path"),
        "sha256": art.get("sha256"),
        "backend": FAMILY_BACKEND[art["family"]],
        "device": _device(profile, art["family"]),
        "threads": profile.runtime.threads,
        "context_size": context,
        "memory_mb": round(best["need"], 1),
        "projected_tok_s": round(best["speed"], 1),
        "why": why,
    }
    return {"profile": profile.id, "choice": choice, "rejected": rejected}


def plan_runtime(profile: DeviceProfile, manifest: str | Path) -> dict[str, Any]:
    """What ``Runtime(profile=..., artifacts=OUT)`` loads: the planner's choice with its file resolved.

    Adds ``artifact_path`` (absolute; a GGUF folder resolves to its ``.gguf`` file) to the choice, or
    raises ``ConfigError`` listing why each artifact was refused when none fits the profile.
    """
    root = Path(manifest)
    root = root if root.is_dir() else root.parent
    result = plan_for_profile(profile, load_manifest(Path(manifest)))
    choice = result["choice"]
    if choice is None:
        reasons = "; ".join(f"{r['format']}: {', '.join(r['why'])}" for r in result["rejected"]) or "it is empty"
        raise ConfigError(f"no artifact in {root} fits profile {profile.id} ({reasons})",
                          hint="run `frugal profile plan` to see the reasons, or pick another profile")
    path = root / str(choice["path"])
    if choice["family"] == "gguf" and path.is_dir():
        found = sorted(path.glob("*.gguf"))
        path = found[0] if found else path
    if not path.exists():
        raise ConfigError(f"the planned artifact {choice['format']} is missing at {path}",
                          hint="re-run `frugal optimize` into that folder")
    return {**choice, "artifact_path": str(path), "rejected": result["rejected"]}
