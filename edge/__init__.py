"""frugalstack.edge: the runtime apps embed on the device.

Importing this package is cheap: inference runtimes, web frameworks and the cloud are imported only
when something asks for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from frugalstack.edge.profiles import DeviceProfile
    from frugalstack.edge.runtime import Reply, Runtime, Stream

__all__ = ["DeviceProfile", "Reply", "Runtime", "Stream"]

_LAZY = {
    "Runtime": "frugalstack.edge.runtime",
    "Reply": "frugalstack.edge.runtime",
    "Stream": "frugalstack.edge.runtime",
    "DeviceProfile": "frugalstack.edge.profiles",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'frugalstack.edge' has no attribute {name!r}")
