"""Token-level distillation losses over the answer positions (logits ``[n, vocab]`` of teacher and student).

forward KL (KD, Hinton), reverse KL (MiniLLM) and the generalized Jensen-Shannon divergence of GKD:
``JSD_beta = beta * KL(p || m) + (1 - beta) * KL(q || m)``, ``m = beta * p + (1 - beta) * q``.
"""

from __future__ import annotations

import math
from typing import Any


def kd_loss(student_logits: Any, teacher_logits: Any, kind: str, beta: float = 0.5, temperature: float = 1.0) -> Any:
    """Mean over positions of the chosen divergence between teacher p and student q (both at ``temperature``)."""
    import torch
    import torch.nn.functional as F

    logq = F.log_softmax(student_logits / temperature, dim=-1)
    logp = F.log_softmax(teacher_logits.detach() / temperature, dim=-1)
    if kind == "forward_kl":
        per = (logp.exp() * (logp - logq)).sum(-1)
    elif kind == "reverse_kl":
        per = (logq.exp() * (logq - logp)).sum(-1)
    elif kind == "jsd":
        logm = torch.logsumexp(torch.stack([logp + math.log(beta), logq + math.log(1 - beta)]), dim=0)
        per = beta * (logp.exp() * (logp - logm)).sum(-1) + (1 - beta) * (logq.exp() * (logq - logm)).sum(-1)
    else:
        raise ValueError(f"unknown distillation loss {kind!r}")
    return per.mean() * temperature**2
