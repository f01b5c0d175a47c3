"""The server's Ed25519 signing key: created on first start, kept as a 0600 PEM in the data directory."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from frugalstack.shared.errors import ConfigError, MissingDependencyError
from frugalstack.shared.manifest import SigningKey, artifact_message, canonical_json


class Signer:
    def __init__(self, path: Path):
        try:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        except ImportError as exc:  # pragma: no cover - cryptography is in the cloud extra
            raise MissingDependencyError("cryptography", "cloud", purpose="manifest signing") from exc
        if path.is_file():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ConfigError(f"{path} is not an Ed25519 private key")
        else:
            key = Ed25519PrivateKey.generate()
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
        self._key = key
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public_key_b64 = base64.b64encode(raw).decode()
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self._key.sign(data)).decode()

    def sign_json(self, data: object) -> str:
        return self.sign(canonical_json(data))

    def sign_artifact(self, sha256: str, size_bytes: int) -> str:
        return self.sign(artifact_message(sha256, size_bytes))

    def public(self) -> SigningKey:
        return SigningKey(key_id=self.key_id, public_key=self.public_key_b64)
