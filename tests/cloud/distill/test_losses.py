"""The token-level divergences: zero for identical distributions, positive otherwise, the right asymmetry,
and JSD bounded by log 2 (beta = 0.5)."""

from __future__ import annotations

import math

import pytest

from frugalstack.cloud.distill.losses import kd_loss


@pytest.mark.parametrize("kind", ["forward_kl", "reverse_kl", "jsd"])
def test_zero_when_equal_positive_otherwise(kind: str) -> None:
    import torch

    torch.manual_seed(0)
    t = torch.randn(5, 50)
    assert float(kd_loss(t.clone(), t, kind)) == pytest.approx(0.0, abs=1e-6)
    s = torch.randn(5, 50, requires_grad=True)
    loss = kd_loss(s, t, kind)
    assert float(loss.detach()) > 0
    loss.backward()
    assert s.grad is not None and float(s.grad.abs().sum()) > 0


def test_asymmetry_and_bounds() -> None:
    import torch

    p = torch.log(torch.tensor([[0.98, 0.01, 0.01]]))
    q = torch.log(torch.tensor([[0.34, 0.33, 0.33]]))
    fkl, rkl = float(kd_loss(q, p, "forward_kl")), float(kd_loss(q, p, "reverse_kl"))
    assert fkl == pytest.approx(sum(a * math.log(a / b) for a, b in zip([0.98, 0.01, 0.01], [0.34, 0.33, 0.33],
                                                                         strict=True)), rel=1e-4)
    assert fkl != pytest.approx(rkl)
    far = torch.tensor([[30.0, -30.0]]), torch.tensor([[-30.0, 30.0]])
    assert float(kd_loss(*far, "jsd", beta=0.5)) == pytest.approx(math.log(2), rel=1e-3)
    with pytest.raises(ValueError, match="unknown"):
        kd_loss(q, p, "skl")
