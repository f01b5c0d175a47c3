"""Strategies over real in-process rounds: learning happens, bad updates are rejected, small devices skip."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, Context, Message, MetricRecord, RecordDict

from frugalstack.cloud.fl.inprocess import InProcessGrid
from frugalstack.cloud.fl.server import FLConfig, build_strategy, make_server_app
from frugalstack.cloud.fl.simulate import run_federated
from frugalstack.edge.fl import model
from frugalstack.edge.fl.client import make_client_app
from frugalstack.edge.fl.data import PartitionSource, load_intent_corpus, partition_non_iid, save_partitions


@pytest.mark.parametrize("strategy", ["fedavg", "fedprox", "robust"])
def test_each_strategy_improves_held_out_f1(strategy: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = FLConfig(clients=8, rounds=3, strategy=strategy, fraction=1.0, mean_size=40, devices=False, seed=2)
    r = run_federated(cfg, engine="inprocess", workdir=tmp_path)
    assert r["federated"]["macro_f1"] > r["before"]["macro_f1"] + 0.2
    assert r["centralized"]["macro_f1"] >= r["federated"]["macro_f1"] - 0.05
    assert r["communication"]["bytes_up_per_client_round_median"] > 4 * r["communication"]["params"]


def test_devices_with_too_little_data_skip_the_round(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = FLConfig(clients=8, rounds=1, fraction=1.0, mean_size=12, min_examples=14, devices=False, seed=4)
    r = run_federated(cfg, engine="inprocess", workdir=tmp_path)
    small = sum(1 for s in r["partition_sizes"] if s < 14)
    assert small >= 1
    assert r["rounds"][0]["skipped"] == small and r["rounds"][0]["accepted"] == 8 - small


class Saboteur:
    """Wraps the honest ClientApp; partitions 0-2 reply with NaN, a wrong shape and a 1000x update."""

    def __init__(self, honest: Any) -> None:
        self.honest = honest

    def __call__(self, msg: Message, context: Context) -> Message:
        reply = self.honest(msg, context)
        pid = int(context.node_config["partition-id"])
        if pid > 2 or msg.metadata.message_type != "train":
            return reply
        arrays = {k: a.numpy().copy() for k, a in reply.content["arrays"].items()}
        if pid == 0:
            arrays["w"][0, 0] = np.nan
        elif pid == 1:
            arrays["w"] = np.zeros((3, 3), np.float32)
        else:
            arrays = {k: v * 1000 for k, v in arrays.items()}
        content = RecordDict(
            {
                "arrays": ArrayRecord({k: Array(v) for k, v in arrays.items()}),
                "metrics": MetricRecord(dict(reply.content["metrics"])),
            }
        )
        return Message(content, reply_to=msg)


def _run_with_saboteurs(strategy: str, tmp_path) -> tuple[dict[str, Any], Any]:  # type: ignore[no-untyped-def]
    corpus = load_intent_corpus()
    cfg = FLConfig(clients=10, rounds=2, strategy=strategy, fraction=1.0, mean_size=40, devices=False, seed=6)
    parts = partition_non_iid(corpus.y_train, cfg.clients, mean_size=cfg.mean_size, seed=cfg.seed)
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = save_partitions(corpus, parts, tmp_path / "p.npz")
    honest = make_client_app(functools.partial(PartitionSource, str(path)))
    strategy_obj = build_strategy(cfg)
    spec = model.HeadSpec(384, len(corpus.classes))
    sink: dict[str, Any] = {}
    app = make_server_app(
        strategy_obj,
        model.init_params(spec),
        cfg.rounds,
        lambda p: model.evaluate(p, corpus.x_test, corpus.y_test, spec.classes),
        sink,
    )
    app(
        InProcessGrid(Saboteur(honest), cfg.clients),
        Context(run_id=1, node_id=1, node_config={}, state=RecordDict(), run_config={}),
    )
    return sink, strategy_obj


def test_robust_rejects_nan_wrong_shape_and_outsized_updates_and_the_round_goes_on(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sink, strat = _run_with_saboteurs("robust", tmp_path)
    for rnd in strat.rounds:
        reasons = sorted(r["reason"].split()[0] for r in rnd["rejected"])
        assert reasons == ["non-finite", "update", "wrong"], rnd["rejected"]
        assert rnd["accepted"] == 7
    evals = sink["result"].evaluate_metrics_serverapp
    assert evals[2]["macro_f1"] > evals[0]["macro_f1"] + 0.2


def test_plain_fedavg_still_drops_malformed_updates_but_is_hurt_by_the_outsized_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sink, strat = _run_with_saboteurs("fedavg", tmp_path / "a")
    assert all(len(r["rejected"]) == 2 and r["accepted"] == 8 for r in strat.rounds)
    robust_sink, _ = _run_with_saboteurs("robust", tmp_path / "b")

    def peak(s: dict[str, Any]) -> float:
        return float(np.abs(s["result"].arrays["w"].numpy()).max())

    assert np.isfinite(peak(sink)) and peak(sink) > 10 * peak(robust_sink)


def test_median_and_krum_resist_a_flipped_update_that_passes_the_norm_screen() -> None:
    from frugalstack.cloud.fl.robust import RobustUpdates, krum_select

    rng = np.random.default_rng(0)
    honest = np.ones(200, np.float32)
    ups = [{"w": honest + rng.normal(0, 0.3, 200).astype(np.float32)} for _ in range(4)]
    ups.append({"w": -3 * honest})  # flipped, 3x: below the 5x-median norm bound
    weights = np.ones(5)
    assert RobustUpdates(norm_factor=5.0).screen(ups) == [None] * 5
    assert krum_select(ups, byzantine=1) == [0, 1, 2, 3]
    mean = RobustUpdates(aggregator="trimmed-mean", trim=0.0).combine(ups, weights)["w"].mean()
    for agg in ("median", "krum"):
        strategy = RobustUpdates(aggregator=agg)
        mixed = strategy.combine(ups, weights)["w"]
        assert abs(mixed.mean() - 1.0) < 0.15 < abs(mean - 1.0), agg
    assert strategy.mixed == 4 and strategy.last_selected == [0, 1, 2, 3]  # krum says what it averaged
