"""Federated rounds where devices die, send garbage, lose their reply, or come back a round later.

Real Flower ServerApp/strategy/ClientApp code over the in-process grid (protobuf both ways): a round with
enough good updates completes without the bad ones; a round where nobody delivers keeps the previous
global model (finite, unchanged) instead of producing a broken one.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, Context, Message, MetricRecord, RecordDict

from frugalstack.cloud.fl.inprocess import InProcessGrid
from frugalstack.cloud.fl.server import FLConfig, build_strategy, make_server_app
from frugalstack.edge.fl import model
from frugalstack.edge.fl.client import make_client_app
from frugalstack.edge.fl.data import PartitionSource, load_intent_corpus, partition_non_iid, save_partitions


class Chaos:
    """Partition 0 always crashes, 1 replies garbage tensors, 2 crashes in round 1 and is back in round 2."""

    def __init__(self, honest: Any, everyone_dies: bool = False) -> None:
        self.honest, self.everyone_dies = honest, everyone_dies

    def __call__(self, msg: Message, context: Context) -> Message:
        pid = int(context.node_config["partition-id"])
        rnd = int(msg.content["config"]["server-round"]) if "config" in msg.content else 0
        if msg.metadata.message_type == "train":
            if self.everyone_dies or pid == 0 or (pid == 2 and rnd == 1):
                raise ConnectionResetError("device went away mid-round")
            if pid == 1:
                junk = np.frombuffer(np.random.default_rng(rnd).bytes(64), np.float32).reshape(4, 4)
                content = RecordDict({"arrays": ArrayRecord({"garbage": Array(junk)}),
                                      "metrics": MetricRecord({"num-examples": 50})})
                return Message(content, reply_to=msg)
        return self.honest(msg, context)


def _round(tmp: Path, clients: int, **chaos: Any) -> tuple[dict[str, Any], Any, dict[str, np.ndarray]]:
    corpus = load_intent_corpus()
    cfg = FLConfig(clients=clients, rounds=2, strategy="robust", fraction=1.0, mean_size=40, devices=False, seed=3)
    parts = partition_non_iid(corpus.y_train, cfg.clients, mean_size=cfg.mean_size, seed=cfg.seed)
    tmp.mkdir(parents=True, exist_ok=True)
    honest = make_client_app(functools.partial(PartitionSource, str(save_partitions(corpus, parts, tmp / "p.npz"))))
    strategy = build_strategy(cfg)
    spec = model.HeadSpec(384, len(corpus.classes))
    initial = model.init_params(spec)
    sink: dict[str, Any] = {}
    app = make_server_app(strategy, initial, cfg.rounds,
                          lambda p: model.evaluate(p, corpus.x_test, corpus.y_test, spec.classes), sink, timeout=60)
    grid = InProcessGrid(Chaos(honest, **chaos), cfg.clients, drop={(3, 1)})  # partition 3's first reply is lost
    app(grid, Context(run_id=1, node_id=1, node_config={}, state=RecordDict(), run_config={}))
    return sink, strategy, initial


def test_round_completes_without_dead_garbage_and_lost_devices(tmp_path: Path) -> None:
    sink, strategy, _ = _round(tmp_path, clients=8)
    first, second = strategy.rounds
    assert first["dropped"] == 2 and first["accepted"] == 4  # 0 and 2 died, 1 rejected, 3's reply lost
    assert [r["reason"].split()[0] for r in first["rejected"]] == ["wrong"]
    assert second["dropped"] == 1 and second["accepted"] == 6  # 2 reconnected, 3's reply arrived
    final = {k: a.numpy() for k, a in sink["result"].arrays.items()}
    assert all(np.isfinite(v).all() for v in final.values())
    evals = sink["result"].evaluate_metrics_serverapp
    assert evals[2]["macro_f1"] > evals[0]["macro_f1"]


def test_a_round_where_every_device_dies_ends_cleanly_and_registers_nothing(tmp_path: Path,
                                                                           start_cloud: Any) -> None:
    from frugalstack.cloud.fl.register import register_result
    from frugalstack.cloud.fl.simulate import run_federated
    from frugalstack.shared.errors import FrugalError

    sink, strategy, _ = _round(tmp_path / "chaos", clients=4, everyone_dies=True)
    assert [r["accepted"] for r in strategy.rounds] == [0, 0]
    assert not sink["result"].arrays  # Flower reports no new model: there is none

    cfg = FLConfig(clients=3, rounds=1, fraction=1.0, mean_size=30, devices=False, seed=1)
    lost = {(p, n) for p in range(3) for n in range(1, 6)}  # every reply is lost on the way back
    report = run_federated(cfg, engine="inprocess", workdir=tmp_path / "lost", drop=lost)
    cloud = start_cloud()
    key = cloud.key("operator")
    with pytest.raises(FrugalError, match="no round accepted"):
        register_result(report, cloud.url, key)
    with cloud.admin() as c:
        assert c.get("/v1/registry/models").json() == []  # the registry was not touched
