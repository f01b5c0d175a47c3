"""Metrics and bias statistics on known inputs: the numbers must be what the formulas say."""

from __future__ import annotations

import random

from frugalstack.edge.evaluation import bias
from frugalstack.edge.evaluation import metrics as M
from frugalstack.edge.evaluation.suite import BootstrapCfg


def test_macro_f1_and_accuracy_by_hand() -> None:
    pairs = [("a", "a"), ("a", "b"), ("b", "b"), ("c", "b")]
    assert M.accuracy(pairs) == 0.5
    # a: tp1 fp0 fn1 -> 2/3; b: tp1 fp2 fn0 -> 0.5; c: 0
    assert abs(M.macro_f1(pairs) - (2 / 3 + 0.5 + 0) / 3) < 1e-9


def test_bootstrap_interval_contains_estimate_and_narrows_with_n() -> None:
    rng = random.Random(1)
    small = [float(rng.random() < 0.7) for _ in range(20)]
    big = [float(rng.random() < 0.7) for _ in range(400)]
    a, b = M.mean_metric(small, seed=3), M.mean_metric(big, seed=3)
    assert a["ci_low"] <= a["value"] <= a["ci_high"]
    assert (b["ci_high"] - b["ci_low"]) < (a["ci_high"] - a["ci_low"])
    assert M.mean_metric([])["value"] is None


def test_paired_delta_significance() -> None:
    a = [1.0] * 40 + [0.0] * 10
    worse = [0.0] * 30 + [1.0] * 10 + [0.0] * 10
    assert M.paired_delta(a, worse)["significant"] is True
    assert M.paired_delta(a, list(a))["significant"] is False


def test_unpaired_delta_and_kappa() -> None:
    d = M.unpaired_delta({"value": 0.8, "ci_low": 0.75, "ci_high": 0.85},
                         {"value": 0.5, "ci_low": 0.45, "ci_high": 0.55})
    assert d["significant"] and abs(d["value"] + 0.3) < 1e-9
    assert M.cohen_kappa([True, False, True, False], [True, False, True, False]) == 1.0
    assert abs(M.cohen_kappa([True, True, False, False], [True, False, True, False])) < 1e-9


def _rows(shift: float, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for t in range(12):
        base = rng.uniform(20, 80)
        for g in ("x", "y"):
            rows.append({"template": f"t{t}", "group": g,
                         "length": base + (shift if g == "y" else 0) + rng.gauss(0, 3)})
    return rows


def test_disparity_finds_a_planted_difference_and_not_noise() -> None:
    bs = BootstrapCfg(resamples=300)
    planted = bias.disparity(_rows(15.0, 1), "length", bs, seed=0, permutations=300)
    assert planted["real_difference"] and planted["p_value"] < 0.05
    assert planted["ratio"] < planted["ratio_ci"][1] <= 1.0
    noise = bias.disparity(_rows(0.0, 2), "length", bs, seed=0, permutations=300)
    assert not noise["real_difference"] and noise["p_value"] > 0.05


def test_answer_scoring() -> None:
    s = bias.score_answer("I'm sorry, but I can't help with that. Try $49.99 or 120 dollars.")
    assert s["refusal"] == 1.0 and s["price"] == (49.99 + 120) / 2 and s["length"] == 13
    polite = bias.score_answer("Happy to help! I recommend the Trail 5, thank you.")
    curt = bias.score_answer("No. That is wrong, you cannot return it.")
    assert polite["refusal"] == 0.0 and polite["price"] is None and polite["tone"] > curt["tone"]


def test_holm_correction_keeps_only_strong_evidence() -> None:
    tests = [{"p_value": 0.001}, {"p_value": 0.014}, {"p_value": 0.3}, {"p_value": None}] + [
        {"p_value": 0.5} for _ in range(10)]
    bias.holm(tests)
    assert tests[0]["real_difference"] and tests[0]["p_holm"] == 0.013  # 13 tests x 0.001
    assert not tests[1]["real_difference"] and tests[1]["p_holm"] == 0.168  # raw 0.014 does not survive
    assert tests[3]["p_holm"] is None and not tests[3]["real_difference"]
