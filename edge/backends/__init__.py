"""Backend registry: backends are found by entry point and imported only when first used.

Third-party backends register under the ``frugalstack.backends`` entry-point group with a
``module:Class`` value; a missing runtime costs nothing until a model asks for that backend.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from functools import lru_cache

from frugalstack.edge.backends.base import (
    Backend,
    BaseBackend,
    Event,
    Feature,
    FinishEvent,
    GenerationRequest,
    TokenEvent,
)
from frugalstack.shared.errors import UnknownBackendError

ENTRY_POINT_GROUP = "frugalstack.backends"

# Built-ins are listed here too, so a source checkout without installed metadata still works.
BUILTIN: dict[str, str] = {
    "llama_cpp": "frugalstack.edge.backends.llama_cpp:LlamaCppBackend",
    "torch": "frugalstack.edge.backends.torch:TorchBackend",
    "onnx": "frugalstack.edge.backends.onnx:OnnxBackend",
    "openvino": "frugalstack.edge.backends.openvino:OpenVinoBackend",
    "litert": "frugalstack.edge.backends.litert:LiteRTBackend",
    "openai_compatible": "frugalstack.edge.backends.openai_compatible:OpenAICompatibleBackend",
    "mlc": "frugalstack.edge.backends.mlc:MlcBackend",
}


@lru_cache(maxsize=1)
def available_backends() -> dict[str, str]:
    """Backend name -> ``module:Class`` target, without importing any of them."""
    found = dict(BUILTIN)
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep.value
    return found


def load_backend_class(name: str) -> type[Backend]:
    targets = available_backends()
    if name not in targets:
        raise UnknownBackendError(
            f"unknown backend {name!r}", hint="registered backends: " + ", ".join(sorted(targets))
        )
    module_name, _, attr = targets[name].partition(":")
    module = importlib.import_module(module_name)
    cls: type[Backend] = getattr(module, attr)
    return cls


def create_backend(name: str) -> Backend:
    return load_backend_class(name)()


__all__ = [
    "Backend",
    "BaseBackend",
    "Event",
    "Feature",
    "FinishEvent",
    "GenerationRequest",
    "TokenEvent",
    "available_backends",
    "create_backend",
    "load_backend_class",
]
