"""The model catalogue resolves the embedded weights offline and explains what it cannot find."""

from __future__ import annotations

from pathlib import Path

import pytest

from frugalstack.edge.catalog import CATALOG, get_spec, resolve_path
from frugalstack.shared.errors import ModelLoadError, UnknownModelError


def test_embedded_models_resolve_from_packages() -> None:
    for model_id in ("smollm2-135m-instruct-q4_1", "minilm-l6-v2", "minilm-l6-v2-int8-onnx"):
        assert resolve_path(CATALOG[model_id]).exists(), model_id


def test_unknown_model_id() -> None:
    with pytest.raises(UnknownModelError, match="frugal models list"):
        get_spec("gpt-17")


def test_local_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        resolve_path(get_spec(str(tmp_path / "missing.gguf")))


def test_hub_models_need_explicit_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRUGAL_ALLOW_DOWNLOAD", raising=False)
    with pytest.raises(ModelLoadError, match="downloads are off"):
        resolve_path(CATALOG["smollm2-360m-instruct-q8_0"])
