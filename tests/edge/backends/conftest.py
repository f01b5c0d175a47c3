"""A tiny random-weight Llama with SmolLM2's real tokenizer: exports in seconds, so every format is tested.

Full SmolLM2 conversions (15-60 s each) run in ``benchmarks/bench_backends.py`` instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from frugalstack.edge.profiles import RuntimeSettings
from frugalstack.optimizers.tiny import build_tiny_llama


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Path:
    return build_tiny_llama(tmp_path_factory.getbasetemp() / "tiny-llama", smollm2_path)  # shared by test dirs


@pytest.fixture
def cpu_settings() -> RuntimeSettings:
    return RuntimeSettings(threads=1, context_size=512, memory_budget_mb=2048)
