"""Large-model -> small-model distillation for the shop tasks (see docs/distillation.md).

``run_pipeline(config, workdir=None, on_event=None) -> dict``: the whole loop in one call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CONFIGS_DIR = Path(__file__).parent / "configs"


def run_pipeline(config: Any, **kwargs: Any) -> dict[str, Any]:
    """See ``frugalstack.cloud.distill.pipeline.run_pipeline`` (imported lazily: torch is heavy)."""
    from frugalstack.cloud.distill.pipeline import run_pipeline as run

    return run(config, **kwargs)


__all__ = ["CONFIGS_DIR", "run_pipeline"]
