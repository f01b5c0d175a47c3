"""The Flower ClientApp (Message API): train the head on local data, send back a protected update.

What a reply carries, and nothing else: the update arrays (clipped, noised, maybe int8) and aggregate
metrics (example count, mean training loss, bytes received). Texts, per-example vectors and labels stay in
the process; ``tests/edge/fl/test_privacy_capture.py`` checks this on every message of a real round.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from frugalstack.edge.fl import codec, model
from frugalstack.edge.fl.data import DataSource
from frugalstack.edge.fl.devices import SimDevice
from frugalstack.shared.errors import MissingDependencyError

SourceFactory = Callable[[int], DataSource]


def _flwr() -> Any:
    try:
        import flwr.app as app
        from flwr.clientapp import ClientApp
    except ImportError:
        raise MissingDependencyError("flwr", "fl", purpose="federated learning") from None
    return app, ClientApp


def partition_of(context: Any) -> int:
    """The simulation engine's ``partition-id``; a real SuperNode passes it with ``--node-config``."""
    cfg = context.node_config
    return int(cfg.get("partition-id", cfg.get("partition_id", 0)))


def arrays_to_params(record: Any) -> model.Params:
    return {k: np.asarray(a.numpy()) for k, a in record.items()}


def payload_bytes(record: Any) -> int:
    """Serialized bytes of an ArrayRecord's arrays (npy buffers, headers included)."""
    return int(sum(len(a.data) for a in record.values()))


def local_update(
    global_params: model.Params, data: Any, cfg: dict[str, Any], *, device: SimDevice | None, seed: int
) -> tuple[dict[str, np.ndarray], float]:
    """Train, then clip/noise/quantize; returns the arrays to send and the mean training loss."""
    steps = int(cfg.get("local-steps", 20))
    if device is not None:
        steps = device.steps_done(steps, float(cfg.get("deadline-speed", 1.0)))
    new, loss = model.train(
        global_params,
        data.x,
        data.y,
        steps=steps,
        lr=float(cfg.get("lr", 5.0)),
        batch_size=int(cfg.get("batch-size", 32)),
        proximal_mu=float(cfg.get("proximal-mu", 0.0)),
        seed=seed,
        balanced=bool(int(cfg.get("balanced", 0))),
    )
    return protect(codec.delta(new, global_params), cfg, seed), loss


def protect(upd: model.Params, cfg: dict[str, Any], seed: int) -> dict[str, np.ndarray]:
    """Clip to ``clip``, add Gaussian noise (``noise-multiplier`` · clip), quantize: what leaves the device."""
    clip = float(cfg.get("clip", 0.0))
    if clip > 0:
        upd, _ = codec.clip_update(upd, clip)
        noise = float(cfg.get("noise-multiplier", 0.0))
        if noise > 0:
            # "noise-share" m > 1 (distributed DP): each device adds 1/sqrt(m) of the noise, so the sum of m
            # devices carries the full noise * clip; only meaningful when the server sees only that sum (SecAgg).
            share = max(float(cfg.get("noise-share", 1.0)), 1.0)
            upd = codec.add_gaussian_noise(upd, noise * clip / np.sqrt(share), np.random.default_rng([seed, 0xD9]))
    return codec.quantize_int8(upd) if cfg.get("quantize", "none") == "int8" else dict(upd)


def node_source(pid: int, context: Any) -> DataSource:
    """A real SuperNode's data: the ``data-path`` file of its ``--node-config`` (see ``frugal fl device``)."""
    from frugalstack.edge.fl.data import PartitionSource

    path = context.node_config.get("data-path")
    if not path:
        from frugalstack.shared.errors import ConfigError

        raise ConfigError("this SuperNode has no data", hint="start it with --node-config \"data-path='...'\"")
    return PartitionSource(str(path), pid)


def make_client_app(
    source_for: SourceFactory | None,
    devices: list[SimDevice] | None = None,
    *,
    seed: int = 0,
    mods: list[Any] | None = None,
) -> Any:
    """A ClientApp whose partition ``i`` reads ``source_for(i)`` (or its node's ``data-path`` when None) and
    runs as ``devices[i]`` (if given)."""
    app_mod, ClientApp = _flwr()
    Message, RecordDict = app_mod.Message, app_mod.RecordDict
    ArrayRecord, MetricRecord, Array = app_mod.ArrayRecord, app_mod.MetricRecord, app_mod.Array
    client = ClientApp(mods=mods or [])

    @client.train()
    def train(msg: Any, context: Any) -> Any:
        pid = partition_of(context)
        cfg = dict(msg.content["config"])
        rnd = int(cfg.get("server-round", 0))
        device = devices[pid % len(devices)] if devices else None
        rng = np.random.default_rng([seed, pid, rnd])
        if device is not None and rng.random() < device.dropout:
            return Message(app_mod.Error(code=503, reason="device dropped out of the round"), reply_to=msg)
        down = payload_bytes(msg.content["arrays"])
        data = (source_for(pid) if source_for else node_source(pid, context)).load()
        if len(data) < int(cfg.get("min-examples", 8)):
            metrics = MetricRecord({"num-examples": 0, "skipped": 1, "bytes-down": down})
            return Message(RecordDict({"metrics": metrics}), reply_to=msg)
        glob = arrays_to_params(msg.content["arrays"])
        out, loss = local_update(glob, data, cfg, device=device, seed=int(rng.integers(2**31)))
        private = float(cfg.get("noise-multiplier", 0.0)) > 0
        # Under DP every device weighs the same (the sensitivity analysis assumes it) and the loss stays home.
        metrics = MetricRecord(
            {"num-examples": 1 if private else len(data), "skipped": 0, "bytes-down": down}
            | ({} if private else {"train-loss": float(loss)})
        )
        arrays = ArrayRecord({k: Array(v) for k, v in out.items()})
        return Message(RecordDict({"arrays": arrays, "metrics": metrics}), reply_to=msg)

    @client.evaluate()
    def evaluate(msg: Any, context: Any) -> Any:
        pid = partition_of(context)
        data = (source_for(pid) if source_for else node_source(pid, context)).load()
        params = arrays_to_params(msg.content["arrays"])
        classes = int(params["b"].shape[0])
        m = model.evaluate(params, data.x, data.y, classes) if len(data) else {"accuracy": 0.0}
        metrics = MetricRecord({"num-examples": len(data), "accuracy": float(m["accuracy"])})
        return Message(RecordDict({"metrics": metrics}), reply_to=msg)

    return client
