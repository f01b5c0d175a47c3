"""The device side of secure aggregation: Flower's SecAgg+ mod around a client that sends its update.

SecAgg+ (Bell et al., 2020) in Flower 1.42 runs on the compatibility ("fit") message layout, so this client
is a ``NumPyClient`` wrapped by ``secaggplus_mod``: the mod masks the update with pairwise secrets and
Shamir-shares its keys, so the server learns only the sum, even when some devices drop out mid-round. The
update itself is produced exactly as in :mod:`frugalstack.edge.fl.client` (train, clip, noise).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from frugalstack.edge.fl.client import SourceFactory, local_update, node_source, partition_of
from frugalstack.edge.fl.devices import SimDevice
from frugalstack.shared.errors import MissingDependencyError


def make_secagg_client_app(
    source_for: SourceFactory | None, names: list[str], devices: list[SimDevice] | None = None, *, seed: int = 0
) -> Any:
    """``names`` orders the head's tensors (the compat layout is a plain list of arrays); ``source_for`` and
    ``devices`` as in :func:`frugalstack.edge.fl.client.make_client_app` (a dropout fails the masked-vector
    stage; None reads the SuperNode's ``data-path``)."""
    try:
        from flwr.client import NumPyClient
        from flwr.client.mod import secaggplus_mod
        from flwr.clientapp import ClientApp
    except ImportError:
        raise MissingDependencyError("flwr", "fl", purpose="secure aggregation") from None

    class UpdateClient(NumPyClient):
        def __init__(self, pid: int, source: Any) -> None:
            self.pid = pid
            self.source = source

        def fit(self, parameters: list[np.ndarray], config: dict[str, Any]) -> tuple[list[np.ndarray], int, dict]:
            data = self.source.load()
            glob = dict(zip(names, (np.asarray(p, np.float32) for p in parameters), strict=True))
            cfg = {**config, "quantize": "none"}  # SecAgg+ quantizes itself before masking
            rnd = int(cfg.get("server-round", 0))
            device = devices[self.pid % len(devices)] if devices else None
            rng = np.random.default_rng([seed, self.pid, rnd])
            if device is not None and rng.random() < device.dropout:
                raise RuntimeError("device dropped out of the round")  # after sharing keys: SecAgg+ recovers
            if len(data) < int(cfg.get("min-examples", 8)):
                return [np.zeros_like(glob[n]) for n in names], 0, {}  # weight 0: adds nothing to the mean
            out, _ = local_update(glob, data, cfg, device=device, seed=int(rng.integers(2**31)))
            # Uniform weight: the sum is what the server sees, the count of examples stays on the device.
            return [out[n] for n in names], 1, {}

    def client_fn(context: Any) -> Any:
        pid = partition_of(context)
        return UpdateClient(pid, source_for(pid) if source_for else node_source(pid, context)).to_client()

    return ClientApp(client_fn=client_fn, mods=[secaggplus_mod])
