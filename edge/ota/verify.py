"""Signature and hash checks for over-the-air updates (Ed25519 via ``cryptography``, imported lazily)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from frugalstack.shared.errors import FrugalError, MissingDependencyError
from frugalstack.shared.manifest import Manifest, SignedManifest, artifact_message, canonical_json


class VerificationError(FrugalError):
    """A manifest or artifact failed its signature, hash or freshness check: it is never applied."""

    code = "verification_failed"
    http_status = 400
    exit_code = 9


def _public_key(public_key_b64: str) -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError as exc:  # pragma: no cover - cryptography ships with the edge and cloud extras
        raise MissingDependencyError("cryptography", "edge", purpose="verifying signed updates") from exc
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
    except Exception as exc:
        raise VerificationError(f"not an Ed25519 public key: {exc}") from exc


def verify_signature(public_key_b64: str, message: bytes, signature_b64: str, what: str) -> None:
    from cryptography.exceptions import InvalidSignature

    key = _public_key(public_key_b64)
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError) as exc:
        raise VerificationError(f"{what}: signature does not verify; refusing it") from exc


def verify_manifest(data: dict[str, Any] | SignedManifest, public_key_b64: str, *, device_id: str | None = None,
                    now: float | None = None, not_before: float | None = None) -> Manifest:
    """Parse and check a signed manifest: signature, addressee, expiry, and no replay of an older one."""
    import time

    try:
        signed = data if isinstance(data, SignedManifest) else SignedManifest.model_validate(data)
    except Exception as exc:
        raise VerificationError(f"malformed manifest: {exc}") from exc
    if signed.algorithm != "ed25519":
        raise VerificationError(f"unsupported signature algorithm {signed.algorithm!r}")
    # verify the bytes as received (re-serialised canonically), so any changed field breaks the signature
    raw = data["manifest"] if isinstance(data, dict) else signed.manifest.model_dump(mode="json")
    verify_signature(public_key_b64, canonical_json(raw), signed.signature, "manifest")
    m = signed.manifest
    if device_id is not None and m.device_id != device_id:
        raise VerificationError(f"manifest is for device {m.device_id}, not {device_id}")
    if m.expires_at < (now if now is not None else time.time()):
        raise VerificationError("manifest has expired")
    if not_before is not None and m.issued_at < not_before:
        raise VerificationError("manifest is older than the one already applied (replay?)")
    return m


def sha256_file(path: Path) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def verify_artifact(path: Path, sha256: str, size_bytes: int, signature_b64: str, public_key_b64: str) -> None:
    """The file must have the signed size and sha256, and the signature must cover exactly those."""
    verify_signature(public_key_b64, artifact_message(sha256, size_bytes), signature_b64, "artifact")
    digest, size = sha256_file(path)
    if size != size_bytes or digest != sha256:
        raise VerificationError(f"artifact {path.name}: got sha256 {digest[:12]}… / {size} bytes, "
                                f"the manifest says {sha256[:12]}… / {size_bytes} bytes; refusing it")
