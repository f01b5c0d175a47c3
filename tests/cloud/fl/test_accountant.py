"""The RDP accountant against closed forms and a published DP-SGD figure."""

from __future__ import annotations

import math

import pytest

from frugalstack.cloud.fl.accountant import ORDERS, epsilon, privacy_report, rdp_sampled_gaussian


@pytest.mark.parametrize(("z", "order"), [(0.5, 2), (1.0, 7), (3.0, 32)])
def test_unsampled_gaussian_matches_the_closed_form(z: float, order: int) -> None:
    assert rdp_sampled_gaussian(1.0, z, order) == pytest.approx(order / (2 * z * z))
    # the sampled formula at q -> 1 meets the closed form
    assert rdp_sampled_gaussian(1 - 1e-9, z, order) == pytest.approx(order / (2 * z * z), rel=1e-4)


def test_dp_sgd_mnist_figure() -> None:
    """TF Privacy's MNIST tutorial: noise 1.1, batch 256 of 60,000, 60 epochs, δ=1e-5 gives ε ≈ 3.0."""
    q, z, steps = 256 / 60000, 1.1, int(60 * 60000 / 256)
    classical = min(steps * rdp_sampled_gaussian(q, z, a) + math.log(1e5) / (a - 1) for a in ORDERS)
    assert 2.9 < classical < 3.1
    tight, _ = epsilon(q, z, steps, 1e-5)
    assert tight < classical


def test_epsilon_moves_the_right_way() -> None:
    base, _ = epsilon(1.0, 1.0, 10, 1e-5)
    assert epsilon(1.0, 2.0, 10, 1e-5)[0] < base  # more noise
    assert epsilon(1.0, 1.0, 20, 1e-5)[0] > base  # more rounds
    assert epsilon(0.1, 1.0, 10, 1e-5)[0] < base  # sampling
    assert epsilon(1.0, 1.0, 10, 1e-3)[0] < base  # looser delta


def test_report_central_is_tighter_than_local_and_no_noise_is_infinite() -> None:
    r = privacy_report(noise_multiplier=1.0, clip=1.0, delta=1e-5, rounds=10, population=50, per_round=20)
    assert r.epsilon_central < r.epsilon_local < math.inf
    none = privacy_report(noise_multiplier=0.0, clip=0.0, delta=1e-5, rounds=10, population=50, per_round=20)
    assert none.epsilon_local == math.inf


def test_distributed_noise_share_moves_privacy_from_each_device_to_the_sum() -> None:
    local = privacy_report(noise_multiplier=1.0, clip=1.0, delta=1e-5, rounds=10, population=50, per_round=20)
    shared = privacy_report(
        noise_multiplier=1.0, clip=1.0, delta=1e-5, rounds=10, population=50, per_round=20, noise_share=20
    )
    # each device adds 1/sqrt(20) of the noise: weak alone, but the sum of 20 carries multiplier 1
    assert shared.epsilon_local > 10 * local.epsilon_local
    assert shared.epsilon_central == pytest.approx(epsilon(20 / 50, 1.0, 10, 1e-5)[0])
    assert shared.epsilon_central > local.epsilon_central
