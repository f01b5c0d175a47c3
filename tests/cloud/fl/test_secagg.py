"""SecAgg+ over a real round: the server gets the mean of the survivors even when one device drops out."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from flwr.app import Context, RecordDict

from frugalstack.cloud.fl.inprocess import InProcessGrid
from frugalstack.cloud.fl.secagg import make_secagg_server_app
from frugalstack.edge.fl import model
from frugalstack.edge.fl.client import local_update
from frugalstack.edge.fl.data import PartitionSource, load_intent_corpus, partition_non_iid, save_partitions
from frugalstack.edge.fl.secagg_client import make_secagg_client_app

TRAIN = {"local-steps": 10, "lr": 5.0, "batch-size": 32, "clip": 1.0, "noise-multiplier": 0.0, "min-examples": 2}


def test_round_completes_with_one_device_dropping_out_mid_round(tmp_path) -> None:  # type: ignore[no-untyped-def]
    corpus = load_intent_corpus()
    parts = partition_non_iid(corpus.y_train, 5, mean_size=40, seed=1)
    path = save_partitions(corpus, parts, tmp_path / "p.npz")
    source = functools.partial(PartitionSource, str(path))
    init = model.init_params(model.HeadSpec(384, len(corpus.classes)))
    sink: dict[str, Any] = {}
    server = make_secagg_server_app(
        init, 1, num_shares=5, threshold=3, train_config=TRAIN, sink=sink, min_clients=5, timeout=60
    )
    # Device 0 completes setup and key sharing, then never sends its masked vector (3rd message).
    grid = InProcessGrid(make_secagg_client_app(source, list(init), seed=0), 5, keep=True, drop={(0, 3)})
    server(grid, Context(run_id=1, node_id=1, node_config={}, state=RecordDict(), run_config={}))

    assert sink.get("rounds") == [1], "the round did not complete"
    per_node = {nid: sum(1 for m in grid.sent if m.metadata.dst_node_id == nid) for nid in grid.node_ids}
    assert per_node[grid.node_ids[0]] == 3 and all(per_node[n] == 4 for n in grid.node_ids[1:])
    # The unmasked aggregate equals the plain mean of the four survivors' updates (up to SecAgg quantization).
    expected = []
    for pid in range(1, 5):
        seed = int(np.random.default_rng([0, pid, 1]).integers(2**31))
        out, _ = local_update(init, source(pid).load(), {**TRAIN, "server-round": 1}, device=None, seed=seed)
        expected.append(out)
    for k in init:
        mean = np.mean([e[k] for e in expected], axis=0)
        assert np.allclose(sink["params"][k] - init[k], mean, atol=1e-4)
    # No reply carries a device's update in clear: SecAgg+ empties the arrays and sends only masked vectors.
    for m in grid.received:
        assert all(len(r) == 0 for r in m.content.array_records.values())


def test_simulate_with_secagg_devices_and_distributed_dp(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from frugalstack.cloud.fl.server import FLConfig
    from frugalstack.cloud.fl.simulate import run_federated

    cfg = FLConfig(
        clients=8,
        rounds=3,
        fraction=1.0,
        mean_size=40,
        secagg=True,
        clip=5.0,
        noise_multiplier=0.3,
        dp_mode="distributed",
        min_examples=2,
        seed=3,
    )
    r = run_federated(cfg, engine="inprocess", workdir=tmp_path)
    assert len(r["rounds"]) == 3 and all(x["accepted"] >= 2 for x in r["rounds"])
    assert r["federated"]["macro_f1"] > r["before"]["macro_f1"] + 0.1
    p = r["privacy"]
    assert p["noise_share"] == 7 and p["epsilon_central"] < p["epsilon_local"]
    # four SecAgg+ stages per device per round, counted on the wire
    assert r["communication"]["bytes_up_per_client_round_median"] > 4 * r["communication"]["params"]
