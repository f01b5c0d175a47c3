"""Over-the-air manifest: what a device should run, signed by the cloud (Ed25519) and verified on the edge.

The signature covers ``canonical_json(manifest)``: sorted keys, no whitespace, UTF-8, so the cloud (which
signs) and the edge (which verifies) produce the same bytes. Artifacts are signed separately over their
sha256 and size (``artifact_message``), so a file can be checked without the manifest that named it.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MANIFEST_SCHEMA_VERSION = 1


def canonical_json(data: Any) -> bytes:
    """The exact bytes that are signed: sorted keys, compact separators, UTF-8."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def artifact_message(sha256: str, size_bytes: int) -> bytes:
    return f"frugalstack-artifact:v1:{sha256}:{size_bytes}".encode()


class ManifestArtifact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    url: str = Field(description="path of the download, relative to the cloud base URL")
    filename: str
    format: str
    quantization: str | None = None
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: int = Field(ge=0)
    signature: str = Field(description="base64 Ed25519 signature of artifact_message(sha256, size_bytes)")


class ManifestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_id: str
    name: str
    model_version_id: str
    version: str
    artifact: ManifestArtifact | None = None


class ManifestExperiment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    experiment_id: str
    name: str
    variant: str
    config: dict[str, Any] = Field(default_factory=dict)


class ManifestDeletion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    subject_id: str


class ManifestFeatures(BaseModel):
    """The device slice's feature snapshot (a signed artifact the edge loads into its online store)."""

    model_config = ConfigDict(extra="forbid")

    snapshot_id: str
    created_at: float
    views: list[str] = Field(default_factory=list)
    artifact: ManifestArtifact


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = MANIFEST_SCHEMA_VERSION
    device_id: str
    profile: str
    issued_at: float
    expires_at: float
    deployment_id: str | None = None
    model: ManifestModel | None = None
    prompt_versions: dict[str, str] = Field(default_factory=dict)
    guard_policy: dict[str, Any] = Field(default_factory=dict)
    router_version: str = "1"
    experiments: list[ManifestExperiment] = Field(default_factory=list)
    deletion_requests: list[ManifestDeletion] = Field(default_factory=list)
    allow_raw_prompts: bool = False
    features: ManifestFeatures | None = None


class SignedManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    manifest: Manifest
    signature: str = Field(description="base64 Ed25519 signature of canonical_json(manifest)")
    key_id: str = Field(description="sha256 prefix of the raw public key")
    algorithm: str = "ed25519"


class SigningKey(BaseModel):
    key_id: str
    algorithm: str = "ed25519"
    public_key: str = Field(description="base64 of the 32-byte raw Ed25519 public key")
