"""What the app holds for its lifetime: settings, database, signer, blob store, rate limiter, gateway."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from frugalstack.cloud.db import Database
from frugalstack.cloud.services.blobs import BlobStore
from frugalstack.cloud.services.ratelimit import Limiter
from frugalstack.cloud.services.signing import Signer
from frugalstack.cloud.settings import CloudSettings


@dataclass
class CloudState:
    settings: CloudSettings
    db: Database
    signer: Signer
    blobs: BlobStore
    limiter: Limiter
    admin_secret: str
    _gateway: Any = None
    _gateway_lock: threading.Lock = field(default_factory=threading.Lock)

    def gateway(self) -> Any:
        """The chat backend, built on first use (loading a model is not free)."""
        with self._gateway_lock:
            if self._gateway is None:
                from frugalstack.cloud.services.gateway import make_backend

                self._gateway = make_backend(self.settings)
            return self._gateway

    def close(self) -> None:
        if self._gateway is not None:
            self._gateway.close()
        self.db.dispose()
