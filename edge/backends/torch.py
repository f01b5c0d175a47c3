"""transformers (PyTorch) backend: the fp32 reference every other format is compared against.

It accepts a transformers folder or a GGUF file; a GGUF is dequantised once to an fp32 checkpoint
cached under the frugalstack data dir (``frugalstack.optimizers.checkpoint``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from frugalstack.edge.backends._decoding import StepBackend
from frugalstack.shared.errors import MissingDependencyError, ModelLoadError

if TYPE_CHECKING:
    from frugalstack.edge.profiles import RuntimeSettings


def _import_torch() -> Any:
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError:
        raise MissingDependencyError("torch", "torch", purpose="the torch backend") from None
    return torch


class TorchBackend(StepBackend):
    name: ClassVar[str] = "torch"

    def __init__(self) -> None:
        super().__init__()
        self._model: Any = None
        self._past: Any = None
        self._torch: Any = None

    def _prepare(self, path: Path, settings: RuntimeSettings) -> Path:
        _import_torch()
        from frugalstack.optimizers.checkpoint import ensure_transformers_checkpoint

        return ensure_transformers_checkpoint(path)

    def _load_model(self, model_dir: Path, settings: RuntimeSettings) -> None:
        torch = self._torch = _import_torch()
        from transformers import AutoModelForCausalLM

        torch.set_num_threads(settings.threads)
        try:
            self._model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"transformers could not load {model_dir}: {exc}") from exc
        self._model.eval()

    @property
    def model(self) -> Any:
        """The underlying ``PreTrainedModel`` (for benchmarks and evaluation)."""
        return self._model

    def _reset(self) -> None:
        self._past = None

    def _forward(self, ids: list[int]) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            out = self._model(input_ids=torch.tensor([ids], dtype=torch.long), past_key_values=self._past,
                              use_cache=True)
        self._past = out.past_key_values
        return out.logits[0, -1].float().numpy()

    def score(self, ids: list[int]) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            return self._model(input_ids=torch.tensor([ids], dtype=torch.long)).logits[0].float().numpy()

    def close(self) -> None:
        self._past = None
        self._model = None
