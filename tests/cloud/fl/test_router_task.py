"""The router head as a federated task: real Flower rounds in process, registered, delivered by the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from frugalstack.cloud.fl.router_round import run_router_round
from frugalstack.cloud.fl.server import FLConfig
from frugalstack.cloud.fl.simulate import run_federated
from frugalstack.edge.fl import model
from frugalstack.edge.fl.router_data import ROUTER_CLASSES, load_router_corpus
from frugalstack.edge.router.learned import LearnedRouter

PAIRS = Path(__file__).parents[2] / "edge" / "router" / "data" / "pairs-small.jsonl"


def test_router_corpus_is_embedding_plus_signals_and_outcome() -> None:
    corpus = load_router_corpus(PAIRS)
    assert corpus.classes == ROUTER_CLASSES and corpus.train_texts == []
    assert corpus.x_train.shape[1] == 384 + 10
    assert set(np.unique(corpus.y_train)) <= {0, 1} and len(corpus.y_test) == len(corpus.extra["edge_test"])


def test_the_shipped_pairs_are_the_default_router_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRUGAL_ROUTER_PAIRS", raising=False)
    corpus = load_router_corpus()
    assert len(corpus.y_train) >= 40 and len(corpus.y_test) >= 40 and 0 < corpus.y_train.mean() < 1


def test_router_round_trains_protects_and_reports_baselines() -> None:
    r = run_router_round(clients=6, rounds=2, pairs=PAIRS, clip=1.0, noise=0.5, seed=1)
    assert r["config"]["task"] == "router" and r["participants_per_round"] == [6, 6]
    for arm in ("before", "federated", "centralized", "local_only"):
        assert {"accuracy", "macro_f1", "auc"} <= set(r[arm]), arm
    assert r["federated"] != r["before"]  # the head moved
    assert 0 < r["privacy"]["epsilon_local"] < float("inf")
    c = r["communication"]
    assert c["params"] == (384 + 10) * 2 + 2
    assert c["bytes_up_per_client_round_median"] < c["bytes_down_per_client_round"] / 2  # int8 up, fp32 down
    assert set(r["params"]) == {"w", "b"}


def test_softmax_head_becomes_the_same_learned_router() -> None:
    """The registered artifact must route exactly as the federated head scored."""
    corpus = load_router_corpus(PAIRS)
    params, _ = model.train(model.init_params(model.HeadSpec(394, 2)), corpus.x_train, corpus.y_train, steps=30, lr=1.0)
    from frugalstack.edge.fl.router_data import SIGNAL_MEAN, SIGNAL_STD

    router = LearnedRouter.from_bytes(LearnedRouter.from_softmax(params, SIGNAL_MEAN, SIGNAL_STD).to_bytes())
    emb, sig = corpus.x_test[:, :384], corpus.x_test[:, 384:] * SIGNAL_STD + SIGNAL_MEAN
    got = router.predict_proba(router.features(emb, sig))
    want = model.predict_proba(params, corpus.x_test)[:, 1]
    assert np.allclose(got, want, atol=1e-5)


def test_initial_params_of_the_wrong_shape_are_refused() -> None:
    from frugalstack.shared.errors import FrugalError

    cfg = FLConfig(task="router", clients=3, rounds=1, fraction=1.0, min_examples=1, devices=False, pairs=str(PAIRS))
    with pytest.raises(FrugalError):
        run_federated(cfg, engine="inprocess", initial={"w": np.zeros((3, 2), np.float32), "b": np.zeros(2)})


def test_router_version_is_registered_with_lineage_and_reaches_the_manifest(start_cloud: Any) -> None:
    cloud = start_cloud()
    key = cloud.key("operator")
    device_id, device_key = cloud.device("laptop-x86")
    with cloud.admin() as c:  # an SLM deployment for the profile, as the control plane would have it
        m = c.post("/v1/registry/models", json={"name": "shop-slm"}).json()
        mv = c.post(f"/v1/registry/models/{m['id']}/versions", json={"version": "1.0.0"}).json()
        assert c.post(f"/v1/model-versions/{mv['id']}/stage", json={"stage": "staging"}).status_code == 200
        assert (
            c.post("/v1/deployments", json={"profile": "laptop-x86", "model_version_id": mv["id"]}).status_code == 201
        )
    r = run_router_round(cloud.url, key, clients=4, rounds=1, pairs=PAIRS, seed=2, deploy_profile="laptop-x86")
    reg = r["registered"]
    with cloud.admin() as c:
        run = c.get(f"/v1/runs/{reg['run_id']}").json()
        assert run["params"]["round_ids"] == [1] and run["params"]["participating_devices"] == [4]
        assert run["params"]["privacy"]["epsilon_local"] > 0
        art = c.get(f"/v1/model-versions/{reg['model_version_id']}/artifacts").json()[0]
        blob = c.get(f"/v1/artifacts/{art['id']}/content").content
    with cloud.client(device_key) as c:
        manifest = c.get(f"/v1/devices/{device_id}/manifest").json()["manifest"]
    assert manifest["router_version"] == reg["model_version_id"]
    assert manifest["model"]["model_version_id"] == mv["id"]  # the SLM stays what it was
    router = LearnedRouter.from_bytes(blob)
    assert router.params["w"].shape == (394,) and router.version.startswith("lr-")


def test_cross_validation_folds_hold_out_every_shipped_pair_exactly_once() -> None:
    from frugalstack.edge.fl.router_data import default_pairs_path, read_pairs

    rows = read_pairs(default_pairs_path())
    folds = [load_router_corpus(fold=f, folds=4) for f in range(4)]
    assert sum(len(c.y_test) for c in folds) == len(rows)  # every pair held out once
    assert all(len(c.y_train) + len(c.y_test) == len(rows) for c in folds)  # the rest train on the devices
    assert sum(int(c.y_test.sum()) for c in folds) == sum(r["cloud_score"] > r["edge_score"] for r in rows)
    assert all(len(c.y_train) > len(rows) // 2 for c in folds)  # more than the file's 50/50 split gives
    again = load_router_corpus(fold=1, folds=4)
    assert np.array_equal(again.x_test, folds[1].x_test)  # stable: folds come from a hash of the pair's id
    cfg = FLConfig(task="router", clients=6, rounds=1, fraction=1.0, min_examples=2, devices=False, cv_fold=2)
    r = run_federated(cfg, engine="inprocess")
    assert r["participants_per_round"] == [6] and 0.0 <= r["federated"]["auc"] <= 1.0
