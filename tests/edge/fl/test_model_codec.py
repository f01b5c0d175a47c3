"""The numpy head learns, FedProx pulls towards the anchor, and update encoding keeps its promises."""

from __future__ import annotations

import numpy as np
import pytest

from frugalstack.edge.fl import codec, model


def _blobs(n: int = 300, classes: int = 3, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(classes, dim)) * 3
    y = rng.integers(0, classes, size=n)
    return (centers[y] + rng.normal(size=(n, dim))).astype(np.float32), y


@pytest.mark.parametrize("hidden", [0, 8])
def test_head_learns_separable_data(hidden: int) -> None:
    x, y = _blobs()
    spec = model.HeadSpec(dim=16, classes=3, hidden=hidden)
    p0 = model.init_params(spec)
    before = model.evaluate(p0, x, y, 3)["accuracy"]
    p, loss = model.train(p0, x, y, steps=150, lr=0.1)
    after = model.evaluate(p, x, y, 3)
    assert after["accuracy"] > 0.95 > before
    assert after["macro_f1"] > 0.95 and loss < 0.3


def test_macro_f1_matches_a_hand_count() -> None:
    p = {"w": np.eye(2, dtype=np.float32), "b": np.zeros(2, np.float32)}
    x = np.array([[1, 0], [0, 1], [1, 0], [1, 0]], np.float32)  # predicts 0, 1, 0, 0
    y = np.array([0, 1, 1, 0])
    m = model.evaluate(p, x, y, 2)
    # class 0: tp 2, fp 1, fn 0 -> 0.8; class 1: tp 1, fp 0, fn 1 -> 2/3
    assert m["accuracy"] == 0.75 and m["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)


def test_proximal_term_keeps_the_local_model_near_the_global_one() -> None:
    x, y = _blobs(seed=1)
    p0 = model.init_params(model.HeadSpec(16, 3))
    free, _ = model.train(p0, x, y, steps=60, lr=0.1)
    prox, _ = model.train(p0, x, y, steps=60, lr=0.1, proximal_mu=5.0)
    assert codec.l2_norm(codec.delta(prox, p0)) < 0.7 * codec.l2_norm(codec.delta(free, p0))


def test_clipping_bounds_the_norm_and_never_scales_up() -> None:
    rng = np.random.default_rng(0)
    upd = {"w": rng.normal(size=(20, 5)).astype(np.float32), "b": rng.normal(size=5).astype(np.float32)}
    clipped, norm = codec.clip_update(upd, 1.0)
    assert norm > 1.0 and codec.l2_norm(clipped) == pytest.approx(1.0, rel=1e-5)
    small = {k: v * 1e-3 for k, v in upd.items()}
    same, _ = codec.clip_update(small, 1.0)
    assert all(np.array_equal(same[k], small[k]) for k in small)


def test_gaussian_noise_has_the_configured_std() -> None:
    upd = {"w": np.zeros((200, 200), np.float32)}
    noisy = codec.add_gaussian_noise(upd, 0.3, np.random.default_rng(1))
    assert float(noisy["w"].std()) == pytest.approx(0.3, rel=0.02)


def test_int8_roundtrip_error_is_within_half_a_step_and_payload_is_a_quarter() -> None:
    rng = np.random.default_rng(2)
    upd = {"w": rng.normal(size=(384, 11)).astype(np.float32), "b": rng.normal(size=11).astype(np.float32)}
    q = codec.quantize_int8(upd)
    assert q["w"].dtype == np.int8 and set(q) == {"w", "w.scale", "b", "b.scale"}
    back = codec.dequantize(q)
    for k in upd:
        step = float(np.abs(upd[k]).max()) / 127
        assert float(np.abs(back[k] - upd[k]).max()) <= step / 2 + 1e-6
    assert sum(v.nbytes for v in q.values()) < 0.26 * sum(v.nbytes for v in upd.values())
