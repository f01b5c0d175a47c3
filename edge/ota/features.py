"""Load the manifest's feature snapshot into the device's online store (verified before it is read).

The snapshot travels like a model artifact: same Range download, same sha256 + Ed25519 check. A snapshot
that fails any check is dropped and the device keeps serving its previous features (with their ages, so
stale ones are reported by ``get_online_features``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from frugalstack.shared.errors import FrugalError
from frugalstack.shared.manifest import Manifest

if TYPE_CHECKING:
    from frugalstack.edge.ota.client import OtaClient

log = logging.getLogger("frugalstack.edge.ota")


def sync_features(client: OtaClient, manifest: Manifest, db_path: Path) -> str:
    """``none`` | ``up_to_date`` | ``loaded`` | ``failed: <why>``; never raises for a bad snapshot."""
    from frugalstack.edge.features.online import OnlineStore

    entry = manifest.features
    if entry is None:
        return "none"
    with OnlineStore(db_path) as store:
        if store.snapshot_id() == entry.snapshot_id:
            return "up_to_date"
        try:
            part = client.download(entry.artifact)
            try:
                snap = store.load_snapshot(part.read_bytes())
            finally:
                part.unlink(missing_ok=True)
        except FrugalError as exc:
            log.warning("feature snapshot %s not loaded: %s", entry.snapshot_id, exc)
            return f"failed: {exc}"
        if snap.snapshot_id != entry.snapshot_id:
            log.warning("feature snapshot id %s differs from the manifest's %s", snap.snapshot_id, entry.snapshot_id)
        return "loaded"
