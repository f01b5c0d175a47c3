"""The demo deploys a federated router head only when it is no worse on held-out pairs (real Flower rounds)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("seed", "deploy"), [(1, True), (2, False)])
def test_the_demo_gates_the_federated_router_head_on_held_out_pairs(seed: int, deploy: bool) -> None:
    from frugalstack.cloud.demo.learning import improved
    from frugalstack.cloud.fl.router_round import run_router_round

    rep = run_router_round(clients=10, rounds=2, seed=seed)  # the demo's round, not registered anywhere
    fl = {"before": rep["before"], "after": rep["federated"]}
    assert improved(fl) is deploy
    gained = [fl["after"][k] - fl["before"][k] for k in ("auc", "macro_f1")]
    assert (min(gained) >= 0 and max(gained) > 0) is deploy
    assert not improved({"before": rep["before"], "after": {}})  # missing metrics never deploy
