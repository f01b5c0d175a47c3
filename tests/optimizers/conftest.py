"""The tiny random-weight Llama (real SmolLM2 tokenizer) the optimize pipeline is tested on."""

from __future__ import annotations

from pathlib import Path

import pytest

from frugalstack.optimizers.tiny import build_tiny_llama


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Path:
    return build_tiny_llama(tmp_path_factory.getbasetemp() / "tiny-llama", smollm2_path)  # shared by test dirs
