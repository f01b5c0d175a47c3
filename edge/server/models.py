"""Which models the server serves, loaded on first use and kept for the server's lifetime.

Only ids configured at start-up are reachable: a request cannot make the server open an arbitrary
file path (``get_spec`` accepts paths for the CLI, the HTTP API must not).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from pydantic import BaseModel, Field

from frugalstack.edge.catalog import DEFAULT_CHAT_MODEL, get_spec
from frugalstack.edge.runtime import Runtime
from frugalstack.edge.server.embeddings import Embedder
from frugalstack.edge.settings import EdgeSettings
from frugalstack.shared.errors import UnknownModelError


class ServerConfig(BaseModel):
    """Settings of one ``frugal edge serve`` process."""

    host: str = "127.0.0.1"
    port: int = Field(8088, ge=0, le=65535)
    models: list[str] = Field(default_factory=lambda: [DEFAULT_CHAT_MODEL])
    embedding_models: list[str] = Field(default_factory=lambda: ["minilm-l6-v2-int8-onnx", "minilm-l6-v2"])
    profile: str | None = None
    backend: str | None = None
    max_body_bytes: int = Field(1_048_576, ge=1024)
    max_tokens_cap: int | None = Field(None, ge=1, description="default: the model's context size")
    max_embedding_inputs: int = Field(2048, ge=1)
    telemetry: bool | None = None
    preload: bool = True
    guard_policy: str | None = Field(None, description="policy YAML for POST /v1/guard (default: the shipped one)")
    max_concurrent: int = Field(1, ge=1, description="generations holding the model at once (the runtime runs one)")
    max_queue: int = Field(16, ge=0, description="requests waiting for a slot; beyond this: 429")
    queue_timeout_s: float = Field(60.0, gt=0, description="a queued request without a slot by then: 503")


class ModelPool:
    """Lazily loaded runtimes and embedders, by model id."""

    def __init__(self, config: ServerConfig, settings: EdgeSettings | None = None):
        self.config = config
        self.settings = settings or EdgeSettings()
        self.created = int(time.time())
        self._runtimes: dict[str, Runtime] = {}
        self._embedders: dict[str, Embedder] = {}
        self._lock = threading.Lock()

    def list(self) -> list[dict[str, Any]]:
        return [
            {"id": m, "object": "model", "created": self.created, "owned_by": "frugalstack"}
            for m in [*self.config.models, *self.config.embedding_models]
        ]

    def _unknown(self, model: str, kind: str) -> UnknownModelError:
        served = self.config.models if kind == "chat" else self.config.embedding_models
        return UnknownModelError(
            f"The model `{model}` does not exist or is not served here",
            hint=f"{kind} models served: " + (", ".join(served) or "none"),
        )

    def runtime(self, model: str) -> Runtime:
        if model not in self.config.models:
            raise self._unknown(model, "chat")
        with self._lock:
            rt = self._runtimes.get(model)
            if rt is None:
                rt = Runtime(
                    model,
                    profile=self.config.profile,
                    backend=self.config.backend,
                    settings=self.settings,
                    telemetry=self.config.telemetry,
                )
                self._runtimes[model] = rt
            return rt

    def embedder(self, model: str) -> Embedder:
        if model not in self.config.embedding_models:
            raise self._unknown(model, "embedding")
        with self._lock:
            emb = self._embedders.get(model)
            if emb is None:
                emb = Embedder(get_spec(model))
                self._embedders[model] = emb
            return emb

    def max_tokens_cap(self, rt: Runtime) -> int:
        return self.config.max_tokens_cap or rt.context_size

    def close(self) -> None:
        with self._lock:
            for rt in self._runtimes.values():
                rt.close()
            self._runtimes.clear()
            self._embedders.clear()
