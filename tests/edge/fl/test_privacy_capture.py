"""Every message a ClientApp sends across real rounds carries only the update and aggregate metrics.

The rounds run through the in-process grid, which serializes each message with Flower's protobuf codec (what
would cross the network), so the check is on the wire bytes too: no local text, no per-example vector.
"""

from __future__ import annotations

import numpy as np
import pytest
from flwr.common.serde import message_to_proto

from frugalstack.cloud.fl.server import FLConfig
from frugalstack.cloud.fl.simulate import run_federated
from frugalstack.edge.fl.data import load_intent_corpus, partition_corpus

ALLOWED_METRICS = {"num-examples", "skipped", "bytes-down", "train-loss", "accuracy"}


@pytest.mark.parametrize("private", [False, True])
def test_client_messages_hold_only_updates_and_aggregates(private: bool, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = FLConfig(
        clients=4,
        rounds=2,
        fraction=1.0,
        mean_size=30,
        min_examples=4,
        devices=False,
        seed=5,
        clip=1.0 if private else 0.0,
        noise_multiplier=0.8 if private else 0.0,
        quantize="int8" if private else "none",
    )
    report = run_federated(cfg, engine="inprocess", workdir=tmp_path, keep_messages=True)
    grid = report["_grid"]
    corpus = load_intent_corpus()
    parts = partition_corpus(corpus, cfg.clients, alpha=cfg.alpha, mean_size=cfg.mean_size, seed=cfg.seed)
    params = report["_final_params"]
    assert grid.received and all(not m.has_error() for m in grid.received)
    for msg in grid.received:
        node = msg.metadata.src_node_id
        idx = parts[grid.node_ids.index(node)]
        local_x, local_texts = corpus.x_train[idx], [corpus.train_texts[i] for i in idx]
        content = msg.content
        assert not content.config_records, "a client reply must not carry free-form config"
        for metrics in content.metric_records.values():
            assert set(metrics) <= ALLOWED_METRICS
            assert all(isinstance(v, int | float) for v in metrics.values())
            if private:
                assert "train-loss" not in metrics and metrics.get("num-examples") in (0, 1)
        for record in content.array_records.values():
            for name, arr in record.items():
                base = name.removesuffix(".scale")
                assert base in params, f"unexpected array {name}"
                a = arr.numpy()
                expected = (1,) if name.endswith(".scale") else params[base].shape
                assert a.shape == expected, f"{name} has shape {a.shape}"
                # no row of any array equals (or is a scaled copy of) a local embedding
                rows = np.atleast_2d(a.astype(np.float32))
                if rows.shape[1] == local_x.shape[1]:
                    sims = (rows / (np.linalg.norm(rows, axis=1, keepdims=True) + 1e-12)) @ local_x.T
                    assert float(np.abs(sims).max()) < 0.99
        wire = message_to_proto(msg).SerializeToString()
        for text in local_texts:
            assert text.encode() not in wire
            for word in {w for w in text.split() if len(w) >= 7}:
                assert word.encode() not in wire, f"{word!r} from local data in a reply"
