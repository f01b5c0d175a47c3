"""Over-the-air client: fetch the signed manifest, download with resume, verify, swap, roll back.

The server's public key is pinned: pass it in, or it is fetched once at first use and stored in the
model store (trust on first use); a later key change is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from frugalstack.edge.ota.store import ModelStore
from frugalstack.edge.ota.verify import VerificationError, verify_artifact, verify_manifest
from frugalstack.shared.errors import AuthenticationError, NotFoundError, StorageFullError, UpstreamError
from frugalstack.shared.manifest import Manifest, ManifestArtifact

log = logging.getLogger("frugalstack.edge.ota")
Loader = Callable[[Path], None]
CHUNK = 1 << 20


def load_with_runtime(path: Path) -> None:
    """Default load check: open the file with the edge Runtime (llama.cpp for GGUF) and close it."""
    from frugalstack.edge.runtime import Runtime

    Runtime(str(path), telemetry=False).close()


@dataclass
class UpdateResult:
    status: Literal["up_to_date", "updated", "rolled_back", "no_model"]
    version: str | None
    manifest: Manifest
    error: str | None = None
    features: str | None = None  # the feature snapshot's outcome when the client has a features DB


class OtaClient:
    def __init__(self, base_url: str, api_key: str, device_id: str, store: ModelStore | Path,
                 *, public_key: str | None = None, timeout: float = 60.0, transport: Any = None,
                 features_db: Path | None = None):
        self.device_id = device_id
        self.features_db = features_db
        self.store = store if isinstance(store, ModelStore) else ModelStore(Path(store))
        self.http = httpx.Client(base_url=base_url.rstrip("/"), headers={"Authorization": f"Bearer {api_key}"},
                                 timeout=timeout, transport=transport)
        self._public_key = public_key or self.store.state().get("public_key")

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> OtaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, url: str, **kw: Any) -> httpx.Response:
        try:
            r = self.http.get(url, **kw)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"cloud unreachable: {exc}") from exc
        if r.status_code in (401, 403):
            raise AuthenticationError(f"the cloud refused this device key ({r.status_code})")
        if r.status_code == 404:
            raise NotFoundError(f"{url} not found on the cloud")
        return r

    @property
    def public_key(self) -> str:
        if self._public_key is None:
            r = self._get("/v1/signing-key")
            r.raise_for_status()
            self._public_key = str(r.json()["public_key"])
            self.store.save_state(public_key=self._public_key)
        return self._public_key

    def fetch_manifest(self) -> Manifest:
        r = self._get(f"/v1/devices/{self.device_id}/manifest")
        if r.status_code != 200:
            raise UpstreamError(f"manifest request failed with HTTP {r.status_code}")
        try:
            body = r.json()
        except ValueError as exc:
            raise VerificationError("manifest is not JSON") from exc
        last = self.store.state().get("manifest_issued_at")
        return verify_manifest(body, self.public_key, device_id=self.device_id, not_before=last)

    def download(self, art: ManifestArtifact) -> Path:
        """Download to ``downloads/<sha256>.part``, resuming with HTTP Range; verify before returning."""
        part = self.store.root / "downloads" / f"{art.sha256}.part"
        have = part.stat().st_size if part.is_file() else 0
        if have > art.size_bytes:
            part.unlink()
            have = 0
        if have < art.size_bytes:
            headers = {"Range": f"bytes={have}-"} if have else {}
            try:
                with self.http.stream("GET", art.url, headers=headers) as r:
                    if r.status_code == 416:
                        part.unlink(missing_ok=True)
                        raise UpstreamError("the server refused the resume range; the download restarts next time")
                    if r.status_code not in (200, 206):
                        raise UpstreamError(f"artifact download failed with HTTP {r.status_code}")
                    mode = "ab" if r.status_code == 206 else "wb"
                    with part.open(mode) as f:
                        for chunk in r.iter_bytes(CHUNK):
                            f.write(chunk)
            except httpx.HTTPError as exc:
                raise UpstreamError(f"download interrupted at {part.stat().st_size if part.exists() else 0} "
                                    f"bytes; it resumes next time: {exc}") from exc
            except OSError as exc:  # disk full or over a file-size quota: free the space the partial file holds
                part.unlink(missing_ok=True)
                raise StorageFullError(f"no room to download {art.filename} ({art.size_bytes} bytes) under "
                                       f"{self.store.root}: {exc.strerror or exc}",
                                       hint="free disk space; the current model stays active") from exc
        try:
            verify_artifact(part, art.sha256, art.size_bytes, art.signature, self.public_key)
        except VerificationError:
            part.unlink(missing_ok=True)
            raise
        return part

    def report(self, result: UpdateResult) -> None:
        """Tell the cloud what runs now (best effort: a failed report never undoes an update)."""
        body = {"model_version_id": result.version, "ota_status": result.status,
                "ota_error": (result.error or "")[:2000] or None}
        try:
            r = self.http.put(f"/v1/devices/{self.device_id}/status", json=body)
            if r.status_code != 200:
                log.warning("status report refused: HTTP %s %s", r.status_code, r.text[:200])
        except httpx.HTTPError as exc:
            log.warning("status report failed: %s", exc)

    def update(self, loader: Loader | None = load_with_runtime, *, report: bool = True) -> UpdateResult:
        """Apply the manifest's model if it changed; roll back if the new one does not load; report."""
        result = self._update(loader)
        if self.features_db is not None:
            from frugalstack.edge.ota.features import sync_features

            result.features = sync_features(self, result.manifest, self.features_db)
        if report:
            self.report(result)
        return result

    def _update(self, loader: Loader | None) -> UpdateResult:
        manifest = self.fetch_manifest()
        model = manifest.model
        if model is None or model.artifact is None:
            self.store.save_state(manifest_issued_at=manifest.issued_at)
            return UpdateResult("no_model", self.store.current_version, manifest)
        if self.store.state().get("failed_version") == model.model_version_id:
            return UpdateResult("rolled_back", self.store.current_version, manifest,
                                error="this version failed to load before; waiting for a newer manifest")
        if self.store.current_version == model.model_version_id:
            self.store.save_state(manifest_issued_at=manifest.issued_at)
            return UpdateResult("up_to_date", model.model_version_id, manifest)
        verified = self.download(model.artifact)
        installed = self.store.install(model.model_version_id, verified, model.artifact.filename)
        if loader is not None:
            try:
                loader(installed)
            except Exception as exc:
                back = self.store.rollback()
                log.warning("version %s failed to load (%s); rolled back to %s", model.model_version_id, exc, back)
                self.store.save_state(failed_version=model.model_version_id)
                return UpdateResult("rolled_back", back, manifest, error=str(exc))
        self.store.save_state(manifest_issued_at=manifest.issued_at, version=model.model_version_id)
        self.store.prune()
        return UpdateResult("updated", model.model_version_id, manifest)


__all__ = ["OtaClient", "UpdateResult", "load_with_runtime"]
